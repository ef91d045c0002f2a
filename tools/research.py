"""The `research` tool: a sub-agent with its own context that answers one question with read-only tools.

The sub-agent is the same state machine as the main agent, built by the graph layer and handed in
as `run` (tools never import the graph): a smaller tool set, its own iteration cap, a capped report.
Its events reach the front end tagged agent="research". Its calls go through the same approval
policy: a call the policy would ask about cannot be asked from inside a running tool, so it is
refused (never run silently) and the model is told to do it from the main agent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.messages import AIMessage
from pydantic import BaseModel, Field

from core.protocol import ApprovalAnswer, ApprovalQuestion, BudgetQuestion, DoomLoopQuestion
from tools.base import Risk, Tool, ToolContext, ToolResult

RESEARCH_PROMPT = """You are a research assistant working for an ML engineer's agent, in the workspace \
{workspace}. Answer the question you are given using your read-only tools (files, docs, papers, datasets, code \
search). Be thorough but efficient: look things up, verify, then stop. Your final answer is a concise report: \
the answer first, then the evidence (file paths with line numbers, URLs, paper ids, exact numbers). You cannot \
change anything and you cannot ask the user questions."""

REPORT_CAP = 8000
MAX_ITERATIONS = 30


class ResearchArgs(BaseModel):
    question: str = Field(description="The question to research, with any context the sub-agent needs.")
    max_iterations: int | None = Field(None, description=f"Model calls allowed (default {MAX_ITERATIONS}).")


# (question, model-call cap, the calling tool's context) -> the sub-agent's final state values
RunSubagent = Callable[[str, int, ToolContext], Awaitable[dict[str, Any]]]


def research_tools(parent_tools) -> list[Tool]:
    """The tools the sub-agent may use: read-only ones, without itself or the plan."""
    return [t for t in parent_tools if t.risk == Risk.READ_ONLY and t.name not in {"research", "plan_tool"}]


def refuse_approval(payload: ApprovalQuestion | DoomLoopQuestion | BudgetQuestion) -> ApprovalAnswer:
    """The sub-agent's answer to an approval question: no (nobody can be asked from inside a tool)."""
    reason = (
        "The research sub-agent cannot ask the user for approval; this call needs approval under the current "
        "policy. Report that it is needed so the main agent can do it."
    )
    # a sub-agent is never asked about loops; a budget question answered without "raise" stops it
    calls = payload["calls"] if payload["kind"] == "approval" else []
    return {"decisions": {c["id"]: {"action": "reject", "feedback": reason} for c in calls}}


def report_of(final: dict[str, Any]) -> ToolResult:
    """The sub-agent's last answer, capped, with what it cost; its tokens count for the session."""
    messages = final.get("messages", [])
    report = next((str(m.content) for m in reversed(messages) if isinstance(m, AIMessage) and m.content), "")
    stop = final.get("stop_reason")
    if len(report) > REPORT_CAP:
        report = report[:REPORT_CAP] + f"\n[report truncated at {REPORT_CAP} characters]"
    if stop:
        report = f"[research stopped early: {stop}]\n{report}".strip()
    calls = sum(len(m.tool_calls) for m in messages if isinstance(m, AIMessage))
    return ToolResult(
        f"{report or '(no report)'}\n\n[research: {final.get('iteration', 0)} model calls, {calls} tool calls]",
        is_error=bool(stop) and not report,
        state_update={"usage": final.get("usage") or {}},
    )


def make_research_tool(run: RunSubagent, max_iterations: Callable[[], int]) -> Tool:
    """`max_iterations()` is the main agent's cap, read at call time (so a changed setting applies)."""

    async def handler(args: ResearchArgs, ctx: ToolContext) -> ToolResult:
        cap = min(args.max_iterations or MAX_ITERATIONS, max_iterations())
        return report_of(await run(args.question, cap, ctx))

    return Tool(
        name="research",
        description=(
            "Delegate a research question to a sub-agent with its own context and read-only tools "
            "(files, docs, papers, datasets, code search). Returns a concise report. Use it for "
            "open-ended lookups that would fill your context."
        ),
        risk=Risk.READ_ONLY,
        handler=handler,
        args_model=ResearchArgs,
    )
