"""bash: run a shell command in the workspace without blocking the event loop.

The command runs in its own process group so a timeout or a Ctrl-C (task cancellation) kills
everything it started, not just the shell. Output streams to the front end as tool_log lines
while it runs; the model gets the whole output and the exit code at the end. The agent's own
credentials are stripped from the environment unless settings.bash.pass_secrets is set.
Where it runs is tools.sandbox.local's choice: in bubblewrap (confined to the workspace, its own
PID namespace, killed with the agent) or unconfined; /tmp is the session's own in the sandbox.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import signal
import time
from collections import deque
from collections.abc import Callable

from pydantic import BaseModel, Field

from configs.schema import AgentConfig
from tools.base import Assessment, Risk, Tool, ToolContext, ToolError, ToolResult
from tools.runs.recording import record_command_run
from tools.sandbox.env import command_env as command_env  # re-exported: jobs and tests import it from here
from tools.sandbox.local import CommandSandbox, SandboxUnavailable, for_settings
from tools.shell_commands import destructive_reason
from tools.workspace_paths import resolve_path

_MAX_KEPT_BYTES = 1_000_000  # head and tail each; the engine caps what the model sees anyway
_LOG_INTERVAL_S = 0.25
_LOG_LINES_PER_FLUSH = 20
_LOG_LINE_CHARS = 1000


def kill_process_group(pgid: int) -> None:
    """SIGKILL every process in the group; a group that is already gone is fine."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class _KeptOutput:
    """Keeps the first and last _MAX_KEPT_BYTES of a stream so a runaway command cannot eat memory."""

    def __init__(self, cap: int = _MAX_KEPT_BYTES):
        self.cap = cap
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.cap:
                del self.tail[: len(self.tail) - self.cap]

    def text(self) -> str:
        omitted = self.total - len(self.head) - len(self.tail)
        out = self.head.decode("utf-8", errors="replace")
        if omitted > 0:
            out += f"\n... [{omitted} bytes of output omitted] ...\n"
        return out + self.tail.decode("utf-8", errors="replace")


class LineLogger:
    """Turns a byte stream into tool_log lines, at most a few batches a second.

    A carriage return rewrites the current line (progress bars), as a terminal would show it. Work is
    linear in the output: of the current line only what can be shown is kept (a line is cut at
    _LOG_LINE_CHARS), and of the lines between two flushes only the last _LOG_LINES_PER_FLUSH.
    """

    def __init__(self, log: Callable[[str], None], interval_s: float = _LOG_INTERVAL_S):
        self.log = log
        self.interval_s = interval_s
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.partial = ""  # the visible start of the current line, at most _LOG_LINE_CHARS + 1 characters
        self.cr = False  # the current line's text so far ended with '\r': new text overwrites it
        self.pending: deque[str] = deque(maxlen=_LOG_LINES_PER_FLUSH)
        self.dropped = 0  # complete lines that fell out of `pending` since the last flush
        self.last_flush = 0.0
        self.timer: asyncio.TimerHandle | None = None

    def _extend(self, segment: str) -> None:
        """Add text without a newline to the current line."""
        if not segment:
            return
        if self.cr:  # '\r' then text: the terminal starts the line over
            self.partial, self.cr = "", False
        stripped = segment.rstrip("\r")
        if len(stripped) < len(segment):
            self.cr = True
        if "\r" in stripped:
            self.partial = stripped.rsplit("\r", 1)[-1][: _LOG_LINE_CHARS + 1]
        elif len(self.partial) <= _LOG_LINE_CHARS:
            self.partial = (self.partial + stripped[: _LOG_LINE_CHARS + 1])[: _LOG_LINE_CHARS + 1]

    def _end_line(self) -> None:
        if len(self.pending) == self.pending.maxlen:
            self.dropped += 1
        self.pending.append(self.partial)
        self.partial, self.cr = "", False

    def feed(self, chunk: bytes) -> None:
        *lines, rest = self.decoder.decode(chunk).split("\n")
        for segment in lines:
            self._extend(segment)
            self._end_line()
        self._extend(rest)
        if not self.pending:
            return
        if time.monotonic() - self.last_flush >= self.interval_s:
            self.flush()
        elif self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(self.interval_s, self.flush)

    def flush(self, final: bool = False) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if final:
            self._extend(self.decoder.decode(b"", final=True))
            if self.partial.strip():
                self._end_line()
            self.partial, self.cr = "", False
        lines, dropped = list(self.pending), self.dropped
        self.pending.clear()
        self.dropped = 0
        self.last_flush = time.monotonic()
        if dropped:
            self.log(f"... ({dropped} lines)")
        for line in lines:
            self.log(line if len(line) <= _LOG_LINE_CHARS else line[:_LOG_LINE_CHARS] + " ...")


class BashArgs(BaseModel):
    command: str = Field(description="The bash command to run (runs with `bash -c` in the workspace).")
    timeout: int | None = Field(None, gt=0, description="Seconds before the command is killed. Omit for the default.")
    run: bool = Field(
        False,
        description="True for a short training or evaluation run: it goes in the run ledger, metrics from its output.",
    )


async def _exit_code(proc: asyncio.subprocess.Process) -> int:
    """Wait for the shell itself to exit. (Process.wait() also waits for its pipes to close,
    which a backgrounded child can hold open forever.)"""
    delay = 0.005
    while proc.returncode is None:
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)
    return proc.returncode


def _close_pipes(proc: asyncio.subprocess.Process) -> None:
    """Drop our end of the output pipe (asyncio offers no public way besides its transport)."""
    transport = getattr(proc, "_transport", None)
    if transport is not None:
        transport.close()


async def run_command(
    command: str,
    *,
    cwd: os.PathLike | str,
    env: dict[str, str],
    timeout_s: float,
    log: Callable[[str], None] = lambda line: None,
    argv: list[str] | None = None,
) -> tuple[int | None, str, bool]:
    """Run `command` in a new process group; returns (exit code, output, timed_out).

    `argv` replaces `bash -c command` (the same command wrapped in a sandbox). Whatever is left of
    the group when the shell exits (stray `&` children) is killed too, so no process outlives the
    call and holds its output pipe open. On cancellation the group is killed and CancelledError
    propagates.
    """
    proc = await asyncio.create_subprocess_exec(
        *(argv or ["bash", "-c", command]),
        cwd=str(cwd),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    pgid = proc.pid  # start_new_session: the shell leads its own group
    kept = _KeptOutput()
    lines = LineLogger(log)

    async def pump() -> None:
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(65536):
            kept.add(chunk)
            lines.feed(chunk)

    pump_task = asyncio.create_task(pump())
    timed_out = False
    try:
        try:
            await asyncio.wait_for(_exit_code(proc), timeout_s)
        except TimeoutError:
            timed_out = True
        kill_process_group(pgid)
        try:
            # EOF arrives once the group is dead; a process that escaped the group (setsid)
            # may still hold the pipe, so do not wait for it forever.
            await asyncio.wait_for(asyncio.shield(pump_task), 5)
        except TimeoutError:
            pump_task.cancel()
            _close_pipes(proc)
    except BaseException:
        kill_process_group(pgid)
        pump_task.cancel()
        _close_pipes(proc)
        raise
    finally:
        lines.flush(final=True)
    return (None if timed_out else proc.returncode), kept.text(), timed_out


def _sandbox_note(settings: AgentConfig) -> str:
    """What the model must know about where commands run (so it does not fight the sandbox)."""
    try:
        sandbox: CommandSandbox = for_settings(settings)
    except SandboxUnavailable:
        return ""
    if not sandbox.confined:
        return ""
    net = "" if sandbox.network else " There is no network."
    return (
        " It runs in a sandbox: only the workspace, /tmp (kept for this session) and the Hugging Face/pip/uv "
        "caches are writable; the rest of the file system is read-only and other processes are invisible. "
        "Install Python packages into a virtual environment in the workspace (uv venv, python -m venv) or use "
        "`uv run --with PKG`." + net
    )


def _assess(args: dict) -> Assessment:
    """A command that can destroy work (rm -r, git reset --hard...) is destructive: yolo asks about it too."""
    command = args.get("command")
    reason = destructive_reason(command) if isinstance(command, str) else None
    return Assessment(Risk.DESTRUCTIVE, details={"destructive": reason}) if reason else Assessment(Risk.EXEC)


def tools(settings: AgentConfig) -> list[Tool]:
    default_timeout = float(settings.bash.default_timeout_s)
    max_timeout = float(settings.bash.max_timeout_s)

    def effective_timeout(requested: object) -> float:
        try:
            seconds = float(requested) if requested else default_timeout  # type: ignore[arg-type]
        except (TypeError, ValueError):  # unvalidated arguments: the engine asks before validating
            seconds = default_timeout
        return min(seconds if seconds > 0 else default_timeout, max_timeout)

    async def _bash(args: BashArgs, ctx: ToolContext) -> ToolResult:
        if not args.command.strip():
            raise ToolError("Empty command.")
        cwd = resolve_path(".", ctx.workspace, ctx.settings)
        timeout_s = effective_timeout(args.timeout)
        try:
            sandbox = for_settings(ctx.settings)
        except SandboxUnavailable as exc:
            raise ToolError(str(exc)) from None
        argv = sandbox.command(
            ["bash", "-c", args.command], workspace=cwd, settings=ctx.settings, tmp=ctx.session_dir / "sandbox-tmp"
        )
        started = time.time()
        try:
            code, output, timed_out = await run_command(
                args.command, cwd=cwd, env=sandbox.env(ctx.settings), timeout_s=timeout_s, log=ctx.log, argv=argv
            )
        except OSError as exc:
            raise ToolError(f"Could not start bash: {exc}") from exc
        output = output.rstrip("\n")
        if args.run:  # the run ledger (tools/runs): the command, its code and its output as the log
            await record_command_run(ctx, args.command, cwd, code, output, timed_out, time.time() - started)
        if timed_out:
            note = (
                f"[timed out after {timeout_s:g} s: the command and its child processes were killed. "
                f"Pass a larger timeout (max {max_timeout:g}) or start long runs with the jobs tool.]"
            )
            return ToolResult(f"{output}\n{note}" if output else note, is_error=True)
        body = output if output else "(no output)"
        return ToolResult(f"{body}\n[exit code {code}]", is_error=code != 0)  # a failed command shows failed

    secrets_note = "" if settings.bash.pass_secrets else " API keys and tokens of the agent are not in its environment."
    secrets_note += _sandbox_note(settings)
    return [
        Tool(
            name="bash",
            description=(
                "Run a bash command in the workspace; returns its output (stdout+stderr) and exit code. "
                f"Times out after {default_timeout:g} s unless you pass timeout (max {max_timeout:g}). "
                "Everything the command starts is killed when it ends, so do not background servers or "
                "training with '&': use the jobs tool for long runs. Prefer read/glob/grep/edit over "
                "cat/find/grep/sed." + secrets_note
            ),
            risk=Risk.EXEC,
            assess=_assess,
            handler=_bash,
            args_model=BashArgs,
            timeout=lambda args: effective_timeout(args.get("timeout")) + 10,
        )
    ]
