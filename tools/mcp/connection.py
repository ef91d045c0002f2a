"""One MCP server's session, kept open for the life of the agent.

A stateful server must keep one session, not one per call, so the session lives in its own asyncio
task: MCP transports use anyio task groups, whose cancel scopes must be entered and exited in the same
task. Other tasks await the session's methods directly; every request races against the loss of the
connection and a timeout, so a dead or frozen server gives an error instead of a hang.

Secrets stay home: a stdio server starts with a minimal environment (PATH, HOME, LANG, TMPDIR and the
variables its config entry names), an http/sse server gets only the headers its entry names. With a
command sandbox (`wrap`, from tools.sandbox.local), a stdio server runs inside it, killed with the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from core.version import package_version

if TYPE_CHECKING:  # the mcp SDK costs ~0.35 s to import: only when a server starts
    from mcp import types

# Variables a stdio server inherits from our environment; everything else (HF_TOKEN, API keys) must be
# named in the server's own `env`. (The mcp SDK adds HOME, LOGNAME, PATH, SHELL, TERM, USER on its own.)
INHERITED_ENV_VARS = ("PATH", "HOME", "LANG", "TMPDIR")
CLOSE_TIMEOUT_S = 10.0  # the SDK's stdio shutdown escalates stdin-close -> SIGTERM -> SIGKILL in ~4 s
# argv, working folder -> the argv that starts it inside the command sandbox
Wrap = Callable[[list[str], Path | None], list[str]]


class ServerUnavailable(Exception):
    """The server is not connected (never started, exited, unreachable); the message says why."""


@dataclass
class ServerStatus:
    """What `ml-intern mcp list` shows for one server."""

    name: str
    transport: str
    state: str  # running | failed | stopped
    error: str | None = None
    tools: list[str] = field(default_factory=list)  # names as the model sees them


def server_env(configured: dict[str, str]) -> dict[str, str]:
    env = {k: os.environ[k] for k in INHERITED_ENV_VARS if os.environ.get(k)}
    env.update(configured)
    return env


class ServerConnection:
    def __init__(
        self, name: str, config: Any, *, startup_timeout: float, log_dir: Path | None = None, wrap: Wrap | None = None
    ):
        self.name = name
        self.config = config
        self.wrap = wrap
        self.startup_timeout = startup_timeout
        self.log_dir = log_dir
        self.state = "stopped"
        self.error: str | None = None
        self.tools: list[types.Tool] = []  # last list the server gave; kept while it is down
        self.tools_stale = False  # the server said its tool list changed
        self._session: Any = None
        self._task: asyncio.Task | None = None
        self._closing = asyncio.Event()  # stop asked for, or the server hung up
        self._lost = asyncio.Event()  # the session task has ended: no request can be answered
        self._loss_reason: str | None = None
        self._errlog: IO[bytes] | None = None
        self._errlog_start = 0

    @property
    def transport(self) -> str:
        return self.config.transport

    @property
    def alive(self) -> bool:
        return self.state == "running" and not self._closing.is_set() and not self._lost.is_set()

    def loss_reason(self) -> str:
        return self._loss_reason or self.error or "not connected"

    # ---- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and list the tools; raises ServerUnavailable with a readable reason."""
        await self.close()
        self._closing, self._lost = asyncio.Event(), asyncio.Event()
        self._loss_reason = None
        ready: asyncio.Future[list[types.Tool]] = asyncio.get_running_loop().create_future()
        ready.add_done_callback(lambda f: f.cancelled() or f.exception())  # read even after a timeout
        self._task = asyncio.create_task(self._run(ready), name=f"mcp-server:{self.name}")
        try:
            self.tools = await asyncio.wait_for(asyncio.shield(ready), self.startup_timeout)
        except BaseException as e:
            reason = (
                f"no answer within {self.startup_timeout:g}s"
                if isinstance(e, TimeoutError)
                else describe_error(e, self.config)
            )
            await self.close()
            reason += self._stderr_hint()
            self.state, self.error = "failed", reason + _empty_values_hint(self.config)
            if isinstance(e, asyncio.CancelledError):
                raise
            raise ServerUnavailable(self.error) from None
        self.state, self.error, self.tools_stale = "running", None, False

    async def close(self, final: bool = False) -> None:
        """End the session (its own task closes transport and process); `final` also drops the log."""
        task, self._task = self._task, None
        self._closing.set()
        if task is not None and not task.done():
            if self._session is None:
                task.cancel()  # still starting: nothing to close politely
            try:
                await asyncio.wait_for(asyncio.shield(task), CLOSE_TIMEOUT_S)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(task, CLOSE_TIMEOUT_S)
            except asyncio.CancelledError:
                if not task.done():  # we were cancelled, not the session task
                    raise
        if self.state == "running":
            self.state = "stopped"
        if final and self._errlog is not None:
            self._errlog.close()
            self._errlog = None

    async def _run(self, ready: asyncio.Future) -> None:
        """The session's home task: opens transport and session, waits, closes them in this task."""
        import anyio
        from mcp import ClientSession, types

        try:
            async with contextlib.AsyncExitStack() as stack:
                streams = await stack.enter_async_context(await self._open_transport(stack))
                read, write = streams[0], streams[1]
                stack.push_async_callback(read.aclose)  # ours to close: the session reads the relay instead
                # Relay the server's messages so we notice when it hangs up (stdio EOF).
                relay_send, relay_recv = anyio.create_memory_object_stream(0)
                tg = await stack.enter_async_context(anyio.create_task_group())
                stack.callback(tg.cancel_scope.cancel)
                tg.start_soon(self._relay, read, relay_send)
                session = await stack.enter_async_context(
                    ClientSession(
                        relay_recv,
                        write,
                        client_info=types.Implementation(name="ml-intern", version=package_version()),
                        message_handler=self._on_message,
                    )
                )
                await session.initialize()
                tools = await _list_all_tools(session)
                self._session = session
                ready.set_result(tools)
                await self._closing.wait()
        except BaseException as e:  # the task's top: record why, never propagate
            if not ready.done():
                ready.set_exception(ServerUnavailable(describe_error(e, self.config)))
            elif not self._loss_reason and not isinstance(e, asyncio.CancelledError):
                self._loss_reason = describe_error(e, self.config)
        finally:
            self._session = None
            if ready.done() and not self._loss_reason:
                self._loss_reason = "the connection was closed" + self._stderr_hint()
            self._lost.set()

    async def _relay(self, source: Any, sink: Any) -> None:
        async with sink:
            async for message in source:
                await sink.send(message)
        if self._session is not None and not self._loss_reason:
            self._loss_reason = (
                "the server process exited" if self.transport == "stdio" else "the server closed the stream"
            ) + self._stderr_hint()
        self._closing.set()

    async def _on_message(self, message: Any) -> None:
        from mcp import types

        if isinstance(message, types.ServerNotification) and isinstance(
            message.root, types.ToolListChangedNotification
        ):
            self.tools_stale = True

    async def _open_transport(self, stack: contextlib.AsyncExitStack):
        c = self.config
        if c.transport == "stdio":
            from mcp.client.stdio import StdioServerParameters, stdio_client

            if not c.command:
                raise ServerUnavailable(f"add a 'command' to mcpServers.{self.name} (stdio transport)")
            cwd = getattr(c, "cwd", None)
            argv, env = [c.command, *c.args], server_env(c.env)
            if self.wrap is not None:
                argv, env = self._confined(argv, env, cwd)
            params = StdioServerParameters(command=argv[0], args=argv[1:], env=env, cwd=cwd)
            # mcp types errlog as TextIO but only hands its file descriptor to the child as stderr
            return stdio_client(params, errlog=self._open_errlog())  # pyright: ignore[reportArgumentType]
        if not c.url:
            raise ServerUnavailable(f"add a 'url' to mcpServers.{self.name} ({c.transport} transport)")
        if c.transport == "sse":
            from mcp.client.sse import sse_client

            return sse_client(c.url, headers=dict(c.headers) or None)
        import httpx
        from mcp.client.streamable_http import streamable_http_client

        client = await stack.enter_async_context(
            httpx.AsyncClient(headers=dict(c.headers), timeout=httpx.Timeout(30, read=300))
        )
        return streamable_http_client(c.url, http_client=client)

    def _confined(self, argv: list[str], env: dict[str, str], cwd: str | None) -> tuple[list[str], dict[str, str]]:
        """The server's argv inside the sandbox; its command looked up here, to report a missing one clearly."""
        assert self.wrap is not None
        command = argv[0]
        if os.sep in command and not os.path.isabs(command) and cwd:
            command = os.path.join(cwd, command)
        found = shutil.which(command, path=env.get("PATH") or os.environ.get("PATH"))
        if found is None:
            raise ServerUnavailable(f"command not found: {self.config.command} (check 'command' and PATH)")
        return self.wrap([found, *argv[1:]], Path(cwd) if cwd else None), {**env, "TMPDIR": "/tmp"}

    def _open_errlog(self) -> IO[bytes]:
        """The server's stderr goes to a file (never our terminal); its tail explains failures."""
        if self._errlog is not None:
            self._errlog.close()
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in self.name)
            self._errlog = open(self.log_dir / f"mcp-{safe}.log", "ab+")  # noqa: SIM115
        else:
            self._errlog = tempfile.TemporaryFile()  # noqa: SIM115
        self._errlog.seek(0, os.SEEK_END)
        self._errlog_start = self._errlog.tell()
        return self._errlog

    def _stderr_hint(self) -> str:
        log = self._errlog
        if log is None or log.closed:
            return ""
        try:
            log.seek(max(self._errlog_start, log.seek(0, os.SEEK_END) - 4000))
            lines = [ln.strip() for ln in log.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        if not lines:
            return ""
        tail = " | ".join(lines[-3:])
        return f" (server stderr: {tail[-300:]})"

    # ---- requests --------------------------------------------------------------------------------

    async def call_tool(self, name: str, arguments: dict[str, Any], timeout: float, progress: Any = None):
        session = self._require_session()
        return await self._request(
            session.call_tool(
                name, arguments, read_timeout_seconds=timedelta(seconds=timeout), progress_callback=progress
            ),
            timeout,
        )

    async def check(self, timeout: float) -> None:
        """Ping (or re-list tools if the server said they changed); marks the server lost on failure."""
        try:
            session = self._require_session()
            if self.tools_stale:
                self.tools = await self._request(_list_all_tools(session), timeout)
                self.tools_stale = False
            else:
                await self._request(session.send_ping(), timeout)
        except TimeoutError:
            self.mark_lost(f"no answer to a ping within {timeout:g}s")
        except Exception as e:
            self.mark_lost(describe_error(e, self.config))

    def mark_lost(self, reason: str) -> None:
        if not self._loss_reason:
            self._loss_reason = reason
        self._closing.set()

    def _require_session(self) -> Any:
        session = self._session
        if session is None or not self.alive:
            raise ServerUnavailable(self.loss_reason())
        return session

    async def _request(self, coro: Any, timeout: float) -> Any:
        """Await a session request, giving up when the connection is lost or the time is up."""
        from mcp import types
        from mcp.shared.exceptions import McpError

        call = asyncio.ensure_future(coro)
        call.add_done_callback(lambda t: t.cancelled() or t.exception())  # never "exception not retrieved"
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            done, _ = await asyncio.wait({call, lost}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not call.done():
                call.cancel()
        if call in done:
            try:
                return call.result()
            except McpError as e:
                if e.error.code == types.CONNECTION_CLOSED:
                    raise ServerUnavailable(self.loss_reason()) from None
                raise
            except Exception as e:
                if _is_transport_failure(e):
                    self.mark_lost(describe_error(e, self.config))
                    raise ServerUnavailable(self.loss_reason()) from None
                raise
        if lost in done:
            raise ServerUnavailable(self.loss_reason())
        raise TimeoutError


async def _list_all_tools(session: Any) -> list[types.Tool]:
    from mcp import types

    tools: list[types.Tool] = []
    cursor = None
    while True:
        page = await session.list_tools(params=types.PaginatedRequestParams(cursor=cursor) if cursor else None)
        tools.extend(page.tools)
        cursor = page.nextCursor
        if not cursor:
            return tools


def _is_transport_failure(e: BaseException) -> bool:
    import anyio

    return isinstance(e, (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError))


def _leaf(e: BaseException) -> BaseException:
    """The first meaningful exception inside (possibly nested) exception groups."""
    while isinstance(e, BaseExceptionGroup):
        inner = [x for x in e.exceptions if not isinstance(x, asyncio.CancelledError)]
        e = (inner or list(e.exceptions))[0]
    return e


def describe_error(e: BaseException, config: Any) -> str:
    """One readable line for why a server could not be reached."""
    import httpx
    from mcp import types
    from mcp.shared.exceptions import McpError

    e = _leaf(e)
    if isinstance(e, ServerUnavailable):
        return str(e)
    if isinstance(e, FileNotFoundError) and config.transport == "stdio":
        return f"command not found: {config.command} (check 'command' and PATH)"
    if isinstance(e, PermissionError) and config.transport == "stdio":
        return f"command not executable: {config.command}"
    if isinstance(e, McpError):
        if e.error.code == types.CONNECTION_CLOSED:
            return "the server closed the connection" + (" (process exited)" if config.transport == "stdio" else "")
        return f"server error: {e.error.message}"
    if isinstance(e, httpx.HTTPStatusError):
        hint = " (check the headers in its config entry)" if e.response.status_code in (401, 403) else ""
        return f"HTTP {e.response.status_code} from {config.url}{hint}"
    if isinstance(e, httpx.ConnectError):
        return f"cannot connect to {config.url}: {e or 'connection refused'}"
    if isinstance(e, httpx.TransportError):
        return f"network error talking to {config.url}: {type(e).__name__} {e}".rstrip()
    if isinstance(e, asyncio.CancelledError):
        return "the connection was cancelled"
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


def _empty_values_hint(config: Any) -> str:
    """An `${VAR}` left unset becomes an empty value: name it, it is the usual cause of a failure."""
    empty = [f"env {k}" for k, v in config.env.items() if not v]
    empty += [f"header {k}" for k, v in config.headers.items() if not v.strip() or v.endswith(" ")]
    return f"; empty values: {', '.join(empty)} (is the variable set?)" if empty else ""
