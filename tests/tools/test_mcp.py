"""MCP servers as tools, against real servers written with the mcp SDK (tests/mcp_servers/), over stdio
and streamable HTTP: sessions kept across calls, secrets not leaked, dead servers reported and
restarted, name collisions prefixed, results readable."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from helpers import TESTS
from mcp import types

from configs.schema import McpServerConfig
from tools.base import Risk, ToolContext, ToolError, ToolResult
from tools.mcp import McpManager
from tools.mcp.results import render_result

SERVERS = TESTS / "mcp_servers"
LAB = str(SERVERS / "lab_server.py")
NOTES = str(SERVERS / "notes_server.py")
PNG_SIZE = len(
    base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")
)


def stdio(script: str, **kw) -> McpServerConfig:
    return McpServerConfig(transport="stdio", command=sys.executable, args=[script], **kw)


async def call(manager: McpManager, tool_name: str, ctx: ToolContext, **args) -> ToolResult:
    """Call a tool the way the engine does: ToolError becomes an error result."""
    tool = {t.name: t for t in manager.tools()}.get(tool_name)
    assert tool is not None, f"{tool_name} not in {[t.name for t in manager.tools()]}"
    try:
        out = await tool.handler(args, ctx)
    except ToolError as e:
        return ToolResult(str(e), is_error=True)
    return out if isinstance(out, ToolResult) else ToolResult(out)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpLab:
    """lab_server.py serving streamable HTTP (or SSE) on 127.0.0.1:<port> in a subprocess."""

    def __init__(self, port: int, transport: str = "http"):
        self.port, self.transport = port, transport
        self.url = f"http://127.0.0.1:{port}/{'sse' if transport == 'sse' else 'mcp'}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, LAB, f"--{self.transport}", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "the HTTP test server exited at start"
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("the HTTP test server did not start listening")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def http_lab():
    lab = HttpLab(free_port())
    lab.start()
    yield lab
    lab.kill()


async def test_stdio_server_keeps_one_session_and_gets_no_inherited_secrets(tool_ctx, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_user_secret")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-user-secret")
    manager = McpManager({"lab": stdio(LAB, env={"LAB_MODE": "test"})})
    try:
        assert await manager.ensure_started() == []
        # One session for the life of the agent: the per-session counter keeps counting.
        assert [(await call(manager, "increment", tool_ctx())).content for _ in range(3)] == ["1", "2", "3"]
        # Only what the config entry names reaches the server.
        assert (await call(manager, "env_value", tool_ctx(), name="HF_TOKEN")).content == "None"
        assert (await call(manager, "env_value", tool_ctx(), name="OPENAI_API_KEY")).content == "None"
        assert (await call(manager, "env_value", tool_ctx(), name="LAB_MODE")).content == "'test'"
        assert (await call(manager, "env_value", tool_ctx(), name="PATH")).content != "None"

        tools = {t.name: t for t in manager.tools()}
        assert all(t.risk is Risk.EXEC for t in tools.values())
        fn = tools["env_value"].schema()["function"]
        assert fn["description"].startswith("The server's value of an environment variable")
        assert fn["parameters"]["required"] == ["name"]

        [status] = manager.status()
        assert (status.name, status.transport, status.state, status.error) == ("lab", "stdio", "running", None)
        assert "increment" in status.tools
        pid = int((await call(manager, "pid", tool_ctx())).content)
    finally:
        await manager.aclose()
    with pytest.raises(ProcessLookupError):  # aclose ended the server process
        os.kill(pid, 0)
    assert manager.status()[0].state == "stopped"


async def test_results_are_readable_and_progress_is_streamed(tool_ctx):
    manager = McpManager({"lab": stdio(LAB)})
    try:
        await manager.ensure_started()
        events: list = []
        tool = {t.name: t for t in manager.tools()}["count_to"]
        assert await tool.handler({"n": 3}, tool_ctx(emit=events.append)) == ToolResult("counted to 3")
        assert [e.line for e in events] == [f"count_to: step {i} ({i}/3)" for i in (1, 2, 3)]
        image = await call(manager, "plot", tool_ctx())
        assert image.content == f"[image: image/png, {PNG_SIZE} bytes]" and not image.is_error
        failed = await call(manager, "fail", tool_ctx(), reason="disk full")
        assert failed.is_error and "disk full" in failed.content
        report = (await call(manager, "report", tool_ctx())).content
        assert report.splitlines() == [
            "run finished",
            "[resource: file:///runs/1/log.txt, text/plain]",
            "loss=0.1",
            "[resource link: weights <file:///runs/1/model.bin> (application/octet-stream)]",
        ]
        stats = (await call(manager, "stats", tool_ctx())).content
        assert '"mean": 0.5' in stats and stats.count('"mean"') == 1  # text and structured copy not doubled
        wrong = await call(manager, "env_value", tool_ctx())  # missing required argument
        assert wrong.is_error and "name" in wrong.content
    finally:
        await manager.aclose()


def test_result_blocks_without_text_are_described():
    blob = base64.b64encode(b"x" * 10).decode()
    result = types.CallToolResult(
        content=[
            types.AudioContent(type="audio", data=blob, mimeType="audio/wav"),
            types.EmbeddedResource(
                type="resource",
                resource=types.BlobResourceContents(
                    uri="file:///w.bin", blob=blob, mimeType="application/octet-stream"
                ),
            ),
        ],
        structuredContent={"accuracy": 0.91},
    )
    assert render_result(result).content.splitlines() == [
        "[audio: audio/wav, 10 bytes]",
        "[resource: file:///w.bin, application/octet-stream, 10 bytes]",
        "structured content:",
        "{",
        '  "accuracy": 0.91',
        "}",
    ]
    empty_error = render_result(types.CallToolResult(content=[], isError=True))
    assert empty_error.is_error and empty_error.content


async def test_stdio_server_killed_mid_session_errors_then_restarts(tool_ctx):
    emitted: list[str] = []
    # call_timeout only bounds a regression (a hang fails the test instead of stalling it for 10 min).
    manager = McpManager({"lab": stdio(LAB)}, emit=emitted.append, call_timeout=20)
    try:
        await manager.ensure_started()
        assert (await call(manager, "increment", tool_ctx())).content == "1"
        first_pid = int((await call(manager, "pid", tool_ctx())).content)
        os.kill(first_pid, signal.SIGKILL)

        dead = await call(manager, "increment", tool_ctx())
        assert dead.is_error and "MCP server 'lab' is unavailable" in dead.content and "next turn" in dead.content
        assert emitted and "'lab'" in emitted[-1]
        assert manager.status()[0].state == "failed"
        assert manager.tools() == []  # the model is not offered tools of a dead server

        warnings = await manager.ensure_started()
        assert len(warnings) == 1 and "'lab'" in warnings[0] and "restarted" in warnings[0]
        assert (await call(manager, "increment", tool_ctx())).content == "1"  # a fresh server
        assert int((await call(manager, "pid", tool_ctx())).content) != first_pid
        assert await manager.ensure_started() == []  # healthy again: nothing more to say

        assert (await call(manager, "grow", tool_ctx())).content == "grown"
        assert await manager.ensure_started() == []  # the server said its tools changed: re-listed
        assert (await call(manager, "extra", tool_ctx())).content == "extra!"
    finally:
        await manager.aclose()


async def test_frozen_server_call_is_bounded_and_server_is_restarted(tool_ctx):
    manager = McpManager({"lab": stdio(LAB)}, call_timeout=1.0, ping_timeout=1.0)
    try:
        await manager.ensure_started()
        pid = int((await call(manager, "pid", tool_ctx())).content)
        os.kill(pid, signal.SIGSTOP)
        try:
            frozen = await call(manager, "increment", tool_ctx())
            assert frozen.is_error and "did not answer within 1s" in frozen.content
            warnings = await manager.ensure_started()  # the ping fails: the server is replaced
            assert len(warnings) == 1 and "'lab'" in warnings[0] and "restarted" in warnings[0]
            assert int((await call(manager, "pid", tool_ctx())).content) != pid
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    finally:
        await manager.aclose()


async def test_http_server_keeps_session_sends_headers_and_reconnects(http_lab, tool_ctx, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_user_secret")
    emitted: list[str] = []
    config = McpServerConfig(transport="http", url=http_lab.url, headers={"Authorization": "Bearer lab-token"})
    manager = McpManager({"lab": config}, emit=emitted.append, call_timeout=20)
    try:
        assert await manager.ensure_started() == []
        assert [(await call(manager, "increment", tool_ctx())).content for _ in range(3)] == ["1", "2", "3"]
        assert (await call(manager, "request_header", tool_ctx(), name="authorization")).content == "'Bearer lab-token'"
        assert (await call(manager, "request_header", tool_ctx(), name="x-hf-token")).content == "None"
        assert manager.status()[0].transport == "http"

        http_lab.kill()
        dead = await call(manager, "increment", tool_ctx())
        assert dead.is_error and "MCP server 'lab' is unavailable" in dead.content
        assert emitted and "'lab'" in emitted[-1]

        http_lab.start()  # the service comes back on the same port
        warnings = await manager.ensure_started()
        assert len(warnings) == 1 and "'lab'" in warnings[0] and "restarted" in warnings[0]
        assert (await call(manager, "increment", tool_ctx())).content == "1"  # a new session
    finally:
        await manager.aclose()


async def test_sse_server_keeps_session_and_sends_headers(tool_ctx):
    lab = HttpLab(free_port(), transport="sse")
    lab.start()
    config = McpServerConfig(transport="sse", url=lab.url, headers={"X-Api-Key": "lab-key"})
    manager = McpManager({"lab": config})
    try:
        assert await manager.ensure_started() == []
        assert [(await call(manager, "increment", tool_ctx())).content for _ in range(2)] == ["1", "2"]
        assert (await call(manager, "request_header", tool_ctx(), name="x-api-key")).content == "'lab-key'"
    finally:
        await manager.aclose()
        lab.kill()


async def test_unreachable_http_server_is_a_warning(tmp_path):
    manager = McpManager(
        {"remote": McpServerConfig(transport="streamable_http", url=f"http://127.0.0.1:{free_port()}/mcp")}
    )
    try:
        [warning] = await manager.ensure_started()
        assert "'remote'" in warning and "cannot connect" in warning
        assert manager.tools() == [] and manager.status()[0].state == "failed"
    finally:
        await manager.aclose()


async def test_bad_server_is_skipped_and_retried_and_collisions_are_prefixed(tool_ctx, tmp_path):
    launcher = tmp_path / "later-server"  # does not exist yet: the first start fails
    servers = {
        "lab": stdio(LAB),
        "notes": stdio(NOTES),
        "later": McpServerConfig(command=str(launcher)),
        # Dies the way a server with a missing dependency does: after start-up, with a message on stderr.
        # (A child that exits before asyncio has connected its pipes can stall CPython 3.11's subprocess
        # setup until the startup timeout; the 0.2 s keeps this test off that race.)
        "crashy": McpServerConfig(
            command=sys.executable,
            args=["-c", "import sys, time; time.sleep(0.2); sys.exit('cannot import torch_mcp')"],
        ),
    }
    manager = McpManager(servers, reserved={"add_note"}, startup_timeout=15)
    try:
        later, crashy = await manager.ensure_started()
        assert "'later'" in later and "command not found" in later
        assert "'crashy'" in crashy and "cannot import torch_mcp" in crashy  # its stderr says why

        names = {t.name for t in manager.tools()}
        assert {"lab__echo", "notes__echo", "notes__add_note", "increment"} <= names
        assert "echo" not in names and "add_note" not in names
        assert (await call(manager, "lab__echo", tool_ctx(), text="hi")).content == "lab:hi"
        assert (await call(manager, "notes__echo", tool_ctx(), text="hi")).content == "notes:hi"
        states = {s.name: s.state for s in manager.status()}
        assert states == {"lab": "running", "notes": "running", "later": "failed", "crashy": "failed"}

        assert await manager.ensure_started() == []  # same failure again: not repeated every turn
        launcher.write_text(f"#!/bin/sh\nexec {sys.executable} {NOTES}\n")
        launcher.chmod(0o755)
        assert await manager.ensure_started() == []  # a failed start is not retried every turn...
        [back] = await manager.ensure_started(retry=True)  # ...but when asked (/mcp), and now it starts
        assert "'later'" in back and "up again" in back
        # Three servers now share `echo`; the earlier names did not change under the model.
        assert {"lab__echo", "notes__echo", "later__echo"} <= {t.name for t in manager.tools()}
    finally:
        await manager.aclose()
