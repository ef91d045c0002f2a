"""`ml-intern sessions list|show|open|export|push|delete|undo`: manage saved sessions without running a model."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import typer

from cli import exit_codes
from core.budget import spend_of
from core.protocol import injected_tag

sessions_app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
    no_args_is_help=True,
    help="List, show, open in Studio, export, push, delete or undo saved sessions.",
)


@asynccontextmanager
async def _session_manager():
    from cli.bootstrap import UserError
    from configs.loader import ConfigError, load_config
    from graph.session import SessionManager
    from nodes.context import AgentDeps
    from persistence.checkpointer import DatabaseError
    from tools.registry import ToolRegistry

    try:
        settings = load_config()
    except ConfigError as e:
        raise UserError(str(e)) from None
    deps = AgentDeps(settings=settings, model_id=settings.model_name, tools=ToolRegistry(), workspace=Path.cwd())
    try:
        async with SessionManager.open(deps) as manager:
            yield manager
    except DatabaseError as e:
        raise UserError(str(e), exit_codes.AGENT_ERROR) from None


@asynccontextmanager
async def _store():
    from cli.bootstrap import UserError
    from persistence.checkpointer import DatabaseError, open_session_store

    try:
        async with open_session_store() as store:
            yield store
    except DatabaseError as e:
        raise UserError(str(e), exit_codes.AGENT_ERROR) from None


def _run(coro) -> None:
    from cli.bootstrap import UserError
    from cli.headless import storage_failures_as_one_line
    from persistence.session_lock import SessionBusy
    from persistence.session_store import SessionNotFound

    try:
        with storage_failures_as_one_line():
            asyncio.run(coro)
    except (SessionNotFound, SessionBusy) as e:
        print(f"ml-intern: {e}", file=sys.stderr)
        raise typer.Exit(exit_codes.USAGE) from None
    except UserError as e:
        print(f"ml-intern: {e}", file=sys.stderr)
        raise typer.Exit(e.code) from None


def message_dict(message) -> dict:
    data = {"role": message.type, "content": message.content}
    if getattr(message, "tool_calls", None):
        data["tool_calls"] = [{"id": c["id"], "name": c["name"], "args": c["args"]} for c in message.tool_calls]
    if message.type == "tool":
        data["tool_call_id"] = message.tool_call_id
        data["name"] = message.name
        data["status"] = getattr(message, "status", "success")
    if tag := injected_tag(message.additional_kwargs):
        data["injected"] = tag
    return data


@sessions_app.command("list", help="List sessions, most recent first.")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    limit: Annotated[int | None, typer.Option(help="Show at most N sessions.")] = None,
) -> None:
    async def go():
        async with _store() as store:
            infos = await store.list(limit=limit)
        if as_json:
            print(json.dumps([i.to_dict() for i in infos], indent=1))
            return
        if not infos:
            print("no sessions yet")
            return
        for i in infos:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(i.updated_at))
            print(f"{i.id}  {when}  {i.status:<16} {i.model:<32} {i.title}")

    _run(go())


@sessions_app.command("show", help="Show the messages of a session.")
def show_cmd(session_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    async def go():
        async with _session_manager() as manager:
            session = await manager.load_session(session_id)
            values = (await session.state()).values
            messages = [message_dict(m) for m in values.get("messages", [])]
        spend = spend_of(values.get("usage"))
        if as_json:
            data = {"session": session.info.to_dict(), "spend": spend.as_dict(), "messages": messages}
            print(json.dumps(data, indent=1, default=str))
            return
        print(f"session {session.id}  model {session.info.model}  workspace {session.info.workspace}")
        print(f"spent: {spend.describe()}")
        for m in messages:
            content = m["content"] if isinstance(m["content"], str) else json.dumps(m["content"])
            label = m["role"] if m["role"] != "tool" else f"tool:{m['name']}"
            print(f"\n[{label}] {content}")
            for call in m.get("tool_calls", []):
                print(f"  -> {call['name']}({json.dumps(call['args'])[:300]})  id={call['id']}")

    _run(go())


async def redacted_trace(session) -> tuple[str, int]:
    """(JSONL text, number of messages): a session header line, then one line per message, secrets redacted.

    Shared by `export` and `push`, so what is shared is exactly what the user can inspect with export."""
    from core.redact import known_secrets, redact_many
    from models.factory import _hf_token

    secrets = known_secrets([_hf_token()])
    state = (await session.state()).values
    header = {
        "type": "session",
        **session.info.to_dict(),
        "plan": state.get("plan") or [],
        "usage": state.get("usage") or {},
    }
    records = [header] + [{"type": "message", **message_dict(m)} for m in state.get("messages", [])]
    lines = [json.dumps(record, default=str) for record in redact_many(records, secrets)]
    return "\n".join(lines) + "\n", len(lines) - 1


def _write_export(path: Path, text: str) -> None:
    from cli.bootstrap import UserError

    try:
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        missing = isinstance(e, FileNotFoundError) and not path.parent.is_dir()
        why = f"the folder {path.parent} does not exist" if missing else (e.strerror or str(e))
        raise UserError(f"cannot write {path}: {why} (nothing was exported)", exit_codes.AGENT_ERROR) from None


@sessions_app.command("export", help="Export a session as JSONL, secrets redacted.")
def export_cmd(
    session_id: str,
    output: Annotated[str | None, typer.Option("--output", "-o", help="File (default: stdout).")] = None,
) -> None:
    async def go():
        async with _session_manager() as manager:
            session = await manager.load_session(session_id)
            text, count = await redacted_trace(session)
        if output:
            _write_export(Path(output), text)
            print(f"exported {count} messages to {output}", file=sys.stderr)
        else:
            sys.stdout.write(text)

    _run(go())


@sessions_app.command(
    "push",
    help="Upload a session's redacted trace (as `export` makes it) to a PRIVATE "
    "Hugging Face dataset, default <you>/ml-intern-sessions.",
)
def push_cmd(
    session_id: str,
    repo: Annotated[
        str | None,
        typer.Option(help="Dataset repo: org/name, or a name under your user (default: ml-intern-sessions)."),
    ] = None,
) -> None:
    from cli.sessions_push import push_trace, require_token

    async def go():
        token = require_token()
        async with _session_manager() as manager:
            session = await manager.load_session(session_id)
            text, count = await redacted_trace(session)
            settings = manager.deps.settings
        url = push_trace(text, session.id, repo, settings, token)  # the sessions database is closed by now
        print(url)
        print(
            f"pushed {count} messages of session {session.id} (secrets redacted) to a private dataset", file=sys.stderr
        )

    _run(go())


@sessions_app.command("delete", help="Delete a session and its files.")
def delete_cmd(session_id: str) -> None:
    async def go():
        async with _session_manager() as manager:
            session = await manager.load_session(session_id)
            await manager.delete_session(session.id)
        print(f"deleted {session.id}")

    _run(go())


@sessions_app.command(
    "undo",
    help="Undo the last user turn of a session: restores the files it changed, "
    "except files changed since (those are kept; --force restores them too).",
)
def undo_cmd(
    session_id: str,
    force: Annotated[
        bool, typer.Option("--force", help="Also restore files changed after the turn (their changes are lost).")
    ] = False,
) -> None:
    async def go():
        async with _session_manager() as manager:
            session = await manager.load_session(session_id)
            result = await session.undo(force=force)
        if result.type == "error":
            print(f"ml-intern: {result.message}", file=sys.stderr)
            raise typer.Exit(exit_codes.USAGE)
        print(f"undid the turn: {result.removed_prompt[:100]!r}")
        for line in undo_lines(result):
            print(f"  {line}")

    _run(go())


@sessions_app.command(
    "open",
    help="Open a session in LangGraph Studio (start `ml-intern studio` first); prints the link. "
    "A session the CLI is running can be watched, read-only until it ends.",
)
def open_cmd(
    session_id: str,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Only print the link.")] = False,
) -> None:
    from cli.studio_cmd import running_api, thread_url
    from core.paths import ml_intern_home
    from persistence.session_ids import short

    async def go():
        async with _store() as store:
            info = await store.resolve(session_id)
        api = running_api(ml_intern_home().resolve())
        if api is None:
            print(
                f"ml-intern: no `ml-intern studio` is serving these sessions: start it (in another terminal), "
                f"then run `ml-intern sessions open {short(info.id)}` again",
                file=sys.stderr,
            )
            raise typer.Exit(exit_codes.USAGE)
        link = thread_url(api, info.id)
        print(f"{info.id}  {info.title}")
        print(f"Studio:  {link}")
        print(f"API:     {api}/threads/{info.id}/state")
        if not no_browser:
            import webbrowser

            webbrowser.open(link)

    _run(go())


def undo_lines(result) -> list[str]:
    """One line per file an undo touched or left alone (shared with the chat's /undo)."""
    lines = [f"restored {path}" for path in result.restored_files]
    for path in result.kept_files:
        saved = result.originals.get(path)
        lines.append(
            f"kept {path}: it changed after the turn; its version before the turn is saved at {saved} "
            "(undo --force restores it)"
            if saved
            else f"kept {path}: the turn created it and it changed since (undo --force deletes it)"
        )
    for path in result.skipped_files:
        saved = result.originals.get(path)
        where = f"; its version before the turn is saved at {saved}" if saved else ""
        lines.append(f"skipped {path}: its folder now leads outside the workspace{where}")
    return lines
