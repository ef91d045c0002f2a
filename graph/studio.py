"""The graph as `langgraph dev` / LangGraph Studio loads it (see langgraph.json).

The server refuses a graph compiled with its own checkpointer, so this exports an uncompiled-saver
graph; persistence comes from langgraph.json's "checkpointer" (graph.checkpointer:make_saver).
Model and workspace come from the environment: ML_INTERN_MODEL (default: the config's model_name)
and ML_INTERN_WORKSPACE (default: the server's working directory). Studio runs ask for approval.
"""

from __future__ import annotations

import os
from pathlib import Path


def studio_deps():
    from configs.loader import load_config
    from graph.deps import AgentDeps
    from tools.registry import builtin_tools

    settings = load_config(os.environ.get("ML_INTERN_CONFIG") or None)
    return AgentDeps(
        settings=settings,
        model_id=os.environ.get("ML_INTERN_MODEL") or settings.model_name,
        tools=builtin_tools(settings),
        workspace=Path(os.environ.get("ML_INTERN_WORKSPACE") or Path.cwd()).resolve(),
        approval_mode=os.environ.get("ML_INTERN_APPROVAL") or settings.approval.mode or "ask",
        interactive=True,
    )


def studio_graph():
    """The compiled graph without a checkpointer; the model is built on first use."""
    from graph.builder import compile_graph

    return compile_graph(studio_deps())


def make_graph(config=None):
    """Factory named in langgraph.json."""
    return studio_graph()
