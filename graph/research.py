"""The `research` tool: a sub-agent with its own context that answers one question with read-only tools.

It is the same state machine (llm_call, doom_loop_check, approval, execute_tools, compaction) built
as a subgraph with a smaller tool set, its own iteration cap and a capped report. Its events reach
the front end tagged agent="research". Its calls go through the same approval policy: a call the
policy would ask about cannot be asked from inside a running tool, so it is refused (never run
silently) and the model is told to do it from the main agent.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel, Field

from graph.events import parse_event
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


def research_tools(parent_tools) -> list[Tool]:
    return [t for t in parent_tools if t.risk == Risk.READ_ONLY and t.name not in {"research", "plan_tool"}]


def refuse_approval(payload: dict[str, Any]) -> dict[str, Any]:
    reason = ("The research sub-agent cannot ask the user for approval; this call needs approval under the current "
              "policy. Report that it is needed so the main agent can do it.")
    return {"decisions": {c["id"]: {"action": "reject", "feedback": reason} for c in payload["calls"]}}


def make_research_tool(parent) -> Tool:
    """`parent` is the main agent's AgentDeps; read at call time, so /model and /approval apply."""

    async def handler(args: ResearchArgs, ctx: ToolContext) -> ToolResult:
        from graph.builder import build_graph
        from graph.deps import AgentDeps
        from tools.registry import ToolRegistry

        settings = parent.settings.model_copy(deep=True)
        settings.max_iterations = min(args.max_iterations or MAX_ITERATIONS, parent.settings.max_iterations)
        sub = AgentDeps(settings=settings, model_id=parent.model_id, tools=ToolRegistry(research_tools(parent.tools)),
                        workspace=parent.workspace, model=parent.handle(), approval_mode=parent.approval_mode,
                        interactive=False, stream=parent.stream, home=parent.home, agent="research",
                        prompt_template=RESEARCH_PROMPT)
        graph = build_graph(sub, ask_human=refuse_approval, with_research=False).compile(checkpointer=False)
        config = {"configurable": {"thread_id": ctx.session_dir.name},
                  "recursion_limit": settings.max_iterations * 6 + 20}
        final: dict[str, Any] = {}
        async for mode, chunk in graph.astream({"messages": [HumanMessage(args.question)]}, config,
                                               stream_mode=["custom", "values"]):
            if mode == "custom" and isinstance(chunk, dict):
                event = parse_event(chunk)
                if event is not None:
                    ctx.emit(event)
            elif mode == "values":
                final = chunk
        messages = final.get("messages", [])
        report = next((str(m.content) for m in reversed(messages) if isinstance(m, AIMessage) and m.content), "")
        stop = final.get("stop_reason")
        if len(report) > REPORT_CAP:
            report = report[:REPORT_CAP] + f"\n[report truncated at {REPORT_CAP} characters]"
        if stop:
            report = f"[research stopped early: {stop}]\n{report}".strip()
        calls = sum(len(m.tool_calls) for m in messages if isinstance(m, AIMessage))
        return ToolResult(f"{report or '(no report)'}\n\n[research: {final.get('iteration', 0)} model calls, "
                          f"{calls} tool calls]", is_error=bool(stop) and not report,
                          state_update={"usage": final.get("usage") or {}})  # its tokens count for the session

    return Tool(
        name="research",
        description=("Delegate a research question to a sub-agent with its own context and read-only tools "
                     "(files, docs, papers, datasets, code search). Returns a concise report. Use it for "
                     "open-ended lookups that would fill your context."),
        risk=Risk.READ_ONLY,
        handler=handler,
        args_model=ResearchArgs,
    )
