"""The graph as `langgraph dev` / LangGraph Studio loads it (see langgraph.json).

The server refuses a graph compiled with its own checkpointer, so this exports a graph without one;
persistence comes from langgraph.json's "checkpointer" (persistence.checkpointer:make_saver: SQLite under
ML_INTERN_HOME, or PostgreSQL with ML_INTERN_DATABASE_URL). Model and workspace come from the
environment: ML_INTERN_MODEL (default: the config's model_name) and ML_INTERN_WORKSPACE (default: the
server's working directory). Studio runs ask for approval unless ML_INTERN_APPROVAL or the config says yolo.

The server calls the factory once per run on its event loop, where reading config and files would
block; so the graph and its deps are built once, in a worker thread, and shared by every run.

Every run must get those deps as its runtime context, but the server hands a run a context of its own:
a dict copied from the run's configurable (thread id, assistant id, request headers), and LangGraph
1.2 has no default context to bind to a compiled graph. So the graph served here is a StudioGraph,
which runs every request with the Studio deps in place of the server's dict and declares no context
schema (an AgentDeps is built in this process, it cannot come over HTTP).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from core.state import AgentState
from graph.builder import build_graph, with_research
from nodes.context import AgentDeps

_built: StudioGraph | None = None
_build_lock: asyncio.Lock | None = None


def studio_deps() -> AgentDeps:
    """The deps of every Studio run: config, model and workspace from the server's environment."""
    from configs.loader import load_config
    from core import credentials
    from tools.registry import builtin_tools

    credentials.start()  # the server's entry into our code: keys out of its environment first

    settings = load_config(os.environ.get("ML_INTERN_CONFIG") or None)
    return AgentDeps(
        settings=settings,
        model_id=os.environ.get("ML_INTERN_MODEL") or settings.model_name,
        tools=builtin_tools(settings),
        workspace=Path(os.environ.get("ML_INTERN_WORKSPACE") or Path.cwd()).resolve(),
        approval_mode=os.environ.get("ML_INTERN_APPROVAL") or settings.approval.mode or "ask",
        interactive=True,
    )


class StudioGraph(CompiledStateGraph[AgentState, AgentDeps, AgentState, AgentState]):
    """The agent graph as `langgraph dev` serves it: every run gets `deps` as its context.

    It declares no context schema, so the server neither offers a context form nor tries to build an
    AgentDeps from its dict (the schemas it reports are those of a graph without one)."""

    def __init__(self, *, deps: AgentDeps, **fields: Any) -> None:
        super().__init__(**fields)
        self.deps = deps  # an attribute, so the copies the server makes (Pregel.copy) keep it

    def astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        """Every way the server runs the graph (runs, resumes, astream_events) comes through here."""
        return super().astream(*args, **{**kwargs, "context": self.deps})


def studio_graph() -> StudioGraph:
    """The compiled graph without a checkpointer, serving the Studio deps; the model is built on first use."""
    compiled = build_graph().compile(name="ml-intern")
    fields = {k: v for k, v in compiled.__dict__.items() if k != "__orig_class__"}  # as Pregel.copy() does
    return StudioGraph(deps=with_research(studio_deps()), **{**fields, "context_schema": None})


@asynccontextmanager
async def make_graph(config=None) -> AsyncIterator:
    """Factory named in langgraph.json: the shared graph, built on first use off the event loop."""
    global _built, _build_lock
    if _built is None:
        _build_lock = _build_lock or asyncio.Lock()
        async with _build_lock:
            if _built is None:
                _built = await asyncio.to_thread(studio_graph)
    yield _built


def graph_ascii(drawable) -> str:
    """The graph (`get_graph()`) drawn in ASCII. grandalf's layout cannot route an edge from a node to
    itself (llm_call retrying), so such loops are listed under the drawing instead."""
    from langchain_core.runnables.graph import Graph

    loops = [e for e in drawable.edges if e.source == e.target]
    plain = Graph(nodes=dict(drawable.nodes), edges=[e for e in drawable.edges if e.source != e.target])
    lines = [plain.draw_ascii().rstrip()]
    lines += [f"{e.source} also loops back to itself{' (conditional)' if e.conditional else ''}" for e in loops]
    lines.append(
        "(dotted lines: conditional routes; the drawing has no arrowheads, see `ml-intern graph` "
        "for the Mermaid source)"
    )
    return "\n".join(lines)
