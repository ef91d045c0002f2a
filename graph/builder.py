"""Wires the nodes into the agent's state machine.

START -> llm_call -> (no tool calls) -> END
                  -> doom_loop_check -> approval -> execute_tools -> compaction -> llm_call
Nodes route themselves with Command[Literal[...]], so draw_mermaid() shows the true edges.
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import START, StateGraph
from langgraph.types import interrupt

from graph.deps import AgentDeps
from graph.state import AgentState
from nodes.approval import make_approval
from nodes.compaction import make_compaction
from nodes.doom_loop import make_doom_loop_check
from nodes.execute_tools import make_execute_tools
from nodes.llm_call import make_llm_call


def entry(state: AgentState) -> Literal["llm_call", "compaction"]:
    return "compaction" if state.get("compact") == "manual" else "llm_call"


def build_graph(deps: AgentDeps, ask_human=interrupt, with_research: bool = True) -> StateGraph:
    """`ask_human` answers approvals (interrupt() in the main graph); the research sub-agent is a
    tool of the main graph only."""
    if with_research and "research" not in deps.tools:
        from graph.research import make_research_tool

        deps.tools.add(make_research_tool(deps))
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
