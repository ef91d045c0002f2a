"""`ml-intern eval`: tasks run in fresh workspaces and are judged by their checks, never by the agent's answer."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import TESTS

from cli.eval_cmd import TASKS, check, load_tasks

RIGHT, WRONG = TESTS / "replays" / "eval_right", TESTS / "replays" / "eval_wrong"


def test_every_task_has_a_prompt_a_workspace_and_a_check_that_fails_on_the_untouched_workspace(tmp_path):
    # sync: each check is a subprocess
    tasks = load_tasks()
    assert {"hello_world", "tiny_classifier", "fix_training", "dataset_schema", "model_card"} <= set(tasks)
    for task in tasks.values():
        assert task.prompt and (task.folder / "workspace").is_dir() and (task.folder / "check.py").is_file()
        untouched = tmp_path / task.name
        subprocess.run(["cp", "-r", str(task.folder / "workspace"), str(untouched)], check=True)
        passed, line = check(task, untouched)
        assert not passed, f"{task.name}: the check passes with nothing done ({line})"


def test_a_right_outcome_passes_and_a_claimed_or_wrong_one_fails(cli, tmp_path):
    # sync: the real binary runs the real binary for each task
    right = cli("eval", "--model", f"replay:{RIGHT}", "--tasks", "hello_world,fix_training", "--json")
    assert right.returncode == 0, right.stderr
    results = {r["task"]: r for r in json.loads(right.stdout)["results"]}
    assert results["hello_world"]["passed"] and results["hello_world"]["check"] == "hello.py prints 5"
    assert results["hello_world"]["steps"] == 3 and results["hello_world"]["input_tokens"] == 2850
    assert results["fix_training"]["passed"] and results["fix_training"]["status"] == "done"

    kept = tmp_path / "kept"
    wrong = cli(
        "eval", "--model", f"replay:{WRONG}", "--tasks", "hello_world", "--tasks", "fix_training", "--keep", str(kept)
    )
    assert wrong.returncode == 1
    rows = {line.split("|")[1].strip(): line for line in wrong.stdout.splitlines() if line.startswith("| ")}
    assert "FAIL" in rows["hello_world"] and "printed '6', not 5" in rows["hello_world"]
    # the agent said it fixed and ran train.py; no tool did, so the check fails and the turn is not "done"
    assert "FAIL" in rows["fix_training"] and "IndexError" in rows["fix_training"]
    assert "unverified" in rows["fix_training"]
    assert "**0/2**" in rows["**total**"]
    # --keep: each run's workspace as the agent left it, and its session, to see what the agent did
    assert "print(2 * 3)" in (kept / "hello_world-1" / "hello.py").read_text()
    sessions = cli("sessions", "list", env={"ML_INTERN_HOME": str(kept / "fix_training-1.home")})
    assert sessions.returncode == 0 and "train.py fails" in sessions.stdout


def test_unknown_tasks_and_missing_scripts_are_one_line(cli, tmp_path):
    # sync: the real binary
    result = cli("eval", "--tasks", "no_such_task", "--model", f"replay:{RIGHT}")
    assert result.returncode == 2 and "unknown task(s) no_such_task" in result.stderr
    result = cli("eval", "--tasks", "model_card", "--model", f"replay:{tmp_path}")
    assert result.returncode == 2 and "no replay script for task model_card" in result.stderr
    assert "Traceback" not in result.stderr
    # a failed turn's error line comes with the result: which failure, not only "error:..."
    (tmp_path / "model_card.jsonl").write_text('{"error": "auth"}\n')
    failed = cli("eval", "--tasks", "model_card", "--model", f"replay:{tmp_path}", "--json")
    result = json.loads(failed.stdout)["results"][0]
    assert failed.returncode == 1 and result["status"].startswith("error") and "invalid API key" in result["error"]
    listed = cli("eval", "--list")
    assert listed.returncode == 0 and "tiny_classifier" in listed.stdout
    assert TASKS.is_dir() and sys.executable
