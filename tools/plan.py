"""plan_tool: the model's todo list, kept in graph state so it survives resume and undo."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from configs.schema import AgentConfig
from core.events import PlanUpdate
from tools.base import Risk, Tool, ToolContext, ToolResult


class Todo(BaseModel):
    id: str = Field(description="Stable id of the item, e.g. '1'.")
    content: str = Field(description="What to do, one short sentence.")
    status: Literal["pending", "in_progress", "completed"] = "pending"


class PlanArgs(BaseModel):
    todos: list[Todo] = Field(description="The whole plan; replaces the previous one.")


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
