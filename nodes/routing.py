"""Routing past idle nodes: a plain step is llm_call -> execute_tools -> llm_call.

Every superstep writes a checkpoint (its rows and a commit), so visiting a node only for it to pass the
step on costs as much as a node that works. These functions read the state and send a step only to the
nodes that have work: doom_loop_check when the recent calls repeat or a warned streak is followed,
approval when a call must be asked about or refused, compaction when it is asked for or the context is
over the threshold. Each node keeps its whole behaviour and every edge stays drawn (the Literal types).
"""

from __future__ import annotations

from typing import Literal

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from core.state import AgentState
from nodes.approval import route_calls
from nodes.compaction import is_due
from nodes.context import AgentDeps
from nodes.doom_loop import has_work


def after_model(
    state: AgentState, response: AIMessage, deps: AgentDeps
) -> tuple[Literal["doom_loop_check", "approval", "execute_tools"], AgentState]:
    """Where the model's calls go (`state` is the one before the call: the doom-loop bookkeeping and the
    session's "always allow" answers it holds are what doom_loop_check and approval would read), with the
    update that goes along."""
    if has_work(state.get("doom") or {}, deps):
        return "doom_loop_check", {}
    return route_calls(response, deps, state)


async def after_tools(state: AgentState, runtime: Runtime[AgentDeps]) -> Literal["compaction", "llm_call"]:
    """After a step's results: compaction when it is due, else straight back to the model. (Async: LangGraph
    runs a synchronous routing function of an async run in a thread pool, ~0.2 ms a step.)"""
    return "compaction" if is_due(state, runtime.context) else "llm_call"
