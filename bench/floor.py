"""LangGraph's own floor under a plain step: what a step would cost if our nodes, tools and model did nothing.

The same state schema (core.state.AgentState), the same saver (SQLite, opened as a session's is), the same
durability ("sync": every superstep saved before the next) and stream mode ("custom") as a session's turn,
and the same two supersteps per step: one node appends an assistant message with one call and writes as
many custom events as a plain step does, the other appends a ~2 KB tool result. Nothing else runs. The
steps figures minus this floor is what ml-intern's own code costs per step.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from typing import Any

from bench.harness import Sandbox
from bench.workload import window

EVENTS_PER_STEP = 7  # a plain step's custom events: stream end, message, usage, call, 2 tool states, output
RESULT = "x" * 2200  # a read's ~2.2 KB result


def graph(saver: Any, limit: int) -> Any:
    from langchain_core.messages import AIMessage, ToolMessage
    from langgraph.config import get_stream_writer
    from langgraph.graph import END, START, StateGraph

    from core.state import AgentState

    async def call(state: AgentState) -> dict[str, Any]:
        write = get_stream_writer()
        for _ in range(EVENTS_PER_STEP):
            write({"type": "usage"})
        i = state.get("iteration", 0)
        message = AIMessage("", tool_calls=[{"name": "read", "args": {"path": f"f{i}"}, "id": f"c{i}"}])
        return {"messages": [message], "iteration": i + 1}

    async def result(state: AgentState) -> dict[str, Any]:
        return {"messages": [ToolMessage(RESULT, tool_call_id=f"c{state.get('iteration', 0) - 1}")]}

    builder = StateGraph(AgentState)
    builder.add_node("llm_call", call)
    builder.add_node("execute_tools", result)
    builder.add_edge(START, "llm_call")
    builder.add_conditional_edges(
        "llm_call", lambda s: "execute_tools" if s.get("iteration", 0) <= limit else END, ["execute_tools", END]
    )
    builder.add_edge("execute_tools", "llm_call")
    return builder.compile(checkpointer=saver)


async def _run(sizes: list[int], saved: bool) -> list[float]:
    from langchain_core.messages import HumanMessage

    from persistence.checkpointer import open_saver

    longest = sizes[-1]
    with Sandbox() as sandbox:
        async with open_saver(sandbox.home) as saver:
            loop = graph(saver if saved else None, longest)
            config = {"configurable": {"thread_id": "floor"}, "recursion_limit": 4 * longest + 10}
            stamps: list[float] = []
            async for _ in loop.astream(
                {"messages": [HumanMessage("go")]}, config, stream_mode="custom", durability="sync" if saved else None
            ):
                stamps.append(time.process_time())
    firsts = stamps[::EVENTS_PER_STEP]  # the first event of each step
    return [b - a for a, b in itertools.pairwise(firsts)]


def per_step_ms(sizes: list[int], saved: bool = True) -> dict[int, float]:
    """Median CPU per step at each size (the last tenth before it, as the steps figures); `saved`: with the
    SQLite saver, else with no checkpointer at all (the loop alone)."""
    steps = asyncio.run(_run(sizes, saved))
    return {size: statistics.median(window(steps, size)) * 1000 for size in sizes}
