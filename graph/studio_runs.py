"""A run of the LangGraph API server (`langgraph dev`, Studio) is a turn of a session, as in the CLI.

The server drives the graph directly (`astream`), past the session runtime, so the graph it serves does
here what graph.session does for the CLI:
- the thread becomes a session the moment it runs (a row in the session store: title, model, workspace,
  status), and its status is written back when the run ends;
- the run takes the session's lease, the one the CLI takes: a session another process drives is refused
  with one line naming it, and a CLI cannot drive a session while a Studio run does;
- the run works in the session's own folder (a CLI session resumed in Studio runs its tools where it
  started) and has the MCP servers of the config;
- an approval answered through the API must have the shape the question publishes (a bad one is refused
  before anything runs, with the shape to use), and re-answering an approval from an earlier checkpoint
  (time travel) does not run again, unasked, a command that already ran.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

from langchain_core.messages import HumanMessage, ToolMessage, convert_to_messages
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command

from core.protocol import TurnStatus
from graph.builder import AgentGraph
from graph.mcp_tools import McpTools
from graph.session import fresh_info
from nodes.approval import answer_problem
from nodes.context import AgentDeps
from persistence.served import served_store
from persistence.session_lock import SessionBusy, acquire
from persistence.session_store import SessionInfo, SessionStore

RERUN_RISKS = {"exec", "remote_compute", "destructive"}  # calls that must not run twice unasked


class RunRefused(ValueError):
    """A run the server must not start; the message (one line) says why and what to do.
    A ValueError, so the API answers it as a client error with this message."""


class StudioGraph(AgentGraph):
    """The agent graph as the API server runs it: each run is a session's turn (see the module doc)."""

    def __init__(self, *, deps: AgentDeps, **fields: Any) -> None:
        # attributes, so the copies the server makes per run (Pregel.copy passes __dict__ back) share them
        mcp, mcp_lock = fields.pop("mcp", None), fields.pop("mcp_lock", None)
        super().__init__(deps=deps, **fields)
        self.mcp: McpTools = mcp or McpTools(deps)
        self.mcp_lock: asyncio.Lock = mcp_lock or asyncio.Lock()

    def copy(self, update: dict[str, Any] | None = None) -> StudioGraph:
        """The server copies the graph for every use with its checkpointer: an adapter around our saver
        (langgraph-api 0.16.7) that numbers channel versions its own way instead of asking the saver.
        SQLite sessions use shorter versions (persistence.versions) that compare greater than the adapter's,
        so in a session the CLI wrote, a step the server took would look older than the last one and the
        graph would stop short. The adapter is made per use, so its numbering is the saver's again here."""
        saver = (update or {}).get("checkpointer")
        inner = getattr(saver, "_inner", None)
        if isinstance(saver, BaseCheckpointSaver) and isinstance(inner, BaseCheckpointSaver):
            saver.get_next_version = inner.get_next_version  # pyright: ignore[reportAttributeAccessIssue]
        return cast(StudioGraph, super().copy(update))

    async def astream(self, input: Any, config: Any = None, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        store = served_store()
        thread_id = str(((config or {}).get("configurable") or {}).get("thread_id") or "")
        if store is None or not thread_id or isinstance(kwargs.get("context"), AgentDeps):
            async for chunk in super().astream(input, config, **kwargs):  # not a server run: as AgentGraph
                yield chunk
            return
        info = await self._register(store, thread_id, input)
        try:
            lease = await acquire(store, thread_id)
        except SessionBusy as exc:
            raise RunRefused(
                f"{exc} (watching it is fine: a session is read-only while another process drives it)"
            ) from None
        try:
            await self._check_input(input, config)
            input, config = await self._fork_to_answer(input, config)
            input = await self._as_turn(input, config)
            async with self.mcp_lock:
                await self.mcp.refresh()  # a failed server is a warning in its log; its tools are just absent
            await store.update(thread_id, status="running", model=self.deps.model_id)
            if self.deps.model is not None and callable(forget := getattr(self.deps.model.chat, "forget", None)):
                forget(thread_id)  # the replay model: this run continues the history as it is now
            status: TurnStatus | str = "interrupted"  # cancelled, or the client went away
            try:
                async for chunk in super().astream(input, config, **{**kwargs, "context": self._deps_for(info)}):
                    yield chunk
                status = await self._status(config)
            except Exception:
                status = "error"
                raise
            finally:  # never left at "running"
                await asyncio.shield(store.update(thread_id, status=status))
        finally:
            await lease.release()

    async def _fork_to_answer(self, input: Any, config: Any) -> tuple[Any, Any]:
        """Answering a question again from an earlier checkpoint (Studio's time travel): run on a copy of that
        checkpoint. LangGraph keeps the first answer among the checkpoint's pending writes and would reuse
        it, so a rejection given after an approval would run the command again; on the copy, the new answer
        is the one that counts. A resume map keyed by the old interrupt ids becomes its one value."""
        configurable = (config or {}).get("configurable") or {}
        if not isinstance(input, Command) or input.resume is None or not configurable.get("checkpoint_id"):
            return input, config
        target: RunnableConfig = {
            "configurable": {
                "thread_id": configurable["thread_id"],
                "checkpoint_ns": configurable.get("checkpoint_ns", ""),
                "checkpoint_id": configurable["checkpoint_id"],
            }
        }
        snapshot = await self.aget_state(target)
        ids = {i.id for i in snapshot.interrupts}
        resume = input.resume
        if isinstance(resume, dict) and len(resume) == 1 and set(resume) <= ids:
            resume = next(iter(resume.values()))
        copy = self.aupdate_state(target, None, as_node="__copy__")
        await asyncio.create_task(copy, context=contextvars.Context())  # not as this run (see _as_turn)
        return Command(resume=resume, update=input.update, goto=input.goto), _head(config)

    async def _as_turn(self, input: Any, config: Any) -> Any:
        """A run with new messages is a user turn, as the session runtime starts one: fresh per-turn counters,
        and the checkpoint it starts from recorded as its undo point (`ml-intern sessions undo`); a new
        thread first gets the empty checkpoint a CLI session starts with."""
        if not isinstance(input, dict) or not input.get("messages"):
            return input
        from graph.session import FRESH_TURN

        snapshot = await self.aget_state(config)
        if snapshot.config is None or "checkpoint_id" not in (snapshot.config.get("configurable") or {}):
            # Written outside the run's context: the server puts the run's config in a context variable that
            # LangGraph merges into every call, and a checkpoint carrying this run's id would make LangGraph
            # take the run for one being re-entered, and drop its input.
            thread: RunnableConfig = {"configurable": {"thread_id": config["configurable"]["thread_id"]}}
            first = self.aupdate_state(thread, {"turns": [], "plan": []}, as_node="llm_call")
            await asyncio.create_task(first, context=contextvars.Context())
            snapshot = await self.aget_state(thread)
        head = (snapshot.config or {}).get("configurable", {}).get("checkpoint_id")
        return {**FRESH_TURN, **input, "turns": [head] if head else []}

    def _deps_for(self, info: SessionInfo) -> AgentDeps:
        """The server's deps, working in the session's own folder when it has one that still exists."""
        folder = Path(info.workspace) if info.workspace else None
        if folder is None or folder == self.deps.workspace or not folder.is_dir():
            return self.deps
        return dataclasses.replace(self.deps, workspace=folder)

    async def _register(self, store: SessionStore, thread_id: str, input: Any) -> SessionInfo:
        """The thread's session row, added on its first run (title from the first user message)."""
        known = await store.get(thread_id)
        if known is not None:
            if not known.title and (title := _title(input)):
                await store.update(thread_id, title=title)
                known.title = title
            return known
        info = fresh_info(thread_id, self.deps, _title(input))
        await store.register(info)
        return info

    async def _status(self, config: Any) -> TurnStatus:
        snapshot = await self.aget_state(_head(config))
        if snapshot.interrupts:
            return "approval_pending"
        return snapshot.values.get("stop_reason") or "done"

    async def _check_input(self, input: Any, config: Any) -> None:
        """Refuse an approval answer of the wrong shape, and one that would run an answered call again."""
        if not isinstance(input, Command) or input.resume is None:
            return
        snapshot = await self.aget_state(config)
        questions = {i.id: i.value for i in snapshot.interrupts if isinstance(i.value, dict)}
        approvals = {k: q for k, q in questions.items() if q.get("kind") == "approval"}
        if not approvals:
            return
        answers = (
            input.resume
            if isinstance(input.resume, dict) and set(input.resume) and set(input.resume) <= set(questions)
            else dict.fromkeys(approvals, input.resume)  # one value answers the pending question
        )
        for key, answer in answers.items():
            question = approvals.get(key)
            if question is None:
                continue
            pending = [c["id"] for c in question.get("calls") or []]
            problem = answer_problem(answer, pending)
            if problem is not None:
                raise RunRefused(f"cannot resume: {problem}; the question's answer_schema gives the shape")
            if (configurable := (config or {}).get("configurable") or {}).get("checkpoint_id"):
                await self._check_rerun(configurable, question, answer)

    async def _check_rerun(self, configurable: dict[str, Any], question: dict[str, Any], answer: Any) -> None:
        """Time travel: approving again, from an earlier checkpoint, a command that already has a result in
        this thread would run it a second time. Refused unless the answer says `"rerun": true`; rejecting
        it (or approving a read-only call) forks cleanly from there."""
        decisions = answer.get("decisions") or {}
        risky = {
            c["id"]: c["name"]
            for c in question.get("calls") or []
            if c.get("risk") in RERUN_RISKS
            and (decisions.get(c["id"]) or decisions.get("*") or {}).get("action") in {"approve", "edit"}
        }
        saver = self.checkpointer
        if not risky or answer.get("rerun") is True or not isinstance(saver, BaseCheckpointSaver):
            return
        thread: RunnableConfig = {"configurable": {"thread_id": configurable["thread_id"], "checkpoint_ns": ""}}
        ran: list[str] = []
        async for saved in saver.alist(thread):
            for _task, channel, value in saved.pending_writes or []:
                if channel != "messages":
                    continue
                for message in value if isinstance(value, list) else [value]:
                    if isinstance(message, ToolMessage) and message.tool_call_id in risky:
                        ran.append(message.tool_call_id)
        if ran:
            names = ", ".join(f"{risky[cid]} ({cid})" for cid in dict.fromkeys(ran))
            raise RunRefused(
                f"cannot resume from this checkpoint: {names} already has a result later in this thread, so "
                'approving it again would run it twice: reject it to fork from here, or add "rerun": true to '
                "the answer to run it again on purpose"
            )


def _head(config: Any) -> RunnableConfig:
    """The run's config pointing at the thread's latest checkpoint (a time-travel run moved it on)."""
    configurable = {k: v for k, v in ((config or {}).get("configurable") or {}).items() if k != "checkpoint_id"}
    return cast(RunnableConfig, {**(config or {}), "configurable": configurable})


def _title(input: Any) -> str:
    """The session title from a run's input: the first line of its first user message."""
    if not isinstance(input, dict) or not input.get("messages"):
        return ""
    try:
        messages = convert_to_messages(input["messages"])
    except (ValueError, TypeError, NotImplementedError):
        return ""
    for message in messages:
        if isinstance(message, HumanMessage) and isinstance(message.content, str) and message.content.strip():
            return message.content.strip().splitlines()[0][:80]
    return ""
