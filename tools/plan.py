"""plan_tool: the model's todo list, kept in graph state so it survives resume and undo."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from configs.schema import AgentConfig
from core.events import PlanUpdate
from tools.base import Risk, Tool, ToolContext, ToolResult


class Todo(BaseModel):
    id: str = Field(description="Stable id of the item, e.g. '1'.", examples=["1"])
    content: str = Field(description="What to do, one short sentence.", examples=["Write train.py"])
    status: Literal["pending", "in_progress", "completed"] = "pending"


_STATUS = {
    "todo": "pending",
    "not_started": "pending",
    "open": "pending",
    "in progress": "in_progress",
    "in-progress": "in_progress",
    "doing": "in_progress",
    "active": "in_progress",
    "done": "completed",
    "complete": "completed",
    "finished": "completed",
}
_CONTENT_KEYS = ("content", "task", "description", "title", "text", "step", "name")


def _todo(item: Any, position: int) -> Any:
    """One todo as small models write it: a bare string, no id, the text under another key, "done"."""
    if isinstance(item, str):
        return {"id": str(position), "content": item}
    if not isinstance(item, dict):
        return item
    todo = dict(item)
    if "content" not in todo:
        key = next((k for k in _CONTENT_KEYS if isinstance(todo.get(k), str)), None)
        if key is not None:
            todo["content"] = todo.pop(key)
    if "id" not in todo:
        todo["id"] = str(position)
    elif isinstance(todo["id"], int):
        todo["id"] = str(todo["id"])
    status = todo.get("status")
    if isinstance(status, str):
        todo["status"] = _STATUS.get(status.strip().lower(), status.strip().lower())
    elif isinstance(status, bool):
        todo["status"] = "completed" if status else "pending"
    return todo


class PlanArgs(BaseModel):
    todos: list[Todo] = Field(description="The whole plan; replaces the previous one.")

    @model_validator(mode="before")
    @classmethod
    def _near_misses(cls, data: Any) -> Any:
        """Unambiguous repairs: todos as a list of strings (each becomes a pending item numbered from 1),
        items without an id, the text under "task"/"description", "done" for completed."""
        if isinstance(data, dict) and isinstance(data.get("todos"), list):
            return {**data, "todos": [_todo(item, i) for i, item in enumerate(data["todos"], 1)]}
        return data


def render_plan(todos: list[dict]) -> str:
    marks = {"pending": "[ ]", "in_progress": "[~]", "completed": "[x]"}
    return "\n".join(f"{marks.get(t['status'], '[ ]')} {t['id']}. {t['content']}" for t in todos) or "(empty plan)"


async def _plan(args: PlanArgs, ctx: ToolContext) -> ToolResult:
    todos = [t.model_dump() for t in args.todos]
    ids = [t["id"] for t in todos]
    if len(ids) != len(set(ids)):
        return ToolResult("Plan not saved: todo ids must be unique.", is_error=True)
    ctx.emit(PlanUpdate(todos=todos, agent=ctx.agent_name))
    return ToolResult(f"Plan updated:\n{render_plan(todos)}", state_update={"plan": todos})


def tools(settings: AgentConfig | None) -> list[Tool]:
    return [
        Tool(
            name="plan_tool",
            description=(
                "Keep a todo list for multi-step work. Send the whole list each time; mark one item "
                "in_progress while you work on it and completed as soon as it is done."
            ),
            risk=Risk.READ_ONLY,
            handler=_plan,
            args_model=PlanArgs,
        )
    ]
