"""Slash commands of the interactive chat. Each handler gets the running ChatApp and the text after
the command; it returns True when the chat should end."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from cli.chat_render import human_tokens, plan_panel, short_model
from core.budget import spend_of
from core.paths import ml_intern_home

if TYPE_CHECKING:
    from cli.interactive import ChatApp


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    help: str
    handler: Callable[[ChatApp, str], Awaitable[bool | None]]


COMMANDS: dict[str, Command] = {}
ALIASES = {"/quit": "/exit", "/q": "/exit", "/show": "/output", "/?": "/help"}


def command(name: str, usage: str, help: str):
    def register(fn):
        COMMANDS[name] = Command(name, usage, help, fn)
        return fn

    return register


def completions() -> list[tuple[str, str]]:
    return [(c.name, c.help) for c in COMMANDS.values()] + [("/show", "same as /output")]


async def dispatch(app: ChatApp, text: str) -> bool:
    name, _, arg = text.strip().partition(" ")
    name = ALIASES.get(name.lower(), name.lower())
    cmd = COMMANDS.get(name)
    if cmd is None:
        app.say(
            f"unknown command {name}: /help lists the commands (to send text that starts with '/', "
            "put a space before it)",
            "red",
        )
        return False
    return bool(await cmd.handler(app, arg.strip()))


def _info(app: ChatApp, message: str) -> None:
    app.say(message, "cyan")


# -- help and state ----------------------------------------------------------------------------


@command("/help", "/help", "this list")
async def _help(app: ChatApp, arg: str) -> None:
    table = Table.grid(padding=(0, 3))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for cmd in COMMANDS.values():
        table.add_row(cmd.usage, cmd.help)
    app.console.print(table)
    app.console.print(
        Text(
            "\nKeys: Enter sends · Esc then Enter (or a line ending in \\) starts a new line · Up/Down history · "
            "Tab completes commands and session ids · Ctrl-C stops the running turn (twice within a second, or "
            "Ctrl-D, quits)\nApprovals: Enter takes the default (Y/n) · y yes · n no · a always allow this tool or "
            "command prefix for the session · s approve the whole step · f reject with feedback for the model · "
            "e edit the arguments in $EDITOR · v view them whole · /yolo, /status... work there · Esc or Ctrl-C "
            "stops the turn (the calls are not run, the model is not called again)",
            style="dim",
        )
    )


@command("/status", "/status", "session, model, approval mode, context use")
async def _status(app: ChatApp, arg: str) -> None:
    deps = await app.engine()
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column()
    session = app.session
    table.add_row("session", f"{session.id}  {session.info.title}" if session else "(none yet: send a message)")
    table.add_row("model", deps.model_id)
    table.add_row("approval", deps.approval_mode)
    table.add_row("workspace", str(deps.workspace))
    if session is not None:
        values = (await session.state()).values
        usage = values.get("usage") or {}
        window = app.context_window()
        tokens = values.get("context_tokens") or 0
        table.add_row("messages", str(len(values.get("messages") or [])))
        table.add_row(
            "context",
            f"{human_tokens(tokens)} tokens"
            + (f" of {human_tokens(window)} ({100 * tokens / window:.0f}%)" if window else ""),
        )
        table.add_row("cost", spend_of(usage).describe(deps.settings.budget.max_usd))
    app.console.print(table)


@command("/cost", "/cost", "tokens and cost of this session")
async def _cost(app: ChatApp, arg: str) -> None:
    if app.session is None:
        _info(app, "no session yet: nothing spent")
        return
    usage = (await app.session.state()).values.get("usage") or {}
    app.say(
        f"{usage.get('calls', 0)} model calls · {usage.get('input_tokens', 0):,} input + "
        f"{usage.get('output_tokens', 0):,} output tokens · {spend_of(usage).describe()}"
    )


@command("/budget", "/budget [DOLLARS|off]", "the session's dollar budget: show the spend, set or remove it")
async def _budget(app: ChatApp, arg: str) -> None:
    deps = await app.engine()
    budget = deps.settings.budget
    if arg:
        if arg.lower() == "off":
            budget.max_usd = None
        else:
            try:
                value = float(arg.lstrip("$"))
            except ValueError:
                value = 0.0
            if not value > 0:
                app.say("usage: /budget DOLLARS (more than 0), e.g. /budget 5, or /budget off", "red")
                return
            budget.max_usd = value
    usage = ((await app.session.state()).values.get("usage") or {}) if app.session else {}
    spend = spend_of(usage)
    limit = "no budget" if budget.max_usd is None else f"budget ${budget.max_usd:.2f}"
    _info(
        app,
        f"{limit} · spent {spend.describe()} (models ${spend.model_usd:.4f}, "
        f"paid hardware at most ${spend.jobs_usd:.2f})",
    )


@command("/runs", "/runs [ID ID ...]", "this session's runs; with ids: them side by side (or one in full)")
async def _runs(app: ChatApp, arg: str) -> None:
    from cli.runs_cmd import compare_lines, list_lines, show_lines
    from tools.runs import ledger

    refs = arg.split()
    if not refs:
        records = ledger.all_runs(app.session.id if app.session else "")
        app.say("\n".join(list_lines([ledger.view(r) for r in records])))
        return
    found = [ledger.find(ref) for ref in refs]
    missing = [ref for ref, record in zip(refs, found, strict=True) if record is None]
    if missing:
        app.say(f"no run {', '.join(missing)} (or the prefix is ambiguous): /runs lists this session's runs", "red")
        return
    views = [ledger.view(r) for r in found if r is not None]
    app.say("\n".join(show_lines(views[0]) if len(views) == 1 else compare_lines(views)))


@command("/plan", "/plan", "show the agent's plan")
async def _plan(app: ChatApp, arg: str) -> None:
    plan = ((await app.session.state()).values.get("plan") or []) if app.session else []
    if not plan:
        _info(app, "no plan yet")
        return
    app.console.print(plan_panel(plan))


@command("/output", "/output [N|ID|last]", "full output of a tool call (/show last)")
async def _output(app: ChatApp, arg: str) -> None:
    view = app.renderer.view_for(arg or "last")
    if view is None:
        app.say("no such tool call: give its number from the chat (e.g. /output 2), its id, or 'last'", "red")
        return
    from cli.pager import show_long

    text = view.full_output() or "(no output)"
    lines = text.count("\n") + 1
    app.console.rule(Text(f"#{view.number} {view.name} · {view.state} · {lines:,} lines", style="bold"), align="left")
    await show_long(text, app.console, app.terminal.normal)  # a long output goes to $PAGER, not the scrollback
    app.console.rule(style="dim")


# -- settings ----------------------------------------------------------------------------------


@command("/model", "/model [ID]", "show or switch the model (checked before switching)")
async def _model(app: ChatApp, arg: str) -> None:
    deps = await app.engine()
    if not arg:
        _info(
            app,
            f"model: {deps.model_id}  (switch with /model ID, e.g. anthropic/claude-sonnet-4-5, "
            "openai/gpt-5, ollama/llama3.1, replay:FILE)",
        )
        return
    from models.errors import ModelConfigError
    from models.factory import check_model_id

    try:
        check_model_id(arg)
    except ModelConfigError as e:
        app.say(f"✗ {e}", "red")
        return
    deps.model_id = arg
    deps.model = None  # rebuilt on the next turn
    _info(app, f"model: {arg}")
    from models.autodetect import down_server_line

    down = await down_server_line(arg)
    if down:
        app.say(f"warning: {down}", "yellow")


@command("/approval", "/approval ask|yolo", "ask before risky calls, or run them (yolo)")
async def _approval(app: ChatApp, arg: str) -> None:
    deps = await app.engine()
    if arg not in ("ask", "yolo"):
        _info(app, f"approval: {deps.approval_mode}  (/approval ask or /approval yolo)")
        return
    deps.approval_mode = arg
    _info(
        app,
        "approval: ask — risky calls wait for your answer"
        if arg == "ask"
        else "approval: yolo — calls run without asking (jobs on paid hardware and destructive calls still ask)",
    )


@command("/yolo", "/yolo", "same as /approval yolo")
async def _yolo(app: ChatApp, arg: str) -> None:
    await _approval(app, "yolo")


# -- history -----------------------------------------------------------------------------------


@command(
    "/undo",
    "/undo [--force]",
    "undo the last message and restore the files it changed (files you changed since are kept unless --force)",
)
async def _undo(app: ChatApp, arg: str) -> None:
    from cli.sessions_cmd import undo_lines

    if app.session is None:
        _info(app, "nothing to undo")
        return
    if arg.strip() not in ("", "--force"):
        app.say("usage: /undo [--force]", "yellow")
        return
    result = await app.session.undo(force=arg.strip() == "--force")
    if result.type == "error":
        app.say(result.message, "yellow")
        return
    prompt = result.removed_prompt.strip().splitlines()[0][:80] if result.removed_prompt.strip() else ""
    _info(app, f"↶ undid: {prompt!r}")
    for line in undo_lines(result):
        app.say(f"  {line}", "dim" if line.startswith("restored") else "yellow")
    app.renderer.plan = None
    app.prefill = result.removed_prompt  # back in the input line, to edit and send again


@command("/compact", "/compact", "summarise older history to free context")
async def _compact(app: ChatApp, arg: str) -> None:
    if app.session is None:
        _info(app, "nothing to compact yet")
        return
    await app.stream(app.session.compact())


@command("/mcp", "/mcp", "MCP servers and their tools; starts again those that failed")
async def _mcp(app: ChatApp, arg: str) -> None:
    await app.engine()
    manager = app.manager
    if not manager.deps.settings.mcpServers:
        _info(app, 'no MCP servers configured (add them under "mcpServers" in ~/.config/ml-intern/config.json)')
        return
    warnings: list[str] = []

    async def restart() -> None:
        if manager.mcp is not None:  # a server that failed to start is only tried again when asked
            warnings.extend(await manager.mcp.ensure_started(retry=True))
        warnings.extend(await manager.refresh_mcp())  # (first start) and offer the live servers' tools

    with app.console.status("starting MCP servers…", spinner="dots"):
        if await app.cancellable(restart()):
            _info(app, "cancelled")
            return
    for line in warnings:
        app.say(line, "yellow")
    for status in manager.mcp.status():
        detail = f"{len(status.tools or [])} tools" if status.state == "running" else (status.error or "")
        app.say(f"{status.name:<20} {status.state:<8} {detail}", "cyan" if status.state == "running" else "red")


@command("/new", "/new", "start a new session")
async def _new(app: ChatApp, arg: str) -> None:
    await app.leave_session()
    _info(app, "new session: it starts with your next message")


@command("/sessions", "/sessions", "list recent sessions")
async def _sessions(app: ChatApp, arg: str) -> None:
    infos = await app.recent_sessions()
    if not infos:
        _info(app, "no sessions yet")
        return
    app.console.print(_session_lines(app, infos))


def _session_lines(app: ChatApp, infos: list[Any], numbered: bool = False) -> Table:
    """A table of sessions under a header (number, id, updated, status, model, title): the title gets the
    room that is left and wraps rather than being cut; the model column is the one that gives way."""
    table = Table(box=None, pad_edge=False, show_header=True, header_style="dim", padding=(0, 1))
    if numbered:
        table.add_column("#", style="bold cyan", justify="right", no_wrap=True)
    table.add_column("session", style="bold", no_wrap=True)
    table.add_column("updated", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("model", no_wrap=True, overflow="ellipsis", max_width=24)
    table.add_column("title", ratio=1, overflow="fold")
    for n, info in enumerate(infos, 1):
        current = app.session is not None and app.session.id == info.id
        when = time.strftime("%m-%d %H:%M", time.localtime(info.updated_at))
        row = [info.id + (" *" if current else ""), when, info.status, short_model(info.model), info.title]
        table.add_row(*([str(n)] if numbered else []), *row)
    return table


@command("/resume", "/resume [ID]", "continue another session (a numbered list when no id)")
async def _resume(app: ChatApp, arg: str) -> None:
    target = arg
    if not target:
        infos = await app.recent_sessions(limit=15)
        if not infos:
            _info(app, "no sessions to resume yet")
            return
        app.console.print(_session_lines(app, infos, numbered=True))
        try:
            answer = (await app.input.ask(f"session number (1-{len(infos)}, empty to cancel): ")).strip()
        except (KeyboardInterrupt, EOFError):
            answer = ""
        if not answer:
            _info(app, "cancelled")
            return
        if not answer.isdigit() or not 1 <= int(answer) <= len(infos):
            app.say(f"not a number between 1 and {len(infos)}", "red")
            return
        target = infos[int(answer) - 1].id
    await app.switch_to(target)


@command("/fork", "/fork", "continue in a copy of this session (the original stays as it is)")
async def _fork(app: ChatApp, arg: str) -> None:
    if app.session is None:
        _info(app, "nothing to fork yet")
        return
    parent = app.session
    child = await parent.fork()
    await parent.finish()
    app.session = child
    _info(app, f"forked {parent.id} → now in {child.id}")


@command("/export", "/export [FILE]", "write this session as JSONL, secrets redacted")
async def _export(app: ChatApp, arg: str) -> None:
    if app.session is None:
        _info(app, "nothing to export yet")
        return
    from cli.sessions_cmd import redacted_trace

    session = app.session
    text, count = await redacted_trace(session)  # the same trace as `ml-intern sessions export`
    # Not into the workspace by default: the agent works there, and the trace is not part of the project.
    path = Path(arg).expanduser() if arg else ml_intern_home() / "exports" / f"ml-intern-{session.id}.jsonl"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as e:
        app.say(f"✗ cannot write {path}: {e.strerror}", "red")
        return
    _info(app, f"exported {count} messages to {path}")


@command("/exit", "/exit", "quit (Ctrl-D works too)")
async def _exit(app: ChatApp, arg: str) -> bool:
    return True
