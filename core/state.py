"""The graph's state schema.

Every step is checkpointed, so a channel whose value grows with the session (the messages, the files
read) lives in a DeltaChannel: each checkpoint stores only that step's writes, and the value is rebuilt
from the writes since the last snapshot. A plain channel is stored whole in every checkpoint, which makes
storage quadratic in the session's length. History is rewritten (compaction, fork) with
`langgraph.types.Overwrite([...])`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, RemoveMessage, ToolCall, convert_to_messages
from langgraph.channels.delta import DeltaChannel
from langgraph.graph.message import REMOVE_ALL_MESSAGES

# typing_extensions' TypedDict, not typing's: on 3.11 pydantic refuses typing's, and the `langgraph dev` server then
# reports null input/output schemas (Studio shows no input form). Every nested TypedDict must be one too.
from typing_extensions import TypedDict

from core.protocol import AllowRule, CompactReason, StopReason

# Supersteps that write a delta channel between two snapshots of its whole value: in practice never. A
# snapshot re-stores the whole history (at a fixed interval, storage grows quadratically) and a resume
# deserializes it again on every read of the head; the SQLite walk back to the first write reads only
# metadata (persistence/savers.py). LangGraph still snapshots every 5,000 supersteps, and a compaction's
# Overwrite snapshots the shortened history. Measured in bench/README.md ("Snapshot policy").
SNAPSHOT_EVERY = 1_000_000


def append_messages(current: Sequence[BaseMessage], writes: Sequence[Any]) -> list[BaseMessage]:
    """Append-only reducer (batching-invariant, as DeltaChannel requires).

    Cost is independent of history length apart from one list copy: no id index is rebuilt per step.
    A RemoveMessage(REMOVE_ALL_MESSAGES) clears what came before it, like add_messages.
    """
    out: list[BaseMessage] = list(current)
    for write in writes:
        items = write if isinstance(write, list) else [write]
        for item in items:
            if isinstance(item, RemoveMessage) and item.id == REMOVE_ALL_MESSAGES:
                out = []
                continue
            message = item if isinstance(item, BaseMessage) else convert_to_messages([item])[0]
            if message.id is None:
                message.id = uuid.uuid4().hex
            out.append(message)
    return out


def add_usage(current: dict[str, Any] | None, delta: dict[str, Any] | None) -> dict[str, Any]:
    """Token and cost totals: every writer (model calls, compaction, the research sub-agent) adds its share."""
    out = dict(current or {})
    for key, value in (delta or {}).items():
        if isinstance(value, (int, float)):
            out[key] = out.get(key, 0) + value
    return out


def merge_files_read(current: dict[str, float], writes: Sequence[dict[str, float] | None]) -> dict[str, float]:
    """path -> mtime; a later read of a path wins. A fold of dict updates, so batching-invariant as
    DeltaChannel requires: one call with two steps' writes equals two calls."""
    out = dict(current)
    for write in writes:
        if write:
            out.update(write)
    return out


def append_turns(current: list[str], writes: Sequence[list[str] | None]) -> list[str]:
    """Undo points: each user turn appends the checkpoint id it starts from (batching-invariant)."""
    out = list(current)
    for write in writes:
        out.extend(write or [])
    return out


class DoomState(TypedDict, total=False):
    """The doom-loop check's bookkeeping for the current turn (see nodes.doom_loop)."""

    recent: list[str]  # signatures of the latest calls, oldest first (a window: nodes.doom_loop.window_size)
    total: int  # calls recorded in this turn
    checked: int  # of those, the calls the check has looked at
    warned: str | None  # the loop the model was warned about (its signatures joined by "|")
    repeats: int  # calls made since that warning
    pending_warning: str | None  # the warning to give the model after this step's results


class ApprovedCall(ToolCall, total=False):
    """A call cleared to run in this step, as approval hands it to execute_tools."""

    edited: bool  # the user edited its arguments before approving: `args` are theirs


def call_id(call: ToolCall) -> str:
    """A call's id. llm_call gives every call a unique one; LangChain's type allows None."""
    return call["id"] or ""


def last_ai_message(messages: Sequence[BaseMessage]) -> AIMessage:
    """The latest assistant message: the one whose calls this step is about."""
    for message in reversed(messages):
        if isinstance(message, AIMessage):
            return message
    raise ValueError("no assistant message to approve")


class AgentState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], DeltaChannel(append_messages, snapshot_frequency=SNAPSHOT_EVERY)]
    plan: list[dict[str, Any]]  # [{id, content, status}]
    usage: Annotated[dict[str, Any], add_usage]  # session totals (writers send deltas): tokens, cost_usd, calls
    context_tokens: int  # estimated size of the next prompt (kept incrementally)
    iteration: int  # model calls in the current user turn
    # checkpoint id before each user turn, the undo points; a turn writes only its own
    turns: Annotated[list[str], DeltaChannel(append_turns, snapshot_frequency=SNAPSHOT_EVERY)]
    doom: DoomState  # doom-loop bookkeeping (recent signatures, the streak warned about)
    # path -> mtime when read (edit needs it); grows with every file read, so only changes are stored
    files_read: Annotated[dict[str, float], DeltaChannel(merge_files_read, snapshot_frequency=SNAPSHOT_EVERY)]
    approved_calls: list[ApprovedCall]  # calls cleared to run in this step (set by approval)
    stop_reason: StopReason | None  # why the turn ended early: max_iterations, doom_loop, error:...
    compact: CompactReason | None  # a compaction is due regardless of size: "manual" (/compact) or "overflow"
    overflow_retry: bool  # a context-overflow compaction happened; the next overflow stops the turn
    nudges: int  # continuation re-prompts used in this turn
    malformed: dict[str, int]  # consecutive malformed-argument calls per tool
    session_allow: list[AllowRule]  # "always allow" answers given in this session (a few entries at most)
    # the session's dollar budget for this turn (core/budget.py): set when a turn starts (--max-budget-usd,
    # the config, /budget) and when a budget question is answered; unset, the deps' settings hold it
    max_budget_usd: float | None
