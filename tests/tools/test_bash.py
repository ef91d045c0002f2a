"""bash tool: output and exit code, streaming, timeouts and Ctrl-C kill the whole process group,
secrets stay out of the command's environment."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from configs.schema import AgentConfig, BashConfig, SandboxConfig
from core.events import ToolLog
from tools import bash as bash_module
from tools.base import ToolContext

# Process-group mechanics of the unconfined backend: pids written by a command mean something outside it.
# (In bubblewrap the command's pids are its own namespace's: tests/e2e/test_sandbox_local.py covers that case.)
UNCONFINED = AgentConfig(sandbox=SandboxConfig(backend="local"))


def _tool(settings: AgentConfig | None = None):
    (tool,) = bash_module.tools(settings or AgentConfig())
    return tool


async def _call(ctx: ToolContext, **args):
    tool = _tool(ctx.settings)
    return await tool.handler(tool.args_model(**args), ctx)


def _gone(pid: int) -> bool:
    """Dead, or a zombie waiting for a reaper (this container's init does not reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no such file, or the process vanished while we read it
        return True
    return stat[stat.rfind(")") + 2] in "ZX"


async def _all_gone(pids: list[int]) -> bool:
    """SIGKILL is delivered at once but a process takes a moment to finish exiting."""
    for _ in range(100):
        if all(_gone(pid) for pid in pids):
            return True
        await asyncio.sleep(0.05)
    return False


def _pids(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


async def test_runs_in_workspace_and_reports_exit_code(tool_ctx):
    ctx = tool_ctx()
    result = await _call(ctx, command="pwd; echo to-stderr >&2; exit 3")
    assert str(ctx.workspace.resolve()) in result.content
    assert "to-stderr" in result.content
    assert result.content.rstrip().endswith("[exit code 3]")


async def test_streams_output_lines_as_tool_log_events(tool_ctx):
    events: list = []
    ctx = tool_ctx(emit=events.append)
    result = await _call(ctx, command="for i in 1 2 3; do echo line$i; sleep 0.2; done; printf tail-no-newline")
    logged = [e.line for e in events if isinstance(e, ToolLog)]
    assert logged == ["line1", "line2", "line3", "tail-no-newline"]
    assert all(e.tool_call_id == "c1" for e in events)
    assert "line3" in result.content and "[exit code 0]" in result.content


async def test_progress_bars_log_only_their_last_state(tool_ctx):
    events: list = []
    ctx = tool_ctx(emit=events.append)
    await _call(ctx, command="printf 'epoch 1/3\\repoch 2/3\\repoch 3/3\\n'")
    assert [e.line for e in events if isinstance(e, ToolLog)] == ["epoch 3/3"]


async def test_log_batches_are_bounded_for_chatty_commands(tool_ctx):
    events: list = []
    ctx = tool_ctx(emit=events.append)
    result = await _call(ctx, command="seq 1 20000")
    logged = [e.line for e in events if isinstance(e, ToolLog)]
    assert len(logged) < 2000  # throttled, not one event per line
    assert logged[-1] == "20000"
    assert "\n20000\n[exit code 0]" in result.content  # the model still gets everything


async def test_timeout_kills_the_whole_process_group(tool_ctx):
    ctx = tool_ctx(settings=UNCONFINED)
    pids = ctx.workspace / "pids"
    command = (
        "sleep 1000 & echo $! >> pids; "
        "bash -c 'sleep 1000 & echo $! >> pids; wait' & "
        "until [ $(wc -l < pids) -ge 2 ]; do sleep 0.01; done; "
        "echo started; sleep 1000"
    )
    result = await _call(ctx, command=command, timeout=2)
    assert result.is_error
    assert "timed out after 2 s" in result.content and "started" in result.content
    found = _pids(pids)
    assert len(found) == 2
    assert await _all_gone(found)


async def test_timeout_is_capped_by_settings(tool_ctx):
    settings = AgentConfig(bash=BashConfig(default_timeout_s=120, max_timeout_s=1))
    ctx = tool_ctx(settings=settings)
    result = await _call(ctx, command="sleep 1000", timeout=500)
    assert result.is_error and "timed out after 1 s" in result.content
    tool = _tool(settings)
    # the engine's own timeout must leave bash room to kill and report
    assert tool.timeout_for({"timeout": 500}, 600) > 1
    assert _tool().timeout_for({}, 600) > 120
    assert _tool().timeout_for({"timeout": 5}, 600) > 5


async def test_cancellation_kills_the_process_group_and_propagates(tool_ctx):
    ctx = tool_ctx(settings=UNCONFINED)
    pids = ctx.workspace / "pids"
    command = "echo $$ >> pids; sleep 1000 & echo $! >> pids; sleep 1000 & echo $! >> pids; wait"
    task = asyncio.create_task(_call(ctx, command=command, timeout=600))
    for _ in range(200):
        if len(_pids(pids)) == 3:
            break
        await asyncio.sleep(0.05)
    assert len(_pids(pids)) == 3
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _all_gone(_pids(pids))


async def test_background_children_do_not_outlive_the_command(tool_ctx):
    ctx = tool_ctx(settings=UNCONFINED)
    result = await _call(ctx, command="sleep 1000 & echo $!", timeout=30)
    assert not result.is_error and "[exit code 0]" in result.content
    pid = int(result.content.split()[0])
    assert await _all_gone([pid])


async def test_agent_secrets_are_not_passed_to_commands(tool_ctx, monkeypatch):
    for name in ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "GITHUB_TOKEN",
                 "WANDB_API_KEY", "MY_SERVICE_TOKEN", "AWS_SECRET", "ANTHROPIC_KEY", "DB_PASSWD",
                 "GCP_CREDENTIALS", "ML_INTERN_DATABASE_URL"]:  # fmt: skip
        monkeypatch.setenv(name, "sekrit-" + name)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://user:sekrit-pw@mlflow.example.com")
    monkeypatch.setenv("KEEP_ME", "visible")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    result = await _call(tool_ctx(), command="env")
    assert "sekrit-" not in result.content
    assert "KEEP_ME=visible" in result.content
    assert "TOKENIZERS_PARALLELISM=false" in result.content

    opted_in = AgentConfig(bash=BashConfig(pass_secrets=True))
    result = await _call(tool_ctx(settings=opted_in), command="echo $HF_TOKEN")
    assert "sekrit-HF_TOKEN" in result.content


async def test_does_not_block_the_event_loop(tool_ctx):
    """The command waits for a file that only this event loop creates while the command runs."""
    ctx = tool_ctx()

    async def release():
        await asyncio.sleep(0.2)
        (ctx.workspace / "go").write_text("")

    releaser = asyncio.create_task(release())
    result = await _call(ctx, command="while [ ! -f go ]; do sleep 0.05; done; echo released", timeout=30)
    await releaser
    assert "released" in result.content


def test_schema_and_risk():
    tool = _tool()
    schema = tool.schema()["function"]
    assert schema["name"] == "bash"
    assert set(schema["parameters"]["properties"]) == {"command", "timeout", "run"}
    assert tool.risk == "exec"
    assert "jobs" in tool.description
