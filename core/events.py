"""Typed events: the only thing that flows from the engine back to a front end.

Nodes and tools write them to LangGraph's custom stream (so `langgraph dev` clients see them too);
the session runtime turns that stream back into these models. On the wire an event is
`{"type": ..., "session_id": ..., "data": {...}}`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from core.protocol import ToolState, TurnStatus


class Event(BaseModel):
    type: ClassVar[str] = "event"
    agent: str = "main"  # "research" etc. for sub-agent events

    def wire(self, session_id: str | None = None) -> dict[str, Any]:
        return {"type": self.type, "session_id": session_id, "data": self.model_dump(mode="json")}


class Processing(Event):
    type: ClassVar[str] = "processing"
    prompt: str = ""


class Ready(Event):
    type: ClassVar[str] = "ready"


class AssistantChunk(Event):
    type: ClassVar[str] = "assistant_chunk"
    content: str


class AssistantMessage(Event):
    type: ClassVar[str] = "assistant_message"
    content: str
    tool_calls: list[dict[str, Any]] = []


class AssistantStreamEnd(Event):
    type: ClassVar[str] = "assistant_stream_end"


class ToolCall(Event):
    type: ClassVar[str] = "tool_call"
    tool_call_id: str
    name: str
    args: dict[str, Any]


class ToolOutput(Event):
    type: ClassVar[str] = "tool_output"
    tool_call_id: str
    name: str
    content: str
    is_error: bool = False
    full_output_path: str | None = None


class ToolLog(Event):
    type: ClassVar[str] = "tool_log"
    tool_call_id: str | None = None
    line: str


class ToolStateChange(Event):
    type: ClassVar[str] = "tool_state_change"
    tool_call_id: str
    name: str
    state: ToolState


class ApprovalRequired(Event):
    type: ClassVar[str] = "approval_required"
    calls: list[dict[str, Any]]  # {id, name, args, risk, details}


class BudgetRequired(Event):
    """The turn waits at the session's budget: the next call would cross it (see core/budget.py)."""

    type: ClassVar[str] = "budget_required"
    message: str
    spent_usd: float
    estimate_usd: float
    max_budget_usd: float


class TurnComplete(Event):
    type: ClassVar[str] = "turn_complete"
    status: TurnStatus
    final_response: str = ""


class Error(Event):
    type: ClassVar[str] = "error"
    message: str
    kind: str = "agent"  # agent | provider | auth | config | doom_loop | compaction


class Interrupted(Event):
    type: ClassVar[str] = "interrupted"
    reason: str = "user"


class Compacted(Event):
    type: ClassVar[str] = "compacted"
    old_tokens: int
    new_tokens: int


class UndoComplete(Event):
    type: ClassVar[str] = "undo_complete"
    restored_files: list[str] = []
    skipped_files: list[str] = []  # left alone: their folder now leads outside the workspace
    kept_files: list[str] = []  # left alone: changed since the turn (undo with force restores them)
    originals: dict[str, str] = {}  # kept or skipped file -> where its version before the turn was saved
    removed_prompt: str = ""


class Shutdown(Event):
    type: ClassVar[str] = "shutdown"


class DoomLoop(Event):
    type: ClassVar[str] = "doom_loop"
    pattern: str
    repeats: int


class PlanUpdate(Event):
    type: ClassVar[str] = "plan_update"
    todos: list[dict[str, Any]]


class Usage(Event):
    type: ClassVar[str] = "usage"
    input_tokens: int
    output_tokens: int
    cost_usd: float
    context_tokens: int


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in Event.__subclasses__()  # type: ignore[misc]
}


def parse_event(payload: dict[str, Any]) -> Event | None:
    """Inverse of Event.wire (also accepts the bare {"type","data"} the graph streams)."""
    cls = EVENT_TYPES.get(payload.get("type", ""))
    if cls is None:
        return None
    return cls.model_validate(payload.get("data") or {})
