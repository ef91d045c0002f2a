"""The ground every benchmark stands on: a throw-away ML_INTERN_HOME, replay scripts with zero delay
(so only our code is timed), in-process agents, clock tools, and the real `ml-intern` binary.

Nothing here touches the user's ~/.ml-intern, config or database: each Sandbox points ML_INTERN_HOME,
XDG_CONFIG_HOME and HF_HOME at a temporary folder and removes provider keys and ML_INTERN_DATABASE_URL
(a benchmark that wants PostgreSQL passes a URL explicitly).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HIDDEN_VARS = (
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "GITHUB_TOKEN",
    "ML_INTERN_DATABASE_URL",
    "ML_INTERN_TEST_DATABASE_URL",
)
USAGE = {"input_tokens": 1000, "output_tokens": 10}  # given, so the replay model never re-counts the history


class Sandbox:
    """A temporary home for one benchmark; sets the process environment while it is open."""

    def __init__(self, database_url: str | None = None):
        self.database_url = database_url
        self.root = Path(tempfile.mkdtemp(prefix="ml-intern-bench-"))
        self.home = self.root / "home"
        self.workspace = self.root / "ws"
        self.workspace.mkdir()
        self._saved: dict[str, str | None] = {}
        self._scripts = 0

    def env(self) -> dict[str, str]:
        """The environment for subprocesses (the CLI) run inside this sandbox."""
        env = {k: v for k, v in os.environ.items() if k not in HIDDEN_VARS}
        env.update(
            ML_INTERN_HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.root / "xdg"),
            HF_HOME=str(self.root / "hf"),
            LANGGRAPH_NO_VERSION_CHECK="true",
        )
        if self.database_url:
            env["ML_INTERN_DATABASE_URL"] = self.database_url
        # A user's normal interpreter caches bytecode; this shell's PYTHONDONTWRITEBYTECODE would make
        # every start recompile the project's modules and time that instead.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env

    def __enter__(self) -> Sandbox:
        wanted = self.env()
        for key in {*HIDDEN_VARS, "ML_INTERN_HOME", "XDG_CONFIG_HOME", "HF_HOME"}:
            self._saved[key] = os.environ.get(key)
            if key in wanted:
                os.environ[key] = wanted[key]
            else:
                os.environ.pop(key, None)
        return self

    def __exit__(self, *exc) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(self.root, ignore_errors=True)

    def script(self, turns: Iterable[dict[str, Any]]) -> str:
        """Write a replay script; returns the `replay:PATH` model id."""
        self._scripts += 1
        path = self.root / f"script{self._scripts}.jsonl"
        with path.open("w") as f:
            for turn in turns:
                f.write(json.dumps(turn) + "\n")
        return f"replay:{path}"


def call_turn(name: str, args: dict[str, Any], call_id: str, usage: dict | None = USAGE) -> dict[str, Any]:
    """One scripted model reply that makes one tool call."""
    turn: dict[str, Any] = {"tool_calls": [{"name": name, "args": args, "id": call_id}]}
    if usage:
        turn["usage"] = usage
    return turn


def answer_turn(text: str = "done", usage: dict | None = USAGE) -> dict[str, Any]:
    turn: dict[str, Any] = {"content": text}
    if usage:
        turn["usage"] = usage
    return turn


def steps_script(n: int, tool: str = "tick", usage: dict | None = USAGE, prefix: str = "c") -> list[dict[str, Any]]:
    """n steps of one call each (distinct arguments, so the doom-loop check never fires), then an answer."""
    return [call_turn(tool, {"i": i}, f"{prefix}{i}", usage) for i in range(n)] + [answer_turn(usage=usage)]


def filler(seed: Any, size: int) -> str:
    """`size` characters of deterministic, incompressible text (base64 of seeded random bytes).

    Incompressible on purpose: PostgreSQL compresses large values (TOAST), so a repeated character would
    make its storage look ~50x smaller than real tool output; this is the conservative end."""
    raw = random.Random(str(seed)).randbytes(size * 3 // 4 + 3)
    return base64.b64encode(raw).decode()[:size]


@dataclass
class ClockTool:
    """An in-process tool that stamps wall and CPU time when a call starts and ends.

    The gap between one call's end and the next call's start is the engine's overhead for a step:
    model call (replay, zero delay), checkpoints, doom-loop check, approval, compaction check.
    """

    name: str = "tick"
    output_bytes: int = 0  # extra output per call (storage benchmarks use 2 KB), see filler()
    sleep_s: float = 0.0
    starts: list[tuple[float, float]] = field(default_factory=list)  # (perf_counter, process_time)
    ends: list[tuple[float, float]] = field(default_factory=list)

    def tool(self):
        from tools.base import Risk, Tool

        async def handler(args, ctx):
            self.starts.append((time.perf_counter(), time.process_time()))
            if self.sleep_s:
                await asyncio.sleep(self.sleep_s)
            text = f"ok {args.get('i')}" + (" " + filler(args.get("i"), self.output_bytes) if self.output_bytes else "")
            self.ends.append((time.perf_counter(), time.process_time()))
            return text

        return Tool(
            name=self.name,
            description="Benchmark tool.",
            risk=Risk.READ_ONLY,
            handler=handler,
            parameters={"type": "object", "properties": {"i": {"type": "integer"}}},
        )

    def reset(self) -> None:
        self.starts.clear()
        self.ends.clear()

    def gaps(self) -> tuple[list[float], list[float]]:
        """Per-step overhead in seconds, wall and CPU: end of call k to start of call k+1."""
        wall = [s[0] - e[0] for e, s in zip(self.ends, self.starts[1:], strict=False)]
        cpu = [s[1] - e[1] for e, s in zip(self.ends, self.starts[1:], strict=False)]
        return wall, cpu


def load_settings(overrides: dict[str, Any] | None = None):
    from configs.loader import load_config

    return load_config(overrides=overrides or {})


@asynccontextmanager
async def open_agent(
    sandbox: Sandbox,
    model_id: str,
    tools: Iterable[Any] = (),
    settings: dict[str, Any] | None = None,
    builtin: Iterable[str] = (),
) -> AsyncIterator[Any]:
    """A SessionManager on the sandbox's database with the given tools (plus named built-in tool modules)."""
    from graph.session import SessionManager
    from nodes.context import AgentDeps
    from tools.registry import ToolRegistry, builtin_tools

    config = load_settings(settings)
    registry = builtin_tools(config, list(builtin)) if builtin else ToolRegistry()
    for tool in tools:
        registry.add(tool)
    deps = AgentDeps(
        settings=config,
        model_id=model_id,
        tools=registry,
        workspace=sandbox.workspace,
        approval_mode="yolo",
        home=sandbox.home,
    )
    async with SessionManager.open(deps) as agent:
        yield agent


async def drain(events: AsyncIterator[Any]) -> list[Any]:
    return [event async for event in events]


async def timed_events(events: AsyncIterator[Any]) -> list[tuple[float, Any]]:
    """Every event of a turn with the perf_counter time it reached the front end."""
    return [(time.perf_counter(), event) async for event in events]


def turn_status(events: list[Any]) -> str:
    for event in reversed(events):
        event = event[1] if isinstance(event, tuple) else event
        if event.type == "turn_complete":
            return event.status
    return "no turn_complete"


def require_done(events: list[Any], what: str) -> None:
    """A benchmark whose turn did not finish measured something else: stop with the reason."""
    status = turn_status(events)
    if status != "done":
        errors = [e.message for e in (x[1] if isinstance(x, tuple) else x for x in events) if e.type == "error"]
        raise RuntimeError(f"{what}: the turn ended with '{status}' {errors[:2]}")


# -- the real binary -------------------------------------------------------------------------------


def cli_command() -> list[str]:
    """The installed `ml-intern` console script of this interpreter's environment."""
    script = Path(sys.executable).parent / "ml-intern"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "cli.main"]


def time_command(
    argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 120, stdin: str | None = None
) -> float:
    """Wall time of one subprocess run (it must succeed)."""
    started = time.perf_counter()
    result = subprocess.run(
        argv,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin if stdin is not None else "",
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"`{' '.join(argv[-3:])}` exited {result.returncode}: {' | '.join(tail)}")
    return elapsed


def interleaved(
    commands: dict[str, tuple[list[str], dict[str, str]]], repeats: int, cwd: Path, warmup: int = 1
) -> dict[str, list[float]]:
    """Run each (argv, env) `repeats` times, round-robin, so a burst of load hits all of them alike."""
    for _ in range(warmup):
        for argv, env in commands.values():
            time_command(argv, env, cwd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, (argv, env) in commands.items():
            times[name].append(time_command(argv, env, cwd))
    return times
