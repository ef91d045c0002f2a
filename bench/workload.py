"""The real-tools workload that `steps` and `storage` share: one session whose every step is one call of a
real built-in tool that updates the graph state, as a working agent's do.

A step is, in a cycle of eight: five `read`s of a different ~2 KB file each (files_read grows with every
file), one `write` of a new ~2 KB file, one `edit` of a file read six steps before (edit needs the read),
one `plan_tool` update. The session is one turn per measured size (10, 100, 300, 1,000 steps): between
turns the checkpoint tables are measured, so storage "after 300 steps" and CPU "at 300 steps" come from
the same run as "after 1,000". The tools are wrapped to stamp the wall and CPU clocks when each call
starts and ends; a step is start to start (model call, checkpoints, the other nodes, the tool itself).

A run is cached per backend for the process: `--only steps,storage` measures each session once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import Sandbox, answer_turn, call_turn, drain, filler, open_agent, require_done

LINES, LINE_CHARS = 32, 60  # a read returns ~2.2 KB: 32 numbered lines of 60 characters
TOOLS = ("tools.files", "tools.plan")
CYCLE = 8


def data_file(i: int) -> str:
    return f"data/f{i:04d}.txt"


def line_of(i: int, j: int) -> str:
    return filler(f"{i}-{j}", LINE_CHARS)


def prepare(workspace: Path, steps: int) -> None:
    """The files the steps read and edit (one per step, whether or not the step reads it)."""
    folder = workspace / "data"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(steps):
        (workspace / data_file(i)).write_text("\n".join(line_of(i, j) for j in range(LINES)) + "\n")


def tool_step(i: int) -> dict[str, Any]:
    """The scripted model reply of step i (0-based): one call, distinct arguments (no doom loop)."""
    kind = i % CYCLE
    if kind < 5:
        return call_turn("read", {"path": data_file(i)}, f"r{i}")
    if kind == 5:
        return call_turn("write", {"path": f"out/w{i:04d}.txt", "content": filler(("w", i), 2000)}, f"w{i}")
    if kind == 6:  # step i - 6 read this file
        args = {"path": data_file(i - 6), "old_str": line_of(i - 6, 0), "new_str": f"edited at step {i}"}
        return call_turn("edit", args, f"e{i}")
    todos = [
        {"id": "1", "content": "read the data files", "status": "completed"},
        {"id": "2", "content": f"summarise files up to {i}", "status": "completed"},
        {"id": "3", "content": "write the report", "status": "completed"},
    ]  # all completed: an open item would make the turn's answer re-prompt the model
    return call_turn("plan_tool", {"todos": todos}, f"p{i}")


def script(sizes: list[int], start: int = 0) -> list[dict[str, Any]]:
    """One turn per size: steps up to sizes[0], then up to sizes[1]..., each turn ended by an answer."""
    lines: list[dict[str, Any]] = []
    done = start
    for size in sizes:
        lines += [tool_step(i) for i in range(done, start + size)] + [answer_turn(f"done {size}")]
        done = start + size
    return lines


@dataclass
class Stamps:
    starts: list[tuple[float, float]] = field(default_factory=list)  # (perf_counter, process_time)
    ends: list[tuple[float, float]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def stamped(registry, stamps: Stamps) -> None:
    """Wrap every tool of `registry` so each call stamps the clocks at its start and end."""
    for tool in list(registry):
        handler = tool.handler

        async def clocked(args, ctx, handler=handler):
            stamps.starts.append((time.perf_counter(), time.process_time()))
            try:
                return await handler(args, ctx)
            except Exception as exc:
                stamps.failed.append(f"{ctx.call_id}: {exc}")
                raise
            finally:
                stamps.ends.append((time.perf_counter(), time.process_time()))

        registry.add(dataclasses.replace(tool, handler=clocked))


@dataclass
class Run:
    """One measured session: clock stamps of every call, and the checkpoint bytes after each size."""

    backend: str
    sizes: list[int]
    step_wall: list[float]  # seconds, start of call k to start of call k+1
    step_cpu: list[float]
    engine_cpu: list[float]  # end of call k to start of call k+1: the step without the tool
    inside: list[int]  # indexes of the values within one turn (the others span a turn's end and the next start)
    thread_bytes: dict[int, int]  # size -> the session's bytes in the checkpoint tables
    channel_bytes: dict[int, Counter]  # size -> bytes per channel (when accounted)
    extra: dict[int, dict[str, float]]  # size -> backend figures (database file, relation sizes)
    turn_seconds: dict[int, float]  # size -> wall time of the turn that reached it


def window(values: list[float], upto: int) -> list[float]:
    """The per-step values of the steps just before step `upto` (value k sits between calls k+1 and k+2):
    the last tenth, at least 9, so "at 300 steps" is a median over steps 270-299 of the same run."""
    width = max(9, upto // 10)
    end = min(upto - 1, len(values))
    return values[max(0, end - width) : end]


async def _run(sandbox: Sandbox, sizes: list[int], measure, account: bool, delete: bool) -> Run:
    from bench.harness import load_settings
    from tools.registry import builtin_tools

    longest = sizes[-1]
    warm_start = (longest // CYCLE + 1) * CYCLE  # a whole cycle, so its edit follows its read
    prepare(sandbox.workspace, warm_start + CYCLE)
    settings = {"max_iterations": longest + 10}
    registry = builtin_tools(load_settings(settings), list(TOOLS))
    stamps = Stamps()
    stamped(registry, stamps)
    warm = sandbox.script(script([CYCLE], start=warm_start))  # first-use costs (imports, first bind) stay out
    async with open_agent(sandbox, warm, tools=registry, settings=settings) as agent:
        session = await agent.new_session()
        warm_id = session.id
        require_done(await drain(session.run("warm up")), "warm-up")
        stamps.starts.clear()
        stamps.ends.clear()
        agent.deps.model_id = sandbox.script(script(sizes))  # a replay cursor is per session and script
        session = await agent.new_session()
        thread_bytes: dict[int, int] = {}
        channel_bytes: dict[int, Counter] = {}
        extra: dict[int, dict[str, float]] = {}
        turn_seconds: dict[int, float] = {}
        boundaries = []
        for size in sizes:
            started = time.perf_counter()
            events = await drain(session.run(f"work up to step {size}"))
            turn_seconds[size] = time.perf_counter() - started
            require_done(events, f"the turn up to step {size}")
            if stamps.failed:
                raise RuntimeError(f"a tool call failed: {stamps.failed[0]}")
            boundaries.append(len(stamps.starts))
            thread_bytes[size], channels, extra[size] = await asyncio.to_thread(measure, session.id, account)
            if channels is not None:
                channel_bytes[size] = channels
        if delete:  # measured on the user's database: leave nothing behind
            await agent.delete_session(session.id)
            await agent.delete_session(warm_id)
    if len(stamps.starts) != longest:
        raise RuntimeError(f"{len(stamps.starts)} tool calls ran, expected {longest}")
    starts, ends = stamps.starts, stamps.ends
    wall = [b[0] - a[0] for a, b in itertools.pairwise(starts)]
    cpu = [b[1] - a[1] for a, b in itertools.pairwise(starts)]
    engine = [s[1] - e[1] for e, s in zip(ends, starts[1:], strict=False)]
    crossing = set(boundaries[:-1])  # value k-1 spans the end of one turn and the start of the next
    inside = [k for k in range(len(cpu)) if k + 1 not in crossing]
    return Run("", sizes, wall, cpu, engine, inside, thread_bytes, channel_bytes, extra, turn_seconds)


_CACHE: dict[tuple[str, tuple[int, ...]], list[Run]] = {}


def backends(quick: bool) -> list[tuple[str, str | None, list[int], int]]:
    """(backend, database URL, sizes, runs) to measure. PostgreSQL when ML_INTERN_TEST_DATABASE_URL (a role
    that may create databases: each run gets a fresh one) or ML_INTERN_DATABASE_URL (the session is deleted
    afterwards) is set. Quick mode: PostgreSQL only as far as the storage gate needs."""
    import os

    plan: list[tuple[str, str | None, list[int], int]] = [
        ("SQLite", None, QUICK_SIZES if quick else FULL_SIZES, 2 if quick else 3)
    ]
    url = os.environ.get("ML_INTERN_TEST_DATABASE_URL") or os.environ.get("ML_INTERN_DATABASE_URL")
    if url:
        plan.append(("PostgreSQL", url, QUICK_SIZES[:-1] if quick else FULL_SIZES, 1 if quick else 2))
    return plan


QUICK_SIZES = [10, 40, 80, 300]
FULL_SIZES = [10, 100, 300, 1000]


def runs(backend: str, sizes: list[int], count: int, database_url: str | None = None) -> list[Run]:
    """`count` measured sessions on `backend` ("SQLite" or "PostgreSQL"); the first one also accounts
    bytes per channel. Cached for the process, so steps and storage share them."""
    import os

    from bench import accounting

    key = (backend, tuple(sizes))
    done = _CACHE.setdefault(key, [])
    while len(done) < count:
        account = not done
        if backend == "SQLite":
            with Sandbox() as sandbox:
                db = sandbox.home / "sessions.sqlite"
                run = asyncio.run(
                    _run(sandbox, sizes, lambda t, a, db=db: accounting.sqlite(db, t, a), account, delete=False)
                )
        elif database_url and database_url == os.environ.get("ML_INTERN_TEST_DATABASE_URL"):
            with accounting.fresh_postgres_database(database_url) as url, Sandbox(database_url=url) as sandbox:
                run = asyncio.run(
                    _run(sandbox, sizes, lambda t, a, url=url: accounting.postgres(url, t, a), account, delete=False)
                )
        else:
            with Sandbox(database_url=database_url) as sandbox:
                run = asyncio.run(
                    _run(
                        sandbox,
                        sizes,
                        lambda t, a, url=database_url: accounting.postgres(url, t, a),
                        account,
                        delete=True,
                    )
                )
            for extra in run.extra.values():
                extra.pop("tables", None)  # the user's tables hold other sessions too
        run.backend = backend
        done.append(run)
    return done[:count]
