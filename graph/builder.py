"""Wires the nodes into the agent's state machine.

START -> llm_call -> (no tool calls) -> END
                  -> doom_loop_check -> approval -> execute_tools -> compaction -> llm_call
Nodes route themselves with Command[Literal[...]], so draw_mermaid() shows the true edges.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import START, StateGraph
from langgraph.types import interrupt

from core.events import parse_event
from core.state import AgentState
from nodes.approval import make_approval
from nodes.compaction import make_compaction
from nodes.context import AgentDeps
from nodes.doom_loop import make_doom_loop_check
from nodes.execute_tools import make_execute_tools
from nodes.llm_call import make_llm_call
from tools.base import ToolContext
from tools.registry import ToolRegistry
from tools.research import RESEARCH_PROMPT, RunSubagent, make_research_tool, refuse_approval, research_tools


def entry(state: AgentState) -> Literal["llm_call", "compaction"]:
    return "compaction" if state.get("compact") == "manual" else "llm_call"


def build_graph(deps: AgentDeps, ask_human=interrupt) -> StateGraph:
    """`ask_human` answers approvals: interrupt() in the main graph, a refusal in the research sub-agent."""
    builder = StateGraph(AgentState)
    builder.add_node("llm_call", make_llm_call(deps))
    builder.add_node("doom_loop_check", make_doom_loop_check(deps))
    builder.add_node("approval", make_approval(deps, ask_human))
    builder.add_node("execute_tools", make_execute_tools(deps))
    builder.add_node("compaction", make_compaction(deps))
    builder.add_conditional_edges(START, entry)
    builder.add_edge("approval", "execute_tools")
    builder.add_edge("execute_tools", "compaction")
    return builder


def compile_graph(deps: AgentDeps, checkpointer=None):
    return build_graph(deps).compile(checkpointer=checkpointer, name="ml-intern")


def recursion_limit(max_iterations: int) -> int:
    """Supersteps a turn of `max_iterations` model calls may take (each takes at most 6), plus slack."""
    return max_iterations * 6 + 50


def with_research(deps: AgentDeps) -> AgentDeps:
    """Offer the main agent the `research` tool: a sub-agent built from the same graph (the composition root's job)."""
    if "research" not in deps.tools:
        deps.tools.add(make_research_tool(research_runner(deps), lambda: deps.settings.max_iterations))
    return deps


def research_runner(parent: AgentDeps) -> RunSubagent:
    """Run the research sub-agent for one question; `parent` is read at call time, so /model and /approval apply."""

    async def run(question: str, max_iterations: int, ctx: ToolContext) -> dict[str, Any]:
        settings = parent.settings.model_copy(deep=True)
        settings.max_iterations = max_iterations
        sub = AgentDeps(
            settings=settings,
            model_id=parent.model_id,
            tools=ToolRegistry(research_tools(parent.tools)),
            workspace=parent.workspace,
            model=parent.model_handle(),
            approval_mode=parent.approval_mode,
            interactive=False,
            stream=parent.stream,
            home=parent.home,
            agent_name="research",
            prompt_template=RESEARCH_PROMPT,
        )
        graph = build_graph(sub, ask_human=refuse_approval).compile(checkpointer=False)
        config: RunnableConfig = {
            "configurable": {"thread_id": ctx.session_dir.name},
            "recursion_limit": recursion_limit(max_iterations),
        }
        final: dict[str, Any] = {}
        async for mode, chunk in graph.astream(
            {"messages": [HumanMessage(question)]}, config, stream_mode=["custom", "values"]
        ):
            if mode == "custom" and isinstance(chunk, dict):
                event = parse_event(chunk)
                if event is not None:
                    ctx.emit(event)
            elif mode == "values":
                final = chunk
        return final

    return run
