"""Wires the nodes into the agent's state machine.

START -> llm_call -> (no tool calls) -> END
                  -> doom_loop_check -> approval -> execute_tools -> compaction -> llm_call
Nodes route themselves with Command[Literal[...]], so draw_mermaid() shows the true edges. The nodes
hold no dependencies: each run gets its AgentDeps as the runtime context (`context=deps`), so one
graph serves any deps (the main agent, the research sub-agent, Studio).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from core.budget import spend_of
from core.events import parse_event
from core.state import AgentState
from nodes.approval import approval
from nodes.compaction import compaction
from nodes.context import AgentDeps
from nodes.doom_loop import doom_loop_check
from nodes.execute_tools import execute_tools
from nodes.llm_call import llm_call
from tools.base import ToolContext
from tools.registry import ToolRegistry
from tools.research import RESEARCH_PROMPT, RunSubagent, make_research_tool, refuse_approval, research_tools


def entry(state: AgentState) -> Literal["llm_call", "compaction"]:
    return "compaction" if state.get("compact") == "manual" else "llm_call"


def build_graph() -> StateGraph[AgentState, AgentDeps, AgentState, AgentState]:
    """The agent's nodes and edges; every run must pass its AgentDeps as `context`."""
    builder = StateGraph(AgentState, context_schema=AgentDeps)
    builder.add_node("llm_call", llm_call)
    builder.add_node("doom_loop_check", doom_loop_check)
    builder.add_node("approval", approval)
    builder.add_node("execute_tools", execute_tools)
    builder.add_node("compaction", compaction)
    builder.add_conditional_edges(START, entry)
    builder.add_edge("approval", "execute_tools")
    builder.add_edge("execute_tools", "compaction")
    return builder


class AgentGraph(CompiledStateGraph[AgentState, AgentDeps, AgentState, AgentState]):
    """The compiled agent graph with default deps: a run that brings no AgentDeps as its `context` gets `deps`.

    The session runtime passes its deps on every run; callers that drive the graph directly do not: API
    clients resuming a thread pass nothing, and the `langgraph dev` server passes a dict of its own (the
    run's configurable). LangGraph 1.2 cannot bind a default context to a compiled graph, hence this."""

    def __init__(self, *, deps: AgentDeps, **fields: Any) -> None:
        super().__init__(**fields)
        self.deps = deps  # an attribute, so the copies Pregel.copy() makes (the server copies per run) keep it

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        return super().stream(*args, **self._with_deps(kwargs))

    def astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        return super().astream(*args, **self._with_deps(kwargs))

    def _with_deps(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return kwargs if isinstance(kwargs.get("context"), AgentDeps) else {**kwargs, "context": self.deps}


def compile_graph(deps: AgentDeps, checkpointer=None) -> AgentGraph:
    """The graph as the main agent (and Studio) runs it, with `deps` for runs that bring none."""
    compiled = build_graph().compile(checkpointer=checkpointer, name="ml-intern")
    fields = {k: v for k, v in compiled.__dict__.items() if k != "__orig_class__"}  # as Pregel.copy() does
    return AgentGraph(deps=deps, **fields)


def recursion_limit(max_iterations: int) -> int:
    """Supersteps a turn of `max_iterations` model calls may take (each takes at most 6), plus slack."""
    return max_iterations * 6 + 50


def with_research(deps: AgentDeps) -> AgentDeps:
    """Offer the main agent the `research` tool: a sub-agent built from the same graph (the composition root's job)."""
    if "research" not in deps.tools:
        deps.tools.add(make_research_tool(research_runner(deps), lambda: deps.settings.max_iterations))
    return deps


@functools.cache
def subagent_graph():
    """The graph a sub-agent runs (compiled once, on first use): no checkpointer, it keeps no history."""
    return build_graph().compile(checkpointer=False)


def research_runner(parent: AgentDeps) -> RunSubagent:
    """Run the research sub-agent for one question; `parent` is read at call time, so /model and /approval apply.

    The sub-agent is the same graph with its own deps: read-only tools, its own prompt and iteration cap,
    and approvals answered by a refusal (nobody can be asked from inside a running tool)."""

    async def run(question: str, max_iterations: int, ctx: ToolContext) -> dict[str, Any]:
        settings = parent.settings.model_copy(deep=True)
        settings.max_iterations = max_iterations
        if settings.budget.max_usd is not None:  # the sub-agent may spend what is left of the session's budget
            settings.budget.max_usd = max(1e-9, settings.budget.max_usd - spend_of(ctx.state.get("usage")).total_usd)
        sub = AgentDeps(
            settings=settings,
            model_id=parent.model_id,
            tools=ToolRegistry(research_tools(parent.tools)),
            workspace=parent.workspace,
            model=parent.model_handle(),
            approval_mode=parent.approval_mode,
            interactive=False,
            stream=parent.stream,
            credentials=parent.credentials,
            home=parent.home,
            agent_name="research",
            prompt_template=RESEARCH_PROMPT,
            ask_human=refuse_approval,
        )
        config: RunnableConfig = {
            "configurable": {"thread_id": ctx.session_dir.name},
            "recursion_limit": recursion_limit(max_iterations),
        }
        final: dict[str, Any] = {}
        async for mode, chunk in subagent_graph().astream(
            {"messages": [HumanMessage(question)]}, config, context=sub, stream_mode=["custom", "values"]
        ):
            if mode == "custom" and isinstance(chunk, dict):
                event = parse_event(chunk)
                if event is not None:
                    ctx.emit(event)
            elif mode == "values" and isinstance(chunk, dict):
                final = chunk
        return final

    return run
