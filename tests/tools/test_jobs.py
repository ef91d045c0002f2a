"""Local jobs: run returns at once, jobs outlive the process that started them, status and
logs come from the on-disk registry, cancel and timeouts stop the whole process group."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from helpers import ROOT

from configs.schema import AgentConfig, SandboxConfig
from core.events import ToolLog
from tools.base import ToolContext, ToolError
from tools.jobs import registry
from tools.jobs import tool as jobs_tool


@pytest.fixture
def ctx(tool_ctx) -> ToolContext:
    return tool_ctx()


async def jobs(ctx: ToolContext, **args) -> str:
    (tool,) = jobs_tool.tools(ctx.settings)
    result = await tool.handler(tool.args_model(**args), ctx)
    return result.content


def _job_id(run_output: str) -> str:
    return run_output.split("Started job ", 1)[1].split()[0]


async def wait_status(job_id: str, wanted: set[str], timeout_s: float = 20) -> registry.JobRecord:
    deadline = time.monotonic() + timeout_s
    while True:
        _, record = registry.find(job_id)
        if registry.live_status(record) in wanted:
            return record
        assert time.monotonic() < deadline, f"job {job_id} stuck in {registry.live_status(record)}"
        await asyncio.sleep(0.05)


async def wait_file(path: Path, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, f"{path} never appeared"
        await asyncio.sleep(0.05)


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no such file, or the process vanished while we read it
        return True
    return stat[stat.rfind(")") + 2] in "ZX"


async def test_script_job_returns_at_once_and_records_its_outcome(ctx, isolated_home):
    (ctx.workspace / "train.py").write_text(
        "import os, pathlib, sys, time\n"
        "print('epoch 1 loss 0.5'); print('cwd', os.getcwd()); sys.stdout.flush()\n"
        "while not pathlib.Path('go').exists(): time.sleep(0.02)\n"
        "print('done', os.environ.get('LR'))\n"
    )
    out = await jobs(ctx, operation="run", script="train.py", env={"LR": "0.01"})
    job_id = _job_id(out)
    assert "status running" in out and "GPUs:" in out
    assert str(isolated_home / "jobs" / job_id / "log.txt") in out

    ps = await jobs(ctx, operation="ps")
    assert job_id in ps and "running" in ps and "train.py" in ps

    (ctx.workspace / "go").touch()
    record = await wait_status(job_id, {"succeeded", "failed"})
    assert record.status == "succeeded" and record.exit_code == 0
    logs = await jobs(ctx, operation="logs", job_id=job_id)
    assert f"Job {job_id}: succeeded (exit code 0)" in logs
    assert "epoch 1 loss 0.5" in logs and f"cwd {ctx.workspace}" in logs and "done 0.01" in logs
    info = json.loads(await jobs(ctx, operation="inspect", job_id=job_id[:5]))  # a prefix is enough
    assert info["status"] == "succeeded" and info["exit_code"] == 0 and info["started_at"]
    assert info["command"][-1].endswith("train.py")


async def test_failing_command_job_reports_its_exit_code(ctx):
    out = await jobs(ctx, operation="run", command="echo about to fail; exit 3")
    job_id = _job_id(out)
    record = await wait_status(job_id, registry.TERMINAL)
    assert record.status == "failed" and record.exit_code == 3
    logs = await jobs(ctx, operation="logs", job_id=job_id, tail=5)
    assert "failed (exit code 3)" in logs and "about to fail" in logs


async def test_job_outlives_the_process_that_started_it(ctx, isolated_home):
    starter = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from configs.schema import AgentConfig\n"
        "from tools.base import ToolContext\n"
        "from tools.jobs.tool import tools\n"
        "ws = Path(sys.argv[1])\n"
        "ctx = ToolContext(workspace=ws, session_dir=ws / 's', call_id='c1', settings=AgentConfig())\n"
        "(tool,) = tools(ctx.settings)\n"
        "args = tool.args_model(operation='run', command="
        "'echo started; while [ ! -f go ]; do sleep 0.05; done; echo finished')\n"
        "print(asyncio.run(tool.handler(args, ctx)).content)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", starter, str(ctx.workspace)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ, "ML_INTERN_HOME": str(isolated_home)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    job_id = _job_id(proc.stdout)

    # The starter has exited; the job is still running and any session can see it.
    _, record = registry.find(job_id)
    assert registry.live_status(record) == "running"
    assert f"{job_id}" in await jobs(ctx, operation="ps")
    await wait_file(isolated_home / "jobs" / job_id / "log.txt")

    (ctx.workspace / "go").touch()
    record = await wait_status(job_id, registry.TERMINAL)
    assert record.status == "succeeded"
    logs = await jobs(ctx, operation="logs", job_id=job_id)
    assert logs.splitlines()[1:] == ["started", "finished"]


async def test_cancel_stops_the_whole_process_group(ctx):
    ctx.settings = AgentConfig(sandbox=SandboxConfig(backend="local"))  # pids the job writes mean something here
    out = await jobs(ctx, operation="run", command="sleep 1000 & echo $! > child.pid; sleep 1000")
    job_id = _job_id(out)
    await wait_file(ctx.workspace / "child.pid")
    child = int((ctx.workspace / "child.pid").read_text())
    _, record = registry.find(job_id)
    main_pid = record.pid

    result = await jobs(ctx, operation="cancel", job_id=job_id)
    assert f"Job {job_id}: cancelled" in result
    _, record = registry.find(job_id)
    assert record.status == "cancelled"
    for _ in range(100):  # SIGKILL is delivered at once; exiting takes a moment
        if _gone(child) and _gone(main_pid):
            break
        await asyncio.sleep(0.05)
    assert _gone(child) and _gone(main_pid)
    assert "already finished" in await jobs(ctx, operation="cancel", job_id=job_id)
    assert "cancelled" in await jobs(ctx, operation="ps")


async def test_timeout_stops_the_job(ctx):
    out = await jobs(ctx, operation="run", command="echo waiting; sleep 1000", timeout_s=1)
    record = await wait_status(_job_id(out), registry.TERMINAL)
    assert record.status == "timed_out"
    logs = await jobs(ctx, operation="logs", job_id=record.id)
    assert "timed_out" in logs and "timed out after 1 s" in logs


async def test_logs_follow_streams_new_lines_until_the_job_ends(ctx):
    out = await jobs(ctx, operation="run", command="echo first; while [ ! -f go ]; do sleep 0.05; done; "
                                                   "for i in 1 2 3; do echo step $i; done")  # fmt: skip
    job_id = _job_id(out)
    await wait_file(registry.log_path(registry.job_dir(job_id)))
    events: list = []
    ctx.emit = events.append
    follow = asyncio.create_task(jobs(ctx, operation="logs", job_id=job_id, follow=True, follow_timeout_s=60))
    await asyncio.sleep(0)  # the follower has taken its starting position in the log
    (ctx.workspace / "go").touch()
    result = await follow
    streamed = [e.line for e in events if isinstance(e, ToolLog)]
    assert streamed == ["step 1", "step 2", "step 3"]
    assert "succeeded" in result and result.splitlines()[-1] == "step 3"


async def test_logs_follow_gives_up_after_its_timeout(ctx):
    out = await jobs(ctx, operation="run", command="echo hello; sleep 1000")
    job_id = _job_id(out)
    result = await jobs(ctx, operation="logs", job_id=job_id, follow=True, follow_timeout_s=1)
    assert "still running after following for 1 s" in result
    await jobs(ctx, operation="cancel", job_id=job_id)


async def test_dependencies_run_through_uv(ctx, tmp_path):
    wheel = ctx.workspace / "tinydep-0.1-py3-none-any.whl"  # a sandboxed job reads the workspace, not /tmp
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("tinydep/__init__.py", "VALUE = 'from tinydep'\n")
        zf.writestr("tinydep-0.1.dist-info/METADATA", "Metadata-Version: 2.1\nName: tinydep\nVersion: 0.1\n")
        zf.writestr("tinydep-0.1.dist-info/WHEEL",
                    "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")  # fmt: skip
        zf.writestr("tinydep-0.1.dist-info/RECORD", "")
    (ctx.workspace / "use_dep.py").write_text("import tinydep\nprint(tinydep.VALUE)\n")
    out = await jobs(ctx, operation="run", script="use_dep.py", dependencies=[f"tinydep @ {wheel.as_uri()}"],
                     env={"UV_OFFLINE": "1"})  # fmt: skip
    assert "Dependencies: tinydep" in out
    record = await wait_status(_job_id(out), registry.TERMINAL, timeout_s=60)
    logs = await jobs(ctx, operation="logs", job_id=record.id)
    assert record.status == "succeeded", logs
    assert "from tinydep" in logs
    assert record.command[1:3] == ["run", "--no-project"]


async def test_gpus_are_detected_with_nvidia_smi(ctx, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho '0, NVIDIA Test GPU, 24576 MiB'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    out = await jobs(ctx, operation="run", command="true")
    assert "GPUs: 0: NVIDIA Test GPU, 24576 MiB" in out
    info = json.loads(await jobs(ctx, operation="inspect", job_id=_job_id(out)))
    assert info["gpus"] == ["0: NVIDIA Test GPU, 24576 MiB"]


async def test_run_refuses_bad_requests(ctx, tmp_path):
    with pytest.raises(ToolError, match="hf_jobs"):
        await jobs(ctx, operation="run", command="true", hardware="a10g-small")
    with pytest.raises(ToolError, match="exactly one of script"):
        await jobs(ctx, operation="run")
    with pytest.raises(ToolError, match="exactly one of script"):
        await jobs(ctx, operation="run", script="a.py", command="true")
    (tmp_path / "evil.py").write_text("print('x')\n")
    with pytest.raises(ToolError, match="outside the workspace"):
        await jobs(ctx, operation="run", script="../evil.py")
    with pytest.raises(ToolError, match="Script not found"):
        await jobs(ctx, operation="run", script="missing.py")
    with pytest.raises(ToolError, match="Invalid dependency"):
        await jobs(ctx, operation="run", command="true", dependencies=["--index-url=http://evil"])
    with pytest.raises(ToolError, match="No job 'nope'"):
        await jobs(ctx, operation="logs", job_id="nope")
    with pytest.raises(ToolError, match="started no job yet"):
        await jobs(ctx, operation="cancel")
    assert "No jobs yet" in await jobs(ctx, operation="ps")


async def test_secrets_do_not_reach_jobs(ctx, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "sekrit")
    out = await jobs(ctx, operation="run", command="echo token=[$HF_TOKEN] explicit=[$MINE]", env={"MINE": "ok"})
    record = await wait_status(_job_id(out), registry.TERMINAL)
    logs = await jobs(ctx, operation="logs", job_id=record.id)
    assert "token=[] explicit=[ok]" in logs
    assert "sekrit" not in (registry.job_dir(record.id) / "job.json").read_text()


async def test_a_job_whose_runner_died_is_reported_lost(ctx, isolated_home):
    dead = subprocess.Popen(["true"])
    dead.wait()
    directory = registry.job_dir("deadbeef")
    registry.save(directory, registry.JobRecord(id="deadbeef", command=["x"], display="x", cwd=str(ctx.workspace),
                                                status="running", runner_pid=dead.pid, pid=dead.pid))  # fmt: skip
    assert "lost" in (await jobs(ctx, operation="ps")).splitlines()[1]
    assert "already finished" in await jobs(ctx, operation="cancel", job_id="deadbeef")


def test_risk_depends_on_the_operation():
    (tool,) = jobs_tool.tools(AgentConfig())
    assert tool.risk == "exec"
    assert tool.assessment({"operation": "run", "command": "python train.py"}).risk == "exec"
    assert tool.assessment({"operation": "run", "command": "x"}).details["hardware"] == "local"
    assert tool.assessment({"operation": "cancel", "job_id": "x"}).risk == "exec"
    for op in ("ps", "logs", "inspect"):
        assert tool.assessment({"operation": op}).risk == "read_only"
    assert tool.timeout_for({"operation": "logs", "follow": True, "follow_timeout_s": 3000}, 600) > 3000


async def test_logs_without_job_id_reads_this_sessions_last_job(tool_ctx, tmp_path, monkeypatch):
    """A replayed or resumed session can follow 'its' job without knowing the random id."""
    from configs.schema import AgentConfig
    from tools.jobs.tool import tools as job_tools

    monkeypatch.setenv("ML_INTERN_HOME", str(tmp_path / "home"))
    tool = job_tools(AgentConfig())[0]

    def ctx(session):
        return tool_ctx(session_dir=tmp_path / "home" / "sessions" / session, call_id="c")

    run = tool.args_model.model_validate
    await tool.handler(run({"operation": "run", "command": "echo mine"}), ctx("s1"))
    await tool.handler(run({"operation": "run", "command": "echo theirs"}), ctx("s2"))
    result = await tool.handler(run({"operation": "logs", "follow": True, "follow_timeout_s": 20}), ctx("s1"))
    assert "mine" in result.content and "theirs" not in result.content
