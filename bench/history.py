"""Long sessions and many sessions: resume and undo of a 1,000-message session, `sessions list` with
1,000 sessions.

Resume is timed the way a restarted agent does it: a freshly opened database (no caches), load the
session, read its state, start a new turn, until the first model call streams back. Undo is
load + session.undo(). Each resumed turn is undone again, so every repeat sees the same history.
The same two operations are also timed through the real binary (`ml-intern --resume ID PROMPT`,
`ml-intern sessions undo ID`), whole process included.
"""

from __future__ import annotations

import asyncio
import time

from bench.harness import (
    ClockTool,
    Sandbox,
    answer_turn,
    cli_command,
    drain,
    interleaved,
    open_agent,
    require_done,
    steps_script,
    time_command,
)
from bench.stats import Check, Figure, Section

BUDGET_MS = 300.0
LIST_LIMIT = 1.5  # quick gate: `sessions list` with many sessions vs with none
MESSAGES_PER_TURN = 100  # user + 49 x (call + result) + answer


async def _build(sandbox: Sandbox, model: str, turns: int, clock: ClockTool) -> str:
    async with open_agent(sandbox, model, tools=[clock.tool()]) as agent:
        session = await agent.new_session()
        for turn in range(turns):
            require_done(await drain(session.run(f"turn {turn}")), "building the long session")
        count = len(await session.messages())
        if count != turns * MESSAGES_PER_TURN:
            raise RuntimeError(f"the long session has {count} messages, expected {turns * MESSAGES_PER_TURN}")
        return session.id


async def _resume_once(sandbox: Sandbox, model: str, session_id: str, clock: ClockTool) -> dict[str, float]:
    started = time.perf_counter()
    async with open_agent(sandbox, model, tools=[clock.tool()]) as agent:
        opened, opened_cpu = time.perf_counter(), time.process_time()
        session = await agent.load_session(session_id)
        await session.state()
        loaded = time.perf_counter()
        first_call = first_cpu = None
        events = []
        async for event in session.run("one more question"):
            if first_call is None and event.type in {"assistant_chunk", "assistant_message"}:
                first_call, first_cpu = time.perf_counter(), time.process_time()
            events.append(event)
        require_done(events, "resumed turn")
    return {
        "open": opened - started,
        "load": loaded - opened,
        "first_call": (first_call or loaded) - opened,
        "first_call_cpu": (first_cpu or opened_cpu) - opened_cpu,
    }


async def _undo_once(sandbox: Sandbox, model: str, session_id: str, expected: int) -> float:
    async with open_agent(sandbox, model) as agent:
        started = time.perf_counter()
        session = await agent.load_session(session_id)
        result = await session.undo()
        elapsed = time.perf_counter() - started
        if result.type != "undo_complete":
            raise RuntimeError(f"undo failed: {result.message}")
        count = len(await session.messages())
    if count != expected:
        raise RuntimeError(f"after undo the session has {count} messages, expected {expected}")
    return elapsed


def long_session(quick: bool) -> list[Figure]:
    turns = 2 if quick else 10
    repeats = 3 if quick else 7
    cli_repeats = 0 if quick else 3  # whole-process figures cost ~2 s a run: full mode only
    messages = turns * MESSAGES_PER_TURN
    clock = ClockTool()
    build = [line for _ in range(turns) for line in steps_script(MESSAGES_PER_TURN // 2 - 1)]
    # one answer per resumed turn, in-process and through the CLI (the cursor lives with the session)
    script = build + [answer_turn("ok") for _ in range(repeats + cli_repeats + 2)]
    loads, firsts, opens, undos = [], [], [], []
    cli_resume, cli_undo = [], []
    with Sandbox() as sandbox:
        model = sandbox.script(script)
        session_id = asyncio.run(_build(sandbox, model, turns, clock))
        for _ in range(repeats):
            timing = asyncio.run(_resume_once(sandbox, model, session_id, clock))
            opens.append(timing["open"] * 1000)
            loads.append(timing["load"] * 1000)
            firsts.append(timing["first_call"] * 1000)
            undos.append(asyncio.run(_undo_once(sandbox, model, session_id, messages)) * 1000)
        binary, env = cli_command(), sandbox.env()
        if cli_repeats:
            time_command([*binary, "--resume", session_id, "warm-up"], env, sandbox.workspace)
            time_command([*binary, "sessions", "undo", session_id], env, sandbox.workspace)
        for _ in range(cli_repeats):
            cli_resume.append(time_command([*binary, "--resume", session_id, "again"], env, sandbox.workspace))
            cli_undo.append(time_command([*binary, "sessions", "undo", session_id], env, sandbox.workspace))
    label = f"{messages:,}-message session"
    skipped = "" if cli_repeats else "not measured in --quick"
    return [
        Figure(f"resume {label}: open database", opens, "ms"),
        Figure(f"resume {label}: load + read state", loads, "ms", "< 300 ms", BUDGET_MS),
        Figure(f"resume {label}: load + state + new turn to first model call", firsts, "ms", "< 300 ms", BUDGET_MS),
        Figure(f"undo in a {label}: load + undo", undos, "ms", "< 300 ms", BUDGET_MS),
        Figure(
            f"`ml-intern --resume ID PROMPT`, {label}, whole process",
            cli_resume,
            "s",
            note=skipped or "start-up, engine imports, resume, one replayed answer",
        ),
        Figure(f"`ml-intern sessions undo ID`, {label}, whole process", cli_undo, "s", note=skipped),
    ]


async def _many_sessions(sandbox: Sandbox, count: int) -> tuple[float, float]:
    model = sandbox.script([])
    async with open_agent(sandbox, model) as agent:
        started = time.perf_counter()
        for i in range(count):
            await agent.new_session(title=f"benchmark session {i}")
        created = time.perf_counter() - started
    async with open_agent(sandbox, model) as agent:
        started = time.perf_counter()
        listed = await agent.store.list()
        elapsed = time.perf_counter() - started
    if len(listed) != count:
        raise RuntimeError(f"the store lists {len(listed)} sessions, expected {count}")
    return created / count, elapsed


def many_sessions(quick: bool) -> tuple[list[Figure], list[Check]]:
    count = 300 if quick else 1000
    repeats = 2 if quick else 5
    with Sandbox() as full, Sandbox() as empty:
        per_create, store_list = asyncio.run(_many_sessions(full, count))
        binary = cli_command()
        times = interleaved(
            {
                "full": ([*binary, "sessions", "list"], full.env()),
                "empty": ([*binary, "sessions", "list"], empty.env()),
            },
            repeats,
            full.workspace,
        )
    ratios = [f / e for f, e in zip(times["full"], times["empty"], strict=False)]
    figures = [
        Figure(f"create a session (store row + first checkpoint), {count:,} in a row", [per_create * 1000], "ms"),
        Figure(f"store.list() of {count:,} sessions", [store_list * 1000], "ms"),
        Figure(f"`ml-intern sessions list`, {count:,} sessions", times["full"], "s"),
        Figure("`ml-intern sessions list`, no sessions", times["empty"], "s"),
        Figure(f"`sessions list`: {count:,} sessions / none", ratios, "x", "~1x"),
    ]
    check = Check(
        f"`sessions list` with {count} sessions / with none (best of {repeats})",
        min(ratios),
        LIST_LIMIT,
        "listing must be one query on the session table; walking each session's checkpoints "
        "adds seconds per thousand sessions",
    )
    return figures, [check]


def run(quick: bool) -> Section:
    section = Section("Long and many sessions (SQLite)")
    section.figures.extend(long_session(quick))
    figures, checks = many_sessions(quick)
    section.figures.extend(figures)
    section.checks.extend(checks)
    return section
