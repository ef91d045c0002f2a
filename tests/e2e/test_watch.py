"""Wake on completion through the binary: a session ends its turn waiting for a local job, the watcher is
killed (kill -9) while the job runs, a new watcher continues the session with the job's result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from helpers import call

from tools.runs import ledger

TRAIN = """import pathlib, time
print("epoch 1 loss 0.90", flush=True)
while not pathlib.Path("go").exists():
    time.sleep(0.05)
print("epoch 2 loss 0.45", flush=True)
print("eval_accuracy 0.88", flush=True)
"""


def _watch(workspace, config):
    return subprocess.Popen(
        [str(os.path.join(os.path.dirname(sys.executable), "ml-intern")), "watch", "--config", str(config)],
        cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )  # fmt: skip


def _read_until(proc, text: str) -> list[str]:
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"the watcher ended before saying {text!r}: {seen}")


# sync: it waits on processes (the agent, two watchers, the job)
def test_a_session_waiting_for_a_job_survives_a_killed_watcher_and_continues_with_the_result(
    cli, replay, workspace, tmp_path
):
    (workspace / "train.py").write_text(TRAIN)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"watch": {"poll_s": 0.1}}))
    command = f"{sys.executable} train.py --lr 3e-4 --epochs 2"
    model = replay(
        [
            {"tool_calls": [call("jobs", {"operation": "run", "command": command}, "r1")]},
            {"tool_calls": [call("wait_for_job", {}, "w1")]},
            {"content": "Waiting for the training job."},
            {"content": "Training finished: eval accuracy 0.88."},
        ]
    )
    first = cli("-m", model, "--config", str(config), "--output-format", "json", "train it")
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    sid = result["session_id"]
    assert result["final_response"] == "Waiting for the training job."
    (record,) = ledger.all_runs(sid)  # the run the agent started is in the ledger
    run = {"id": record.id}
    assert record.hyperparameters == {"lr": "3e-4", "epochs": "2"}

    watcher = _watch(workspace, config)
    try:
        _read_until(watcher, f"session {sid} waits for job {run['id']}")
    finally:
        watcher.send_signal(signal.SIGKILL)
        watcher.wait()

    again = _watch(workspace, config)
    try:
        _read_until(again, f"session {sid} waits for job {run['id']}")
        (workspace / "go").touch()
        out, err = again.communicate(timeout=120)
    finally:
        if again.poll() is None:
            again.kill()
    assert again.returncode == 0, err
    assert "Training finished: eval accuracy 0.88." in out
    assert "no session waits any more" in err
    messages = json.loads(cli("sessions", "show", sid, "--json").stdout)["messages"]
    woke = [m["content"] for m in messages if m["role"] == "human"][-1]
    assert woke.startswith(f"[ml-intern watch] job {run['id']} finished: succeeded (exit code 0).")
    assert "metrics: loss=0.45, eval_accuracy=0.88" in woke
