"""Tools under hostile input: special files, foreign encodings, model-chosen ids, huge outputs and arguments,
and Hub calls side by side with the endpoint unreachable."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import threading
from pathlib import Path

import pytest
from helpers import call, run_cli, run_turn
from langchain_core.messages import ToolMessage

from tools.base import Risk, Tool, ToolContext, ToolError
from tools.registry import builtin_tools


def _echo() -> Tool:
    async def handler(args, ctx):
        return args["text"] * args.get("times", 1)

    return Tool(
        name="echo",
        description="echo",
        risk=Risk.READ_ONLY,
        handler=handler,
        parameters={"type": "object", "properties": {"text": {"type": "string"}, "times": {"type": "integer"}}},
    )


async def _run_tool(name: str, ctx: ToolContext, **args):
    tool = builtin_tools(ctx.settings).get(name)
    return await tool.handler(tool.args_model(**args), ctx)


async def test_a_call_id_never_leads_a_spilled_output_out_of_its_folder_and_the_model_can_read_it_back(
    replay, workspace, tmp_path, tool_ctx
):
    model = replay(
        [
            {"tool_calls": [call("echo", {"text": "NEEDLE line\n", "times": 400}, "../../../escaped")]},
            {"content": "done"},
        ]
    )
    _, messages, session = await run_turn(model, workspace, tools=[_echo()], settings={"tool_output_cap": 1000})
    result = next(m for m in messages if isinstance(m, ToolMessage))
    outputs = session.dir / "outputs"
    spilled = list(outputs.iterdir())
    assert len(spilled) == 1 and spilled[0].read_text() == "NEEDLE line\n" * 400
    assert not any(p.name.startswith("escaped") for p in tmp_path.rglob("*") if outputs not in p.parents)
    assert str(spilled[0]) in result.content

    ctx = tool_ctx(session_dir=session.dir)
    read = await _run_tool("read", ctx, path=str(spilled[0]), offset=399, limit=5)
    assert "NEEDLE line" in read.content and "400" in read.content
    found = await _run_tool("grep", ctx, pattern="NEEDLE", path=str(spilled[0]), max_results=3)
    assert "NEEDLE line" in found
    # nothing else of the session folder, and no writing into the outputs
    (session.dir / "notes.txt").write_text("private\n")
    for path in (str(session.dir / "notes.txt"), str(outputs / ".." / "notes.txt")):
        with pytest.raises(ToolError, match="outside the workspace"):
            await _run_tool("read", ctx, path=path)
    with pytest.raises(ToolError, match="outside the workspace"):
        await _run_tool("write", ctx, path=str(outputs / "new.txt"), content="x")


def _special_files(workspace: Path) -> list[str]:
    """A FIFO, a socket and (as root) a character device in the workspace; their names."""
    os.mkfifo(workspace / "pipe")
    here = os.getcwd()
    os.chdir(workspace)  # a relative bind: AF_UNIX paths are limited to 108 bytes
    try:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind("sock")
    finally:
        os.chdir(here)
    names = ["pipe", "sock"]
    try:
        os.mknod(workspace / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        names.append("null")
    except (PermissionError, OSError):
        pass
    return names


def test_special_files_are_refused_and_skipped_and_the_run_ends(replay, workspace):
    names = _special_files(workspace)
    (workspace / "notes.txt").write_text("needle here\n")
    calls = [call("read", {"path": n}, f"r-{n}") for n in names]
    calls += [call("write", {"path": n, "content": "x"}, f"w-{n}") for n in names]
    calls += [call("edit", {"path": n, "old_str": "a", "new_str": "b"}, f"e-{n}") for n in names]
    calls += [call("grep", {"pattern": "needle"}, "g"), call("grep", {"pattern": "x", "path": "pipe"}, "g2")]
    calls += [call("glob", {"pattern": "*"}, "l")]
    model = replay([{"tool_calls": calls}, {"content": "done"}])
    result = run_cli(
        ["-m", model, "--output-format", "stream-json", "go"], cwd=workspace, timeout=120, env={"PYTHONUNBUFFERED": "1"}
    )
    assert result.returncode == 0, result.stderr
    outputs = {
        e["data"]["tool_call_id"]: e["data"]
        for e in map(json.loads, result.stdout.splitlines())
        if e["type"] == "tool_output"
    }
    for name in names:
        for kind in "rwe":
            out = outputs[f"{kind}-{name}"]
            assert out["is_error"] and "not a regular file" in out["content"], out
            assert "\n" not in out["content"].strip()
    assert outputs["g"]["content"] == "notes.txt:1:needle here"
    assert "not a regular file" in outputs["g2"]["content"]
    assert outputs["l"]["content"] == "notes.txt"
    assert stat.S_ISFIFO((workspace / "pipe").lstat().st_mode)  # refused, not replaced


async def test_edit_keeps_every_byte_outside_the_edited_span(tool_ctx, workspace):
    ctx = tool_ctx()
    original = b"caf\xe9 = 1\r\nname = 'x'\nbad \xff\xfe bytes\r\ntail \xe2\x82\n"
    (workspace / "latin1.txt").write_bytes(original)
    read = await _run_tool("read", ctx, path="latin1.txt")
    assert "caf\ufffd = 1" in read.content and "bad \ufffd\ufffd bytes" in read.content
    ctx.state["files_read"] = read.state_update["files_read"]

    edited = await _run_tool("edit", ctx, path="latin1.txt", old_str="name = 'x'", new_str="name = 'y'")
    assert not edited.is_error
    assert (workspace / "latin1.txt").read_bytes() == original.replace(b"'x'", b"'y'")
    ctx.state["files_read"] = edited.state_update["files_read"]
    # a line the model copied from read, replacement characters and all, still matches its bytes
    await _run_tool("edit", ctx, path="latin1.txt", old_str="bad \ufffd\ufffd bytes", new_str="good bytes")
    assert (workspace / "latin1.txt").read_bytes() == (b"caf\xe9 = 1\r\nname = 'y'\ngood bytes\r\ntail \xe2\x82\n")


async def test_the_line_logger_holds_a_bounded_line_whatever_the_output():
    from tools.bash import LineLogger

    logged: list[str] = []
    logger = LineLogger(logged.append, interval_s=0)
    for _ in range(160):  # 10 MB without a newline: what is kept of the line must not grow with it
        logger.feed(b"x" * 65536)
        assert len(logger.partial) <= 1001
    logger.feed(b"\nprogress 10%\rprogress 20%\r\nlast\r")
    logger.flush(final=True)
    assert logged == ["x" * 1000 + " ...", "progress 20%", "last"]


async def test_huge_call_arguments_run_whole_but_are_stored_capped(replay, workspace):
    from helpers import collect, open_agent
    from langchain_core.messages import AIMessage

    content = "".join(f"line {i}\n" for i in range(40_000))  # ~350 KB
    model = replay(
        [
            {"tool_calls": [call("write", {"path": "big.txt", "content": content}, "w/1")]},
            {"content": "written"},
        ]
    )

    settings = {"tool_output_cap": 2000}
    async with open_agent(model, workspace, approval_mode="ask", settings=settings) as agent:
        session = await agent.new_session()
        first = await collect(session.run("write it"))
        second = await collect(session.run(None, decisions={"*": {"action": "approve"}}))
        events, messages = first + second, await session.messages()
    assert (workspace / "big.txt").read_text() == content
    stored = next(m for m in messages if isinstance(m, AIMessage) and m.tool_calls).tool_calls[0]
    assert stored["args"]["path"] == "big.txt"
    assert len(stored["args"]["content"]) < 2000 and "the call ran with the full" in stored["args"]["content"]
    assert stored["args"]["content"].startswith("line 0\n")
    shown = [e for e in events if e.type in ("approval_required", "tool_call", "assistant_message")]
    assert shown and all(len(e.model_dump_json()) < 5000 for e in shown)


# sync: it waits on ml-intern processes (blocking) and runs its in-process part in asyncio.run
def test_hub_calls_side_by_side_with_the_endpoint_unreachable_each_say_so_in_one_line(replay, workspace):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    calls = [
        call("hf_repo_files", {"operation": "list", "repo_id": "acme/a"}, "h1"),
        call("hf_repo_git", {"operation": "list_refs", "repo_id": "acme/b"}, "h2"),
    ]
    model = replay([{"tool_calls": calls}, {"content": "done"}])
    env = {"HF_ENDPOINT": dead, "HF_TOKEN": "hf_test", "HF_HUB_DISABLE_TELEMETRY": "1"}
    result = run_cli(["-m", model, "go"], cwd=workspace, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    errors = [line for line in result.stderr.splitlines() if not line.startswith("> ")]
    assert len(errors) == 2 and all("cannot reach the Hugging Face endpoint" in line for line in errors), errors

    # the mechanism: a call that closes huggingface_hub's shared client leaves the other call's client open
    from huggingface_hub.utils import close_session, get_session

    from tools.hub.errors import hub_call

    got, closed, used = threading.Event(), threading.Event(), threading.Event()

    def closer():
        got.wait(10)
        close_session()  # what the library's retry loop does after a connection error
        closed.set()
        used.wait(10)

    def user():
        client = get_session()
        got.set()
        closed.wait(10)
        try:
            return client.is_closed
        finally:
            used.set()

    async def side_by_side():
        return await asyncio.gather(hub_call("closing", closer), hub_call("using", user))

    assert asyncio.run(side_by_side())[1] is False


async def test_an_mcp_server_that_hangs_at_start_is_not_retried_every_turn_until_asked(tmp_path):
    from configs.schema import McpServerConfig
    from tools.mcp.manager import McpManager

    starts = tmp_path / "starts"
    # never answers `initialize` (it reads and drops stdin), and exits at once when stdin closes
    hang = McpServerConfig(command="sh", args=["-c", f"echo start >> '{starts}'; exec 3>&1; exec cat >/dev/null"])
    manager = McpManager({"stuck": hang}, startup_timeout=1.5)
    try:
        [warning] = await manager.ensure_started()
        assert await manager.ensure_started() == []  # the next turn: no second start, no second wait
        assert starts.read_text().count("start") == 1
        assert "'stuck' failed to start: no answer within" in warning and "/mcp" in warning
        await manager.ensure_started(retry=True)  # asked (/mcp): tried again
        assert starts.read_text().count("start") == 2
    finally:
        await manager.aclose()


async def test_parallel_writes_of_one_step_are_all_recorded_for_undo(tool_ctx, workspace, tmp_path):
    from tools.file_changes import FileChanges, restore_file_changes

    changes = FileChanges(tmp_path / "undo", workspace)  # one per turn, shared by the calls of a step
    ctx = tool_ctx(changes=changes)
    names = [f"f{i}.txt" for i in range(12)]
    await asyncio.gather(*(_run_tool("write", ctx, path=name, content="x\n") for name in names))
    changes.record_left()  # the end of the step, as execute_tools does it
    undone = restore_file_changes(tmp_path / "undo", workspace)
    assert len(undone.restored) == len(names) and not any((workspace / name).exists() for name in names)

    # two edits of one file in one step: one applies, the other is told to read again; none is lost silently
    (workspace / "shared.txt").write_text("alpha\nbeta\n")
    ctx.state["files_read"] = (await _run_tool("read", ctx, path="shared.txt")).state_update["files_read"]
    outcomes = await asyncio.gather(
        _run_tool("edit", ctx, path="shared.txt", old_str="alpha", new_str="ALPHA"),
        _run_tool("edit", ctx, path="shared.txt", old_str="beta", new_str="BETA"),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, ToolError)]
    assert len(refused) == 1 and "read it again" in str(refused[0])
    assert (workspace / "shared.txt").read_text() in ("ALPHA\nbeta\n", "alpha\nBETA\n")
