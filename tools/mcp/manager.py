"""The MCP servers of a session: started at the first turn, checked and restarted at each later turn,
and offered to the model as ordinary tools.

Usage (the session runtime, on ONE event loop for the whole session):

    manager = McpManager(settings.mcpServers, emit=warn, reserved=builtin_names,
                         call_timeout=settings.tool_timeout_s, log_dir=session_dir)
    for line in await manager.ensure_started():   # before every turn (retry=True when the user asks: /mcp)
        show(line)
    registry_tools = manager.tools()              # after ensure_started; changes when servers come and go
    ...
    await manager.aclose()                        # at shutdown

A server that fails to start or dies is a warning, never a crash: the agent carries on without its
tools. A server that dies is restarted at the next ensure_started; one that failed to start (or to
restart) is remembered and left alone until asked (ensure_started(retry=True): /mcp in the chat, or
the next start), so a server that hangs at start-up does not stall every turn for the startup timeout.
`emit(line)` gets the same warning lines plus losses noticed in the middle of a turn.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tools.base import Risk, Tool, ToolContext, ToolError, ToolResult
from tools.mcp.connection import ServerConnection, ServerStatus, ServerUnavailable, Wrap, describe_error
from tools.mcp.results import render_result

_INVALID_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
MAX_TOOL_NAME = 64  # providers reject longer function names
RETRY_HINT = "/mcp in the chat (or the next start) tries it again"

# The SDK logs transport hiccups (a dead server) itself; without this, Python's last-resort handler
# would print them over the user's terminal. An app that configures logging still gets them.
logging.getLogger("mcp").addHandler(logging.NullHandler())


class McpManager:
    def __init__(
        self,
        servers: Mapping[str, Any],  # name -> configs.schema.McpServerConfig
        emit: Callable[[str], None] | None = None,
        *,
        reserved: Iterable[str] = (),  # built-in tool names an MCP tool must not shadow
        startup_timeout: float = 30.0,
        call_timeout: float = 600.0,  # backstop: a call never waits longer, even if the engine would
        ping_timeout: float = 5.0,
        log_dir: Path | None = None,  # servers' stderr goes to <log_dir>/mcp-<name>.log (else a temp file)
        wrap: Wrap | None = None,  # stdio servers start inside this command sandbox (tools.sandbox.local)
    ):
        self._emit = emit or (lambda line: None)
        self.reserved = set(reserved)
        self.call_timeout = call_timeout
        self.ping_timeout = ping_timeout
        self._servers = {
            name: ServerConnection(name, config, startup_timeout=startup_timeout, log_dir=log_dir, wrap=wrap)
            for name, config in servers.items()
        }
        self._lock: asyncio.Lock | None = None
        self._reported: dict[str, str] = {}  # last failure reported per server: say it once, not every turn
        self._given_up: set[str] = set()  # failed to start: not retried until ensure_started(retry=True)
        self._loss_noticed: set[str] = set()  # servers whose mid-turn loss was already emitted

    # ---- lifecycle -------------------------------------------------------------------------------

    async def ensure_started(self, retry: bool = False) -> list[str]:
        """Start servers that are not running (first call), check the running ones, restart the dead;
        with retry, also try again those that failed to start.

        Returns warning lines for the user (also passed to emit). Call it before every turn.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if retry:
                self._given_up.clear()
            running = [s for s in self._servers.values() if s.alive]
            await asyncio.gather(*(s.check(self.ping_timeout) for s in running))
            todo = [s for s in self._servers.values() if not s.alive and s.name not in self._given_up]
            was_running = {s.name: (s.state == "running", s.loss_reason()) for s in todo}
            results = await asyncio.gather(*(self._start(s) for s in todo))
        warnings = []
        for server, error in zip(todo, results, strict=False):
            line = self._start_report(server, error, *was_running[server.name])
            if line:
                warnings.append(line)
                self._emit(line)
        return warnings

    async def _start(self, server: ServerConnection) -> str | None:
        try:
            await server.start()
        except ServerUnavailable as e:
            self._given_up.add(server.name)
            return str(e)
        self._loss_noticed.discard(server.name)
        return None

    def _start_report(self, server: ServerConnection, error: str | None, was_running: bool, loss: str) -> str | None:
        name = server.name
        if error is None:
            previous = self._reported.pop(name, None)
            if was_running:
                return f"MCP server '{name}' had stopped ({loss}); restarted it."
            if previous is not None:
                return f"MCP server '{name}' is up again ({len(server.tools)} tools)."
            return None
        if was_running:
            self._reported[name] = error
            why = f": {error}" if error == loss else f" ({loss}) and could not be restarted: {error}"
            return f"MCP server '{name}' stopped{why}. Continuing without its tools; {RETRY_HINT}."
        if self._reported.get(name) == error:
            return None  # same failure as last turn: already said
        self._reported[name] = error
        return f"MCP server '{name}' failed to start: {error}. Continuing without its tools; {RETRY_HINT}."

    async def aclose(self) -> None:
        await asyncio.gather(*(s.close(final=True) for s in self._servers.values()), return_exceptions=True)

    # ---- what the model and the user see ---------------------------------------------------------

    def status(self) -> list[ServerStatus]:
        names = self._exposed_names()
        out = []
        for s in self._servers.values():
            if s.alive:
                tools = [names[(s.name, t.name)] for t in s.tools]
                out.append(ServerStatus(s.name, s.transport, "running", None, tools))
            elif s.state == "running":  # died; restarted at the next ensure_started
                out.append(ServerStatus(s.name, s.transport, "failed", s.loss_reason()))
            else:
                out.append(ServerStatus(s.name, s.transport, s.state, s.error))
        return out

    def tools(self, reserved: Iterable[str] | None = None) -> list[Tool]:
        """Our Tool objects for the tools of every live server (risk EXEC unless a rule says otherwise)."""
        names = self._exposed_names(reserved)
        out = []
        for server in self._servers.values():
            if not server.alive:
                continue
            for spec in server.tools:
                out.append(self._make_tool(server.name, spec, names[(server.name, spec.name)]))
        return out

    def _exposed_names(self, reserved: Iterable[str] | None = None) -> dict[tuple[str, str], str]:
        """Model-facing name of every (server, tool): prefixed `<server>__<tool>` where names collide.

        Computed over every server's last known tools, not just the live ones, so a name does not
        change under the model when another server comes and goes.
        """
        taken = self.reserved if reserved is None else set(reserved)
        pairs = [(s.name, t.name) for s in self._servers.values() for t in s.tools]
        base = {pair: _clean_name(pair[1]) for pair in pairs}
        counts = Counter(base.values())
        names: dict[tuple[str, str], str] = {}
        used: set[str] = set(taken)
        for pair in pairs:
            name = base[pair]
            if counts[name] > 1 or name in taken:
                name = _clean_name(f"{pair[0]}__{pair[1]}")
            unique, n = name, 2
            while unique in used:  # a prefixed name can still clash (server "a__b" vs tool "b__x" of "a")
                suffix = f"_{n}"
                unique, n = name[: MAX_TOOL_NAME - len(suffix)] + suffix, n + 1
            used.add(unique)
            names[pair] = unique
        return names

    def _make_tool(self, server_name: str, spec: Any, exposed: str) -> Tool:
        parameters = dict(spec.inputSchema or {})
        parameters.setdefault("type", "object")
        parameters.setdefault("properties", {})
        description = (spec.description or spec.title or f"Tool '{spec.name}' of MCP server '{server_name}'.").strip()

        async def handler(args: Any, ctx: ToolContext) -> ToolResult:
            return await self._call(server_name, spec.name, exposed, args, ctx)

        return Tool(name=exposed, description=description, risk=Risk.EXEC, handler=handler, parameters=parameters)

    async def _call(self, server_name: str, tool_name: str, exposed: str, args: Any, ctx: ToolContext) -> ToolResult:
        from mcp.shared.exceptions import McpError

        server = self._servers[server_name]
        arguments = args.model_dump(exclude_unset=True) if isinstance(args, BaseModel) else dict(args or {})

        async def progress(done: float, total: float | None, message: str | None) -> None:
            amount = f"{done:g}/{total:g}" if total else f"{done:g}"
            ctx.log(f"{exposed}: {message + ' ' if message else ''}({amount})")

        try:
            result = await server.call_tool(tool_name, arguments, self.call_timeout, progress)
        except ServerUnavailable as e:
            self._notice_loss(server)
            raise ToolError(
                f"MCP server '{server_name}' is unavailable: {e}. It is restarted at the start of the next "
                "turn; carry on without it for now."
            ) from None
        except TimeoutError:
            raise ToolError(
                f"MCP tool '{exposed}' (server '{server_name}') did not answer within {self.call_timeout:g}s."
            ) from None
        except McpError as e:
            raise ToolError(
                f"MCP server '{server_name}' refused the call to '{tool_name}': {e.error.message}"
            ) from None
        except Exception as e:  # e.g. a result that fails the tool's own output schema
            raise ToolError(f"MCP tool '{exposed}' failed: {describe_error(e, server.config)}") from None
        return render_result(result)

    def _notice_loss(self, server: ServerConnection) -> None:
        if server.name in self._loss_noticed:
            return
        self._loss_noticed.add(server.name)
        self._emit(
            f"MCP server '{server.name}' stopped ({server.loss_reason()}); its tools fail until it is "
            "restarted at the start of the next turn."
        )


def _clean_name(name: str) -> str:
    return _INVALID_NAME_CHARS.sub("_", name)[:MAX_TOOL_NAME] or "tool"


async def probe(
    servers: Mapping[str, Any], startup_timeout: float = 20.0, wrap: Wrap | None = None
) -> list[ServerStatus]:
    """Start every server once, report its status and tools, and stop them (`mcp list`, `doctor`)."""
    manager = McpManager(servers, startup_timeout=startup_timeout, wrap=wrap)
    try:
        await manager.ensure_started()
        return manager.status()
    finally:
        await manager.aclose()
