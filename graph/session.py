"""The session runtime: run a turn, resume after anything, undo, fork, compact.

Front ends (cli/) talk only to this module and read Events back. A session is a LangGraph thread
plus a row in the session store; its files (spilled outputs, undo backups) live in
$ML_INTERN_HOME/sessions/<id>/.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END
from langgraph.types import Command, Overwrite

from core.events import (
    ApprovalRequired,
    AssistantChunk,
    AssistantMessage,
    BudgetRequired,
    Error,
    Event,
    Interrupted,
    Processing,
    Ready,
    ToolLog,
    TurnComplete,
    UndoComplete,
    parse_event,
)
from core.protocol import TurnStatus, injected_tag
from core.state import AgentState
from graph.builder import compile_graph, recursion_limit, with_research
from graph.mcp_tools import McpTools
from nodes.approval import InvalidDecisions, answer_problem
from nodes.budget_guard import resume_answer
from nodes.context import AgentDeps
from nodes.execute_tools import interrupted_results
from persistence.checkpointer import open_saver, store_for
from persistence.session_ids import new_session_id
from persistence.session_lock import Lease, SessionBusy
from persistence.session_lock import acquire as acquire_lease
from persistence.session_store import SessionInfo, SessionStore
from tools.file_changes import restore_file_changes

STOPPED_AT_APPROVAL = "Not run: the user rejected this call and stopped the turn."
FRESH_TURN: AgentState = {  # what a new turn (or a continued one) starts from
    "iteration": 0,
    "nudges": 0,
    "stop_reason": None,
    "doom": {},
    "approved_calls": [],
    "compact": None,
    "overflow_retry": False,
}


def _copied(values: dict[str, Any], usage: bool = True) -> dict[str, Any]:
    """What a fork takes over besides the messages and the undo points."""
    keys = {"plan", "context_tokens", "files_read"} | ({"usage"} if usage else set())
    return {k: v for k, v in values.items() if k in keys}


def _delta(before: list[BaseMessage], after: list[BaseMessage]) -> Any:
    """The write that turns history `before` into `after`: the new messages when it only grew (the messages
    channel stores deltas), else the whole list."""
    if len(after) >= len(before) and all(a.id == b.id for a, b in zip(before, after, strict=False)):
        return after[len(before) :]
    return Overwrite(after)


def is_user_turn(message: BaseMessage) -> bool:
    """A real user message (not a summary, nudge or doom-loop warning the engine injected)."""
    return isinstance(message, HumanMessage) and not injected_tag(message.additional_kwargs)


def unanswered_calls(messages: list[BaseMessage]) -> tuple[AIMessage | None, set[str]]:
    """The last assistant message and the ids of its calls that already have results."""
    answered: set[str] = set()
    for message in reversed(messages):
        if isinstance(message, ToolMessage):
            answered.add(message.tool_call_id)
        elif isinstance(message, AIMessage):
            return message, answered
        elif is_user_turn(message):
            return None, answered
    return None, answered


def _has_unanswered(messages: list[BaseMessage]) -> bool:
    message, answered = unanswered_calls(messages)
    return message is not None and any(c["id"] not in answered for c in message.tool_calls)


def _pending_kind(snapshot) -> str | None:
    kinds = [i.value.get("kind") for i in snapshot.interrupts if isinstance(i.value, dict)]
    return kinds[0] if kinds else None


class WorkspaceMismatch(ValueError):
    """A resume that would run a session's tools in another folder than its own; the message says why."""


def resume_workspace(session_id: str, stored: str, requested: str | None, here: Path) -> tuple[Path, str | None]:
    """Where a resumed session works, and a line to show when that is not where the user is.

    A session keeps the folder it started in: its tools, its undo backups and the model's picture of the
    files all refer to it. Another --workspace is refused, unless the session's folder is gone (a moved
    project): then --workspace moves the session, and says so.
    """
    wanted = Path(requested).expanduser().resolve() if requested else None
    if not stored:  # a session from before workspaces were stored
        return wanted or here, None
    home = Path(stored)
    if home.is_dir():
        if wanted is not None and wanted != home:
            raise WorkspaceMismatch(
                f"session {session_id} works in {home}, not {wanted}: drop --workspace (a session keeps its "
                "folder, so undo restores the right files), or start a new session there"
            )
        return home, None if here == home else f"session {session_id} works in {home}: running there"
    if wanted is None:
        raise WorkspaceMismatch(
            f"the workspace of session {session_id}, {home}, no longer exists: pass --workspace DIR to continue "
            "it in another folder"
        )
    return wanted, f"session {session_id} now works in {wanted} (its folder {home} no longer exists)"


@dataclass
class TurnResult:
    """How the last turn ended: its status, the final answer, and the calls waiting for approval (if any)."""

    status: TurnStatus
    final_response: str = ""
    pending: list[dict[str, Any]] = field(default_factory=list)


def fresh_info(session_id: str, deps: AgentDeps, title: str, parent_id: str | None = None) -> SessionInfo:
    """The row of a session that starts now, in the deps' workspace, with their model and approval mode."""
    now = time.time()
    return SessionInfo(
        session_id,
        now,
        now,
        model=deps.model_id,
        workspace=str(deps.workspace),
        title=title[:80],
        parent_id=parent_id,
        approval_mode=deps.approval_mode,
    )


class SessionManager:
    """Opens, creates and deletes sessions: holds the deps, the checkpoint saver, the session store, the compiled
    graph, the MCP servers and the session leases of this process."""

    def __init__(self, deps: AgentDeps, saver, store: SessionStore):
        self.deps = deps
        self.saver = saver
        self.store = store
        self.graph = compile_graph(with_research(deps), checkpointer=saver)
        self._mcp = McpTools(deps)
        self.notes: list[str] = []  # lines for the user waiting for a front end (see note)
        self.on_note = None
        self._leases: dict[str, tuple[Lease, int]] = {}  # session id -> (lease, Session objects holding it)

    @classmethod
    @asynccontextmanager
    async def open(cls, deps: AgentDeps) -> AsyncIterator[SessionManager]:
        """Open the sessions database (SQLite, or PostgreSQL with ML_INTERN_DATABASE_URL) for `deps`; on exit the
        MCP servers stop and every lease is given up, whatever happened."""
        async with open_saver(deps.home) as saver:
            store = store_for(saver)
            await store.setup(deps.home)
            manager = cls(deps, saver, store)
            reaper = asyncio.create_task(manager._reap_sandboxes(), name="sandbox-reaper")
            await manager.note_orphans()
            try:
                yield manager
            finally:
                try:
                    await manager.note_orphans()  # the jobs of the sessions ending now, left running unwatched
                    if manager.mcp is not None:
                        await manager.mcp.aclose()
                finally:
                    try:
                        await manager._close_sandboxes(reaper)
                    finally:
                        await manager.release_all()

    async def note_orphans(self) -> None:
        """A note per job left running by a session nobody drives and nobody waits for (tools/runs/orphans.py)."""
        from persistence.session_lock import is_alive
        from tools.runs.orphans import orphan_lines

        try:
            for session_id, line in orphan_lines(self.deps.home, set()):
                holder = await self.store.lock_get(session_id) if session_id else None
                if session_id in self._leases or holder is None or not is_alive(holder):
                    self.note(line)
        except Exception as exc:  # never in the way of the session
            self.note(f"could not look for jobs left running: {exc}")

    def note(self, line: str) -> None:
        """A line for the user outside any turn (sandboxes deleted at start or at the end): given to
        `on_note` (a front end sets it) or kept in `notes` until one is set."""
        if self.on_note is not None:
            self.on_note(line)
        else:
            self.notes.append(line)

    def set_on_note(self, on_note) -> None:
        self.on_note = on_note
        pending, self.notes = self.notes, []
        for line in pending:
            on_note(line)

    async def _reap_sandboxes(self) -> None:
        """Delete sandbox Spaces left behind by sessions whose process died (none: no network call)."""
        from tools.sandbox import records

        if "sandbox_create" not in self.deps.tools or not records.orphans():
            return  # only a manager that can create sandboxes cleans up after crashed ones
        from tools.sandbox.space import reap

        try:
            for line in await reap(self.deps.settings):
                self.note(line)
        except Exception as exc:  # never in the way of the session
            self.note(f"could not clean up old sandbox Spaces: {exc}")

    async def end_sandbox(self, session_id: str) -> None:
        """Delete the sandbox Space of a session this process stops driving (if it has one)."""
        from tools.base import ToolError
        from tools.sandbox import active

        if active.current(session_id) is None:
            return
        try:
            live = await active.close(session_id)
        except ToolError as exc:
            self.note(f"{exc}; `ml-intern sandboxes delete` retries")
            return
        if live is not None:
            self.note(f"deleted the sandbox Space {live.space_id} of session {session_id} ({live.cost_so_far()})")

    async def _close_sandboxes(self, reaper: asyncio.Task) -> None:
        """Delete the sandbox Spaces this process created (a session's end), and let the reaper finish."""
        from tools.sandbox import active

        for line in await active.close_all():
            self.note(line)
        for session_id in list(self._leases):  # the /tmp the command sandbox gave each session
            shutil.rmtree(self.deps.home / "sessions" / session_id / "sandbox-tmp", ignore_errors=True)
        if not reaper.done():
            try:
                await asyncio.wait_for(asyncio.shield(reaper), 30)
            except TimeoutError:
                reaper.cancel()

    async def hold(self, session_id: str) -> Lease:
        """Become the driver of a session (shared by this manager's Session objects of that id)."""
        if session_id in self._leases:
            lease, count = self._leases[session_id]
            if not lease.lost:
                self._leases[session_id] = (lease, count + 1)
                return lease
        lease = await acquire_lease(self.store, session_id)
        self._leases[session_id] = (lease, 1)
        return lease

    async def unhold(self, session_id: str) -> None:
        """Let go of a session once no Session object of this manager holds it any more."""
        lease, count = self._leases.get(session_id, (None, 0))
        if lease is None:
            return
        if count > 1:
            self._leases[session_id] = (lease, count - 1)
            return
        del self._leases[session_id]
        await lease.release()

    async def release_all(self) -> None:
        """Give up every lease (closing): the next process need not wait for anything."""
        leases, self._leases = [lease for lease, _ in self._leases.values()], {}
        for lease in leases:
            try:
                await lease.release()
            except Exception:  # the database is gone (disk full, server down): the lease dies with us
                pass

    @property
    def mcp(self):
        """The MCP servers (tools.mcp.McpManager) once the config named some and a turn started them."""
        return self._mcp.manager

    async def refresh_mcp(self) -> list[str]:
        """Start (or restart) the configured MCP servers and offer their tools; returns warning lines."""
        return await self._mcp.refresh()

    async def new_session(self, title: str = "", parent_id: str | None = None) -> Session:
        """A new session in the deps' workspace, held by this process, with the undo point of its first turn."""
        info = fresh_info(new_session_id(), self.deps, title, parent_id)
        await self.store.create(info)
        session = Session(self, info)
        await session.acquire()
        # An empty first checkpoint: the undo point of the first turn.
        await self.graph.aupdate_state(session.config, {"turns": [], "plan": []}, as_node="llm_call")
        return session

    async def load_session(self, session_id: str) -> Session:
        """The session with this id or unique id prefix (SessionNotFound otherwise); not held until it acts."""
        return Session(self, await self.store.resolve(session_id))

    async def latest_session(self) -> Session:
        """The most recently updated session (SessionNotFound when there is none)."""
        return Session(self, await self.store.resolve(None))

    async def delete_session(self, session_id: str) -> None:
        """Delete a session's checkpoints, its row and its folder; SessionBusy while another process drives it."""
        session = await self.load_session(session_id)
        await session.acquire()  # never pull a session from under its driver
        await self.saver.adelete_thread(session.id)
        await self.store.delete(session.id)
        shutil.rmtree(session.dir, ignore_errors=True)
        await session.release()


class Session:
    """One session (a LangGraph thread): runs its turns and its history operations, and reads its state.
    Everything that changes it first takes its lease (acquire), so one process drives it at a time."""

    def __init__(self, manager: SessionManager, info: SessionInfo):
        self.manager = manager
        self.info = info
        self.id = info.id
        self.config: RunnableConfig = {
            "configurable": {"thread_id": self.id},
            "recursion_limit": recursion_limit(manager.deps.settings.max_iterations),
        }
        self.last_result: TurnResult | None = None
        self._holding = False

    async def acquire(self) -> None:
        """Become this session's only driver (SessionBusy when another live process is): every front end
        runs, undoes and compacts through here, so they all take the same lock. Held until release()."""
        if not self._holding:
            await self.manager.hold(self.id)
            self._holding = True

    async def release(self, keep_sandbox: bool = False) -> None:
        """Stop driving this session (other Session objects of the same id in this process may still hold it).

        `keep_sandbox`: only a pause between turns (the web app lets go after each turn, so any replica may go
        on): its sandbox Space stays for the next turn instead of being deleted as at a session's end."""
        if self._holding:
            self._holding = False
            await self.manager.unhold(self.id)
            if self.id not in self.manager._leases and not keep_sandbox:  # nobody here drives it: it has ended
                await self.manager.end_sandbox(self.id)

    def _check_lease(self) -> None:
        lease = self.manager._leases.get(self.id, (None, 0))[0]
        if lease is not None and lease.lost:
            raise SessionBusy(f"session {self.id} was taken over by another ml-intern while this one was stalled")

    async def move_to(self, workspace: Path) -> None:
        """Work in another folder from now on (see resume_workspace: only when the old one is gone)."""
        self.info.workspace = str(workspace)
        await self.manager.store.update(self.id, workspace=self.info.workspace)

    def activate(self) -> None:
        """Work in the session's folder and build its model."""
        deps = self.manager.deps
        if self.info.workspace and Path(self.info.workspace).is_dir():
            deps.workspace = Path(self.info.workspace)
        if deps.model is None or deps.model.extra.get("session") != self.id or deps.model.model_id != deps.model_id:
            from core import credentials
            from models.factory import make_model

            with credentials.scoped(deps.credentials):  # a web user's HF token for the HF router
                deps.model = make_model(deps.model_id, streaming=deps.stream)
            deps.model.extra["session"] = self.id

    @property
    def dir(self) -> Path:
        """The session's folder: spilled outputs, undo backups, the replay cursor."""
        return self.manager.deps.session_dir(self.id)

    @property
    def graph(self):
        """The manager's compiled graph (it runs with the manager's deps)."""
        return self.manager.graph

    async def state(self):
        """The latest checkpoint of the session (a LangGraph StateSnapshot)."""
        return await self.graph.aget_state(self.config)

    async def messages(self) -> list[BaseMessage]:
        """The session's history as the model sees it."""
        return list((await self.state()).values.get("messages", []))

    # -- turns ---------------------------------------------------------------------------------

    async def run(
        self, prompt: str | None = None, decisions: dict[str, Any] | None = None, doom_answer: str | None = None
    ) -> AsyncIterator[Event]:
        """Run one user turn (or continue the pending one) and yield its events.

        prompt=None continues: answers a pending approval with `decisions` (InvalidDecisions when they do not
        fit the pending calls), a doom-loop question with `doom_answer`, a turn waiting at the budget once
        deps.settings.budget.max_usd covers its call (doom_answer "no" stops it), finishes a run that crashed, or
        retries after an error. A prompt while approvals are pending rejects them with it as feedback.
        The events end with turn_complete (its status is also `last_result`) and ready. Cancelling the
        iteration (Ctrl-C) keeps the partial answer and marks unfinished tool calls as interrupted; the
        session stays resumable.
        """
        await self.acquire()
        self.activate()
        snapshot = await self._settled_state()
        if prompt and doom_answer is None and _pending_kind(snapshot) in ("doom_loop", "budget"):
            # a new prompt while asked whether to go on: stop the waiting turn, then take the prompt
            async for event in self.run(None, doom_answer="no"):
                if event.type not in {"turn_complete", "ready"}:
                    yield event
            snapshot = await self.state()
        graph_input = await self._input_for(snapshot, prompt, decisions, doom_answer)
        if graph_input is None:
            result = self._result_from(snapshot)
            for event in self._closing_events(result):
                yield event
            return
        yield Processing(prompt=prompt or "")
        for warning in await self.manager.refresh_mcp():
            yield ToolLog(line=warning)
        if prompt and not self.info.title:
            self.info.title = prompt.strip().splitlines()[0][:80]
            await self.manager.store.update(self.id, title=self.info.title)
        await self.manager.store.update(
            self.id, status="running", model=self.manager.deps.model_id, approval_mode=self.manager.deps.approval_mode
        )

        partial: list[str] = []
        try:
            async for chunk in self._stream(graph_input):
                self._check_lease()
                event = parse_event(chunk) if isinstance(chunk, dict) else None
                if event is None:
                    continue
                if isinstance(event, AssistantChunk) and event.agent == "main":
                    partial.append(event.content)
                elif isinstance(event, AssistantMessage) and event.agent == "main":
                    partial.clear()
                yield event
        except asyncio.CancelledError:
            await asyncio.shield(self._after_interrupt("".join(partial)))
            raise
        except SessionBusy:
            raise  # the session is someone else's now: write nothing
        except Exception as exc:  # an engine bug must not lose the session
            await self._after_interrupt("".join(partial), reason=f"Not run: the agent failed ({exc}).")
            self.last_result = TurnResult("error:agent")
            await self.manager.store.update(self.id, status="error")
            yield Error(message=f"internal error: {type(exc).__name__}: {exc}", kind="agent")
            yield TurnComplete(status="error:agent")
            return
        result = self._result_from(await self.state())
        await self.manager.store.update(self.id, status=result.status)  # never left at "running"
        for event in self._closing_events(result):
            yield event

    async def _input_for(self, snapshot, prompt, decisions, doom_answer):
        values = snapshot.values
        interrupts = [i.value for i in snapshot.interrupts if isinstance(i.value, dict)]
        if interrupts:
            kind = interrupts[0].get("kind")
            if kind == "doom_loop":
                return None if doom_answer is None else Command(resume=doom_answer)
            if kind == "budget":  # go on once the budget was raised (doom_answer "no": stop there)
                answer = resume_answer(interrupts[0], self.manager.deps, stop=doom_answer == "no")
                return None if answer is None else Command(resume=answer)
            if decisions is not None:
                pending = [c["id"] for i in interrupts for c in i.get("calls") or []]
                problem = answer_problem({"decisions": decisions}, pending)
                if problem is not None:
                    raise InvalidDecisions(problem)
                return Command(resume={"decisions": decisions})
            if prompt:  # typed text while asked: reject the pending calls with it as feedback
                return Command(resume={"decisions": {"*": {"action": "reject", "feedback": prompt}}})
            return None  # still waiting: the caller shows the approval again
        if decisions is not None:
            raise InvalidDecisions(f"session {self.id} is not waiting for an approval: there is nothing to decide")
        head_config = snapshot.config
        messages = values.get("messages", [])
        if snapshot.next or _has_unanswered(messages):  # a run that crashed or was killed mid-step
            head_config = await self._repair(messages)
        if prompt:  # `turns` appends: the turn's undo point is its only write
            head = (head_config.get("configurable") or {})["checkpoint_id"]
            return {**FRESH_TURN, **self._budget(), "messages": [HumanMessage(content=prompt)], "turns": [head]}
        if not messages:
            return None
        last = messages[-1]
        if not snapshot.next and not values.get("stop_reason") and isinstance(last, AIMessage) and not last.tool_calls:
            return None  # the turn ended with an answer: there is nothing to continue
        return {**FRESH_TURN, **self._budget()}  # continue: the model sees where things stand and goes on

    def _budget(self) -> AgentState:
        """The budget a turn starts with: --max-budget-usd, the config's, or what /budget set (core/budget.py)."""
        return {"max_budget_usd": self.manager.deps.settings.budget.max_usd}

    async def _settled_state(self):
        """The state, after keeping the work of a step that was cut off (kill -9, power loss, disk full)
        between saving a node's writes and saving the checkpoint that follows.

        Those writes are pending on the last checkpoint; any update of the state on top of it would drop
        them (and with them an assistant message or tool results). Applying them as LangGraph would on
        resume, and clearing the tasks that never finished, makes them part of the history first.
        A step waiting for a human answer (an interrupt) is not cut off: its writes wait for the answer.
        """
        snapshot = await self.state()
        if snapshot.interrupts:
            return snapshot
        saved = await self.manager.saver.aget_tuple(self.config)
        if saved is None or not saved.pending_writes:
            return snapshot
        await self.graph.aupdate_state(self.config, None, as_node=END)
        return await self.state()

    async def _repair(self, messages: list[BaseMessage]) -> RunnableConfig:
        """Give every unanswered tool call an 'interrupted' result and close the broken run."""
        message, answered = unanswered_calls(messages)
        results = interrupted_results(message, answered) if message else []
        return await self.graph.aupdate_state(
            self.config, {"messages": results, "approved_calls": []}, as_node="llm_call"
        )

    async def _after_interrupt(self, partial_text: str, reason: str = "interrupted") -> None:
        messages = list((await self._settled_state()).values.get("messages", []))
        message, answered = unanswered_calls(messages)
        new: list[BaseMessage] = []
        if partial_text.strip():
            new.append(AIMessage(content=partial_text + "\n\n[interrupted]"))
        if message is not None:
            new.extend(interrupted_results(message, answered, reason))
        await self.graph.aupdate_state(
            self.config, {"messages": new, "approved_calls": [], "stop_reason": "interrupted"}, as_node="llm_call"
        )
        self.last_result = TurnResult("interrupted")
        await self.manager.store.update(self.id, status="interrupted")

    async def stop_pending(self, reason: str = STOPPED_AT_APPROVAL) -> list[Event]:
        """End a turn that waits for an approval without resuming it: the pending calls get `reason` as their
        (rejected) result and the model is not called again (Ctrl-C / Esc at the approval prompt)."""
        await self.acquire()
        snapshot = await self.state()
        if not snapshot.interrupts:
            return []
        await self._after_interrupt("", reason=reason)
        return self._closing_events(self.last_result) if self.last_result else []

    def _result_from(self, snapshot) -> TurnResult:
        values = snapshot.values
        pending = [
            c for i in snapshot.interrupts if isinstance(i.value, dict) for c in (i.value.get("calls") or [i.value])
        ]
        final = ""
        for message in reversed(values.get("messages", [])):
            if isinstance(message, AIMessage):
                final = str(message.content)
                break
            if is_user_turn(message):
                break
        status: TurnStatus = "approval_pending" if pending else values.get("stop_reason") or "done"
        if _pending_kind(snapshot) == "budget":
            status = "budget"  # waiting for a raised budget
        return TurnResult(status, final, pending)

    def _closing_events(self, result: TurnResult) -> list[Event]:
        self.last_result = result
        events: list[Event] = []
        if result.status == "approval_pending":
            events.append(ApprovalRequired(calls=result.pending))
        if result.status == "budget" and result.pending:
            question = result.pending[0]
            events.append(
                BudgetRequired(
                    message=str(question.get("message", "")),
                    spent_usd=float(question.get("spent_usd") or 0),
                    estimate_usd=float(question.get("estimate_usd") or 0),
                    max_budget_usd=float(question.get("max_budget_usd") or 0),
                )
            )
        if result.status == "interrupted":
            events.append(Interrupted())
        events.append(TurnComplete(status=result.status, final_response=result.final_response))
        events.append(Ready())  # the session takes input again (a prompt, or the approval answers)
        return events

    async def finish(self) -> None:
        """Record the outcome of the last turn in the session list."""
        status = self.last_result.status if self.last_result else "idle"
        await self.manager.store.update(self.id, status=status)

    # -- history operations --------------------------------------------------------------------

    async def undo(self, force: bool = False) -> UndoComplete | Error:
        """Fork from the checkpoint before the last user turn and restore the files it changed.

        A file changed since the turn is kept as it is (its pre-turn version saved in the session folder)
        unless `force`: undo never silently destroys later work."""
        await self.acquire()
        snapshot = await self.state()
        turns = list(snapshot.values.get("turns") or [])
        if not turns:
            return Error(message="nothing to undo in this session", kind="usage")
        removed = ""
        for message in reversed(snapshot.values.get("messages", [])):
            if is_user_turn(message):
                removed = str(message.content)
                break
        undo_dir = self.dir / "undo" / str(len(turns))
        files = restore_file_changes(
            undo_dir,
            Path(self.info.workspace or self.manager.deps.workspace),
            self.manager.deps.settings,
            keep_dir=self.dir / "undone" / time.strftime(f"turn{len(turns)}-%Y%m%d-%H%M%S"),
            force=force,
        )
        shutil.rmtree(undo_dir, ignore_errors=True)  # what undo left alone has its original in keep_dir
        target: RunnableConfig = {
            "configurable": {"thread_id": self.id, "checkpoint_ns": "", "checkpoint_id": turns[-1]}
        }
        await self.graph.aupdate_state(target, None, as_node="__copy__")
        await self.manager.store.update(self.id, status="idle")
        return UndoComplete(
            restored_files=files.restored,
            skipped_files=files.skipped,
            kept_files=files.kept,
            originals=files.originals,
            removed_prompt=removed,
        )

    async def fork(self) -> Session:
        """A new session that starts with this one's history, turn by turn, so /undo in the fork goes back
        through the turns made before the fork too (their file backups are copied).

        Calls still waiting (for approval, or cut off by a crash) are answered as not run in the fork.
        """
        values = (await self.state()).values
        child = await self.manager.new_session(title=f"fork of {self.info.title}"[:80], parent_id=self.id)
        head = await self.graph.aget_state(child.config)  # its empty first checkpoint: the first undo point
        child_turns: list[str] = []
        previous: list[BaseMessage] = []
        points = list(values.get("turns") or [])
        for number, point in enumerate(points, 1):
            if number > 1:  # the first point is an empty history, as the child's first checkpoint is
                at = await self.graph.aget_state(
                    {"configurable": {"thread_id": self.id, "checkpoint_ns": "", "checkpoint_id": point}}
                )
                messages = list(at.values.get("messages", []))
                head_config = await self.graph.aupdate_state(
                    child.config,
                    {
                        **_copied(at.values, usage=False),  # usage adds up: it is written once, at the end
                        "messages": _delta(previous, messages),
                        "turns": Overwrite(list(child_turns)),
                    },
                    as_node="llm_call",
                )
                previous = messages
            else:
                head_config = head.config
            child_turns.append((head_config.get("configurable") or {})["checkpoint_id"])
            backups = self.dir / "undo" / str(number)  # the files turn `number` changed, for undo in the fork
            if backups.is_dir():
                shutil.copytree(backups, child.dir / "undo" / str(number), dirs_exist_ok=True)
        messages = list(values.get("messages", []))
        message, answered = unanswered_calls(messages)
        if message is not None:
            messages += interrupted_results(
                message, answered, "Not run: the session was forked before this call finished or was approved."
            )
        # a replayed session's fork continues the same script: the position is saved in the history it copies
        await self.graph.aupdate_state(
            child.config,
            {**_copied(values), "messages": _delta(previous, messages), "turns": Overwrite(child_turns)},
            as_node="llm_call",
        )
        return child

    async def compact(self) -> AsyncIterator[Event]:
        """Summarise the older history now, below the threshold too, and yield the events (compacted, or an
        error saying why not); refused while a question is pending."""
        await self.acquire()
        self.activate()
        snapshot = await self._settled_state()
        if snapshot.interrupts:
            yield Error(message="answer the pending question first (or /undo the turn), then compact", kind="usage")
            return
        if snapshot.next or _has_unanswered(snapshot.values.get("messages", [])):
            await self._repair(snapshot.values.get("messages", []))
        async for event in self._run_input({**FRESH_TURN, "compact": "manual"}):
            yield event

    def _stream(self, graph_input: Any) -> AsyncIterator[Any]:
        """The graph run on `graph_input`, with the manager's deps as its context, streaming the custom events."""
        return self.graph.astream(
            graph_input, self.config, context=self.manager.deps, stream_mode="custom", durability="sync"
        )

    async def _run_input(self, graph_input) -> AsyncIterator[Event]:
        async for chunk in self._stream(graph_input):
            event = parse_event(chunk) if isinstance(chunk, dict) else None
            if event is not None:
                yield event
