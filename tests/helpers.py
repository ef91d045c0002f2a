"""Helpers the tests share: the real CLI binary, replay scripts, an in-process agent, event filters.

Fixtures live in conftest.py; test modules import these functions from here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent  # tests/: fakes, MCP servers and replay scripts live here
ROOT = TESTS.parent
BIN = Path(sys.executable).parent / "ml-intern"


def write_replay(path: Path, turns: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(t) + "\n" for t in turns))
    return path


def call(name: str, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {"name": name, "args": args, "id": call_id}


def run_cli(
    args: list[str], cwd: Path, input: str | None = None, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(BIN), *args], cwd=cwd, input=input, capture_output=True, text=True, timeout=timeout, env=full_env
    )


@asynccontextmanager
async def open_agent(
    model_id: str,
    workspace: Path,
    approval_mode: str = "yolo",
    extra_tools=(),
    settings: dict[str, Any] | None = None,
    interactive: bool = False,
    builtin: bool = True,
):
    from configs.loader import load_config
    from graph.session import SessionManager
    from nodes.context import AgentDeps
    from tools.registry import ToolRegistry, builtin_tools

    config = load_config(overrides=settings or {})
    registry = builtin_tools(config) if builtin else ToolRegistry()
    for tool in extra_tools:
        registry.add(tool)
    deps = AgentDeps(
        settings=config,
        model_id=model_id,
        tools=registry,
        workspace=workspace,
        approval_mode=approval_mode,
        interactive=interactive,
    )
    async with SessionManager.open(deps) as agent:
        yield agent


async def run_turn(model, workspace, tools=(), prompt="go", builtin: bool = False, **kw):
    """One turn in a new session: (events, messages, session)."""
    async with open_agent(model, workspace, extra_tools=tools, builtin=builtin, **kw) as agent:
        session = await agent.new_session()
        events = await collect(session.run(prompt))
        return events, await session.messages(), session


async def collect(events) -> list:
    return [e async for e in events]


def of_type(events, kind: str) -> list:
    return [e for e in events if e.type == kind]
