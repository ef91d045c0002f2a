"""The graph as `langgraph dev` / LangGraph Studio loads it (see langgraph.json).

The server refuses a graph compiled with its own checkpointer, so this exports a graph without one;
persistence comes from langgraph.json's "checkpointer" (persistence.checkpointer:make_saver: SQLite under
ML_INTERN_HOME, or PostgreSQL with ML_INTERN_DATABASE_URL). Model and workspace come from the
environment: ML_INTERN_MODEL (default: the config's model_name) and ML_INTERN_WORKSPACE (default: the
server's working directory). Studio runs ask for approval unless ML_INTERN_APPROVAL or the config says yolo.

The server calls the factory once per run on its event loop, where reading config and files would
block; so the graph and its deps are built once, in a worker thread, and shared by every run.

Every run must get those deps as its runtime context, but the server hands a run a context of its own:
a dict copied from the run's configurable (thread id, assistant id, request headers). The graph served
is an AgentGraph (graph.builder), which runs with its own deps when a run brings none.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from graph.builder import compile_graph, with_research
from graph.studio_runs import StudioGraph
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


def studio_graph() -> StudioGraph:
    """The compiled graph without a checkpointer, running with the Studio deps, each run a session's turn
    (graph.studio_runs); the model is built on first use. It declares no context schema, so the server
    neither offers a context form nor tries to build an AgentDeps from its dict (the schemas it reports
    are those of a graph without one)."""
    compiled = compile_graph(with_research(studio_deps()))
    fields = {k: v for k, v in compiled.__dict__.items() if k not in {"__orig_class__", "context_schema"}}
    return StudioGraph(**fields, context_schema=None)


async def shared_graph() -> StudioGraph:
    """The graph every run shares, built on first use off the event loop."""
    global _built, _build_lock
    if _built is None:
        _build_lock = _build_lock or asyncio.Lock()
        async with _build_lock:
            if _built is None:
                _built = await asyncio.to_thread(studio_graph)
    return _built


@asynccontextmanager
async def make_graph(config=None) -> AsyncIterator:
    """Factory named in langgraph.json: the shared graph. (The server loads this file as a module of its own,
    so the routes of graph.studio_http build their own copy of the graph through `shared_graph`.)"""
    yield await shared_graph()


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
