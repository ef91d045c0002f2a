"""The command line under hostile input: text that is not valid Unicode, options in odd places, and storage
that fails (locked, full, corrupt, missing). Every failure is one line, never a traceback, and nothing is lost."""

from __future__ import annotations

import json

from helpers import call


def _status(cli, session_id: str) -> str:
    listed = cli("sessions", "list").stdout
    return next(line.split()[3] for line in listed.splitlines() if line.startswith(session_id))


def test_lone_surrogates_in_model_text_and_tool_results_are_printed_and_the_turn_completes(cli, replay):
    model = replay(
        [
            {"content": "thinking \ud83d", "tool_calls": [call("grep", {"pattern": "\udce9x"}, "g1")]},
            {"content": "answer \ud800 done"},
        ]
        * 3
    )
    text = cli("-m", model, "--no-stream", "go")
    assert text.returncode == 0, text.stderr
    assert "answer" in text.stdout and "done" in text.stdout and "Traceback" not in text.stderr

    streamed = cli("-m", model, "--output-format", "stream-json", "--continue", "again")
    assert streamed.returncode == 0, streamed.stderr
    events = [json.loads(line) for line in streamed.stdout.splitlines()]
    outputs = [e["data"]["content"] for e in events if e["type"] == "tool_output"]
    assert outputs and "No matches" in outputs[0]
    done = [e for e in events if e["type"] == "turn_complete"][-1]["data"]
    assert done["status"] == "done" and done["final_response"] == "answer \ufffd done"  # stored as shown

    result = cli("-m", model, "--output-format", "json", "--continue", "once more")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "done" and summary["final_response"] == "answer \ufffd done"
    assert _status(cli, summary["session_id"]) == "done"


def test_global_options_before_a_subcommand_never_make_it_a_prompt(cli, replay, workspace):
    model = replay([{"content": "I AM THE MODEL"}] * 3)
    config = workspace / "cfg.json"
    config.write_text(json.dumps({"model_name": model}))

    doctor = cli("--config", str(config), "doctor", "--offline")
    assert "I AM THE MODEL" not in doctor.stdout and "sessions database" in doctor.stdout

    refused = cli("-m", model, "doctor")
    assert refused.returncode == 2 and "I AM THE MODEL" not in refused.stdout
    assert len(refused.stderr.strip().splitlines()) == 1 and "-- doctor" in refused.stderr

    as_prompt = cli("-m", model, "--", "doctor")
    assert as_prompt.returncode == 0 and "I AM THE MODEL" in as_prompt.stdout

    helped = cli("--help").stdout
    assert all(name in helped for name in ("sessions", "mcp", "studio", "graph", "doctor", "example"))
