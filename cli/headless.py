"""Headless front end: one prompt in, events out (text, json or stream-json), an exit code that
tells a script what happened (see cli/exit_codes.py)."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cli import exit_codes
from cli.bootstrap import RunOptions, UserError, build_deps, check_resume_id, parse_decisions

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class TextRenderer:
    """The answer on stdout; tool activity and errors on stderr, one compact line each."""

    def __init__(self, stream: bool):
        self.stream = stream
        self.mid_line = False

    def __call__(self, event, session_id: str) -> None:
        kind, data = event.type, event
        prefix = "" if event.agent == "main" else f"[{event.agent}] "
        if kind == "assistant_chunk" and self.stream and event.agent == "main":
            sys.stdout.write(data.content)
            sys.stdout.flush()
            self.mid_line = not data.content.endswith("\n")
        elif kind == "assistant_message" and event.agent == "main":
            if not self.stream and data.content:
                print(data.content, flush=True)
            elif self.mid_line:
                print(flush=True)
                self.mid_line = False
        elif kind == "tool_call":
            args = json.dumps(data.args, ensure_ascii=False)
            _err(f"{prefix}> {data.name} {args[:160]}{'...' if len(args) > 160 else ''}")
        elif kind == "tool_output" and data.is_error:
            _err(
                f"{prefix}  ! {data.name}: {data.content.strip().splitlines()[0][:200] if data.content.strip() else ''}"
            )
        elif kind == "error":
            _err(f"{prefix}error: {data.message}")
        elif kind == "doom_loop":
            _err(f"{prefix}warning: repeated calls detected ({data.pattern}); the model was told to change approach")
        elif kind == "compacted":
            _err(f"context compacted: {data.old_tokens} -> {data.new_tokens} tokens")
        elif kind == "tool_log" and data.tool_call_id is None:
            _err(f"{prefix}{data.line}")
        elif kind == "budget_required":
            _err(f"{data.message}: waiting for a higher budget")
            _err(f"continue with: ml-intern --resume {session_id} --max-budget-usd N   (N > {data.max_budget_usd:g})")
        elif kind == "approval_required":
            _err("approval needed for:")
            for call in data.calls:
                _err(
                    f"  {call.get('id')}: {call.get('name')} {json.dumps(call.get('args'))[:200]} "
                    f"(risk: {call.get('risk')})"
                )
                details = {k: v for k, v in (call.get("details") or {}).items() if v not in (None, "", [], {})}
                if details:  # e.g. hardware and estimated cost of a job: what the user is agreeing to pay
                    _err("    " + ", ".join(f"{k}: {' '.join(str(v).split())}" for k, v in details.items()))
            _err(
                f"continue with: ml-intern --resume {session_id} --approve all   "
                f"(or --approve CALL_ID / --reject CALL_ID=feedback)"
            )


def _err(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except OSError:  # the terminal is gone (SIGHUP): the session is saved all the same
        pass


def run_headless(options: RunOptions) -> int:
    try:
        return asyncio.run(_run(options))
    except UserError as e:
        _err(f"ml-intern: {e}")
        return e.code
    except KeyboardInterrupt:
        return exit_codes.INTERRUPTED


async def open_session(manager, options: RunOptions):
    """The session to drive, already locked: a second driver stops here, before it changes anything."""
    from persistence.session_lock import SessionBusy
    from persistence.session_store import SessionNotFound

    try:
        if options.resume or options.continue_last:
            session = await (manager.load_session(options.resume) if options.resume else manager.latest_session())
            await session.acquire()
            return session
    except (SessionNotFound, SessionBusy) as e:
        raise UserError(str(e)) from None
    return await manager.new_session(
        title=(options.prompt or "").strip().splitlines()[0][:80] if options.prompt else ""
    )


async def _resumed_session_info(options: RunOptions):
    """The stored info of the session being resumed: it keeps its model and approval mode."""
    check_resume_id(options)
    if not (options.resume or options.continue_last):
        return None
    from persistence.checkpointer import open_session_store
    from persistence.session_store import SessionNotFound

    async with open_session_store() as store:
        try:
            return await store.resolve(options.resume)
        except SessionNotFound as e:
            raise UserError(str(e)) from None


def _session_workspace(info, options: RunOptions):
    """The resumed session's own folder (see graph.session.resume_workspace); a mismatch is a usage error."""
    from pathlib import Path

    from graph.session import WorkspaceMismatch, resume_workspace

    try:
        return resume_workspace(info.id, info.workspace, options.workspace, Path.cwd().resolve())
    except WorkspaceMismatch as e:
        raise UserError(str(e)) from None


@contextmanager
def storage_failures_as_one_line(session_id: str | None = None) -> Iterator[None]:
    """The sessions database failing (locked, full, damaged, unreachable) becomes a UserError: one line
    naming the fix and how to go on. Any other error passes through."""
    from persistence.database import database_failure

    try:
        yield
    except UserError:
        raise
    except Exception as e:
        line = database_failure(e)
        if line is None:
            raise
        if session_id:
            line += f"; the session keeps every step saved before this: continue with ml-intern --resume {session_id}"
        raise UserError(line, exit_codes.AGENT_ERROR) from None


async def _run(options: RunOptions) -> int:
    with storage_failures_as_one_line():
        info = await _resumed_session_info(options)
        if info and not options.approval and info.approval_mode:
            options.approval = info.approval_mode
        if info:
            workspace, note = _session_workspace(info, options)
            options.workspace = str(workspace)
            if note:
                _err(f"ml-intern: {note}")
        deps = build_deps(options, interactive=False, model_id=info.model if info else None)
        from graph.session import SessionManager  # after the options and the config are known to be right

        async with SessionManager.open(deps) as manager:
            manager.set_on_note(lambda line: _err(f"ml-intern: {line}"))  # sandboxes deleted at start or end
            session = await open_session(manager, options)
            if session.info.workspace != str(deps.workspace):
                await session.move_to(deps.workspace)
            return await _drive(session, options)


async def _drive(session, options: RunOptions) -> int:
    from core.events import Shutdown
    from models.errors import ModelConfigError
    from nodes.approval import InvalidDecisions

    decisions = parse_decisions(options.approve, options.reject)
    render = TextRenderer(options.stream) if options.output_format == "text" else None
    final: dict[str, Any] = {"status": "done", "final_response": ""}

    async def consume() -> None:
        async for event in session.run(options.prompt, decisions=decisions):
            if options.output_format == "stream-json":
                print(json.dumps(event.wire(session.id), ensure_ascii=False), flush=True)
            elif render is not None:
                render(event, session.id)
            if event.type == "turn_complete":
                final.update(status=event.status, final_response=event.final_response)
            elif event.type == "error":
                final["error"] = event.message

    task = asyncio.ensure_future(consume())
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:  # Ctrl-C, kill, a closed terminal: keep the partial answer, status interrupted
        loop.add_signal_handler(sig, task.cancel)
    try:
        with storage_failures_as_one_line(session.id):
            await task
    except asyncio.CancelledError:
        final["status"] = "interrupted"
        if options.output_format == "text":
            _err(f"interrupted; resume with: ml-intern --resume {session.id}")
    except (ModelConfigError, InvalidDecisions) as e:
        raise UserError(str(e)) from None
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
    with storage_failures_as_one_line(session.id):
        await session.finish()
        unverified = await _unverified(session, final)
    code = exit_codes.for_status(final["status"])
    if options.output_format == "stream-json":
        print(json.dumps(Shutdown().wire(session.id)), flush=True)
    if options.output_format == "json":
        from core.budget import spend_of

        values = (await session.state()).values
        usage = values.get("usage") or {}
        plan = values.get("plan") or []
        print(
            json.dumps(
                {
                    "session_id": session.id,
                    "status": final["status"],
                    "exit_code": code,
                    "final_response": final["final_response"],
                    "error": final.get("error"),
                    "usage": usage,
                    "unverified_numbers": unverified,  # metrics in the answer that nothing in the session backs
                    "spend": spend_of(usage).as_dict(session.manager.deps.settings.budget.max_usd),
                    # None when the model kept no plan; false while any item is not completed
                    "plan_finished": all(t.get("status") == "completed" for t in plan) if plan else None,
                },
                ensure_ascii=False,
            )
        )
    elif options.output_format == "text" and unverified:
        from cli.provenance_check import warning_line

        _err(warning_line(unverified))
    if options.output_format == "text" and final["status"] == "max_iterations":
        _err(f"resume with: ml-intern --resume {session.id} --max-iterations N")
    return code


async def _unverified(session, final: dict[str, Any]) -> list[dict[str, str]]:
    """The answer's metric values that no tool output or run log of the session holds (cli/provenance_check.py)."""
    if final["status"] != "done" or not final["final_response"]:
        return []
    from cli.provenance_check import unverified_claims

    return await unverified_claims(session, final["final_response"])
