"""The graph's state schema.

`messages` lives in a DeltaChannel: each checkpoint stores only that step's new messages, so the
database grows linearly with the session instead of re-storing the whole list at every step.
History is rewritten (compaction, fork) with `langgraph.types.Overwrite([...])`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, RemoveMessage, ToolCall, convert_to_messages
from langgraph.channels.delta import DeltaChannel
from langgraph.graph.message import REMOVE_ALL_MESSAGES
from typing_extensions import TypedDict as SchemaTypedDict  # pydantic reads these on 3.11 (Studio's schemas)

from core.protocol import CompactReason, StopReason


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


def merge_dicts(current: dict[str, Any] | None, update: dict[str, Any] | None) -> dict[str, Any]:
    return {**(current or {}), **(update or {})}


class DoomState(SchemaTypedDict, total=False):
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
    messages: Annotated[list[AnyMessage], DeltaChannel(append_messages, snapshot_frequency=500)]
    plan: list[dict[str, Any]]  # [{id, content, status}]
    usage: Annotated[dict[str, Any], add_usage]  # session totals (writers send deltas): tokens, cost_usd, calls
    context_tokens: int  # estimated size of the next prompt (kept incrementally)
    iteration: int  # model calls in the current user turn
    turns: list[str]  # checkpoint id before each user turn: the undo points
    doom: DoomState  # doom-loop bookkeeping (recent signatures, the streak warned about)
    files_read: Annotated[dict[str, float], merge_dicts]  # path -> mtime when read (edit needs it)
    approved_calls: list[ApprovedCall]  # calls cleared to run in this step (set by approval)
    stop_reason: StopReason | None  # why the turn ended early: max_iterations, doom_loop, error:...
    compact: CompactReason | None  # a compaction is due regardless of size: "manual" (/compact) or "overflow"
    overflow_retry: bool  # a context-overflow compaction happened; the next overflow stops the turn
    nudges: int  # continuation re-prompts used in this turn
    malformed: dict[str, int]  # consecutive malformed-argument calls per tool
