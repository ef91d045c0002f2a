"""The run ledger through the real tools: a local job and a Hugging Face Job are recorded when started, with
their code, hyperparameters, data and hardware; metrics come from the run's own log. And what a waiting
session is woken for: a finished job, a stalled one, a NaN loss."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest

from tools.jobs import registry
from tools.jobs import tool as jobs_tool
from tools.runs import ledger, waiting

pytest_plugins = ["hf_fake_server"]  # the hf_env fixture

TRAIN = """import sys, pathlib, time
lr = float(sys.argv[sys.argv.index("--lr") + 1])
for epoch in range(3):
    print(f"epoch {epoch} loss {1.0 / (epoch + 1) + lr:.3f}", flush=True)
print(f"eval_accuracy {0.8 + lr:.3f}", flush=True)
"""
STUCK = """import pathlib, time
print("epoch 0 loss {}".format(float("nan")), flush=True)
while not pathlib.Path("go").exists():
    time.sleep(0.05)
"""


async def start(ctx, command: str) -> str:
    (tool,) = jobs_tool.tools(ctx.settings)
    result = await tool.handler(tool.args_model(operation="run", command=command), ctx)
    return result.content.split("Started job ", 1)[1].split()[0]


async def until(predicate, what: str, timeout_s: float = 30):
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.05)
    return value


def git(workspace, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=workspace, check=True,
                   capture_output=True)  # fmt: skip


async def test_local_runs_are_recorded_with_their_code_and_metrics_from_their_log(tool_ctx, workspace):
    (workspace / "train.py").write_text(TRAIN)
    git(workspace, "init", "-q")
    git(workspace, "add", "train.py")
    git(workspace, "commit", "-qm", "train")
    ctx = tool_ctx()
    first = await start(ctx, f"{sys.executable} train.py --lr 0.01")
    (workspace / "notes.txt").write_text("an uncommitted change")
    second = await start(ctx, f"{sys.executable} train.py --lr 0.1")

    runs = {r.id: r for r in ledger.all_runs(ctx.session_dir.name)}
    assert set(runs) == {first, second}
    assert runs[first].hyperparameters == {"lr": "0.01"} and runs[second].hyperparameters == {"lr": "0.1"}
    assert runs[first].git_commit and runs[first].git_commit == runs[second].git_commit
    assert runs[first].diff_sha256 is None and runs[second].diff_sha256  # the workspace changed in between
    assert runs[first].hardware == "local" and runs[first].argv[-1].endswith("train.py --lr 0.01")
    assert runs[first].script == "train.py" and runs[first].code_sha256 == runs[second].code_sha256

    view = await until(lambda: (v := ledger.view(runs[second])).status == "succeeded" and v, "the run ends")
    assert view.exit_code == 0 and view.cost_usd == 0.0
    assert view.scan.curves["loss"] == [1.1, 0.6, pytest.approx(0.433)]
    assert view.scan.final()["eval_accuracy"] == 0.9


async def test_a_hugging_face_job_is_recorded_with_its_hardware_price_and_code(hf_env):
    hf_env.hub.next_job_ids.append("job-ledger")
    from tools.hub import jobs

    (tool,) = jobs.tools(None)
    script = 'from datasets import load_dataset\nload_dataset("acme/reviews")\nprint("loss 0.3")\n'
    args = {
        "operation": "run",
        "script": script,
        "flavor": "a10g-small",
        "timeout": "30m",
        "script_args": ["--lr", "2e-5"],
    }
    await tool.handler(jobs.HfJobsArgs(**args), hf_env.ctx())
    record = ledger.load("job-ledger")
    assert record is not None and record.kind == "hf_job"
    assert (record.hardware, record.price_per_hour_usd, record.timeout_s) == ("a10g-small", 1.0, 1800.0)
    assert record.hyperparameters == {"lr": "2e-5"} and record.datasets == ["acme/reviews"]
    assert record.code_sha256 and ledger.view(record).cost_usd is None  # not running yet: no cost known

    hf_env.hub.job_logs["job-ledger"] = ["epoch 1 loss 0.3", "eval_accuracy 0.9"]
    await tool.handler(jobs.HfJobsArgs(operation="logs", job_id="job-ledger"), hf_env.ctx("c2"))
    view = ledger.view(ledger.load("job-ledger"))  # type: ignore[arg-type]
    assert view.scan.final() == {"loss": 0.3, "eval_accuracy": 0.9}


async def test_a_waiting_session_is_woken_for_a_nan_loss_a_stall_and_the_end(tool_ctx, workspace):
    (workspace / "stuck.py").write_text(STUCK)
    ctx = tool_ctx()
    job_id = await start(ctx, f"{sys.executable} stuck.py")
    wait = waiting.Waiting(job_id, "local")
    log = registry.log_path(registry.job_dir(job_id))
    await until(lambda: "nan" in log.read_text(), "the NaN line is logged")

    wake = waiting.check_local(wait, stall_s=3600)
    assert wake is not None and wake.reason == "nan_loss" and not wake.final
    assert "a NaN loss in its log (epoch 0 loss nan)" in wake.message and "cancel" in wake.message
    assert waiting.check_local(wait, stall_s=3600) is None  # reported once

    wait.since = 0
    os.utime(log, (time.time() - 600, time.time() - 600))  # ten minutes without output
    wake = waiting.check_local(wait, stall_s=300)
    assert wake is not None and wake.reason == "stalled" and "no log output for 10.0 minutes" in wake.message

    (workspace / "go").touch()
    wake = await until(lambda: waiting.check_local(wait, stall_s=3600), "the job ends")
    assert wake.final and f"job {job_id} finished: succeeded (exit code 0)" in wake.message


async def test_a_bash_command_marked_as_a_run_is_recorded_with_its_output_as_the_log(tool_ctx, workspace):
    from tools import bash

    (workspace / "eval.py").write_text('print("eval_accuracy 0.77")\n')
    ctx = tool_ctx()
    (tool,) = bash.tools(ctx.settings)
    command = f"{sys.executable} eval.py --split test"
    await tool.handler(bash.BashArgs(command=command, run=True), ctx)
    await tool.handler(bash.BashArgs(command="echo loss 0.1"), ctx)  # not marked: not a run
    (record,) = ledger.all_runs(ctx.session_dir.name)
    assert record.kind == "command" and record.hyperparameters == {"split": "test"} and record.script == "eval.py"
    view = ledger.view(record)
    assert (view.status, view.exit_code, view.scan.final()) == ("succeeded", 0, {"eval_accuracy": 0.77})
