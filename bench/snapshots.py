"""The delta channels' snapshot policy (core.state.SNAPSHOT_EVERY): what each candidate costs in storage and
what it saves in resume time, in one run. Not part of the default suite (~2 min): `--only snapshots`.

A DeltaChannel stores each step's writes and, every SNAPSHOT_EVERY supersteps that write it, its whole
value. A snapshot shortens the walk a resume makes back through the checkpoints, but re-stores the whole
history each time: at a fixed interval that is a quadratic term (the snapshots of 1,000 steps hold ~4x the
history at 500). LangGraph also snapshots every 5,000 supersteps whatever the policy
(LANGGRAPH_DELTA_MAX_SUPERSTEPS_SINCE_SNAPSHOT), and compaction's Overwrite snapshots the shortened history.

For each policy: storage after 300 and 1,000 steps of the real-tools workload (bench/workload.py) and the
resume of a 1,000-message session (bench/history.py), measured round-robin so load hits all alike.
"""

from __future__ import annotations

import asyncio

from bench import workload
from bench.harness import ClockTool, Sandbox, answer_turn, steps_script
from bench.stats import Figure, Section

POLICIES = [500, 2000, 1_000_000]  # 1,000,000: never within a session (LangGraph's own bound applies)
TURNS = 10


def _label(every: int) -> str:
    return "never (LangGraph's bound only)" if every >= 1_000_000 else f"every {every:,} writes"


def _storage(every: int, sizes: list[int]) -> workload.Run:
    import core.state
    from bench import accounting

    core.state.SNAPSHOT_EVERY = every
    with Sandbox() as sandbox:
        db = sandbox.home / "sessions.sqlite"
        return asyncio.run(workload._run(sandbox, sizes, lambda t, a: accounting.sqlite(db, t, a), False, delete=False))


def _resumes(every: int, sandbox: Sandbox, model: str, session_id: str, clock: ClockTool) -> dict[str, float]:
    import core.state
    from bench.history import _resume_once, _undo_once

    core.state.SNAPSHOT_EVERY = every  # read when the graph is compiled: each open_agent compiles anew
    timing = asyncio.run(_resume_once(sandbox, model, session_id, clock))
    asyncio.run(_undo_once(sandbox, model, session_id, TURNS * 100))
    return timing


def run(quick: bool) -> Section:
    import core.state
    from bench.history import MESSAGES_PER_TURN, _build

    saved = core.state.SNAPSHOT_EVERY
    section = Section("Snapshot policy of the delta channels (SQLite)")
    sizes = [40, 80] if quick else [300, 1000]
    repeats = 2 if quick else 5
    try:
        for every in POLICIES:
            run = _storage(every, sizes)
            small, large = sizes
            growth = (run.thread_bytes[large] / large) / (run.thread_bytes[small] / small)
            for n in sizes:
                note = (
                    f"of which snapshots {run.extra[n]['snapshots'] / 1e6:.2f} MB"
                    if "snapshots" in run.extra[n]
                    else ""
                )
                section.figures.append(
                    Figure(f"{_label(every)}: stored after {n:,} steps", [run.thread_bytes[n] / 1e6], "MB", note=note)
                )
            section.figures.append(Figure(f"{_label(every)}: bytes/step after {large:,} / {small:,}", [growth], "x"))

        clock = ClockTool()
        build = [line for _ in range(TURNS) for line in steps_script(MESSAGES_PER_TURN // 2 - 1)]
        sessions = {}
        with Sandbox() as sandbox:
            model = sandbox.script(build + [answer_turn("ok") for _ in range(len(POLICIES) * repeats + 2)])
            for every in POLICIES:  # each policy builds its own session: snapshots are written as it grows
                core.state.SNAPSHOT_EVERY = every
                sessions[every] = asyncio.run(_build(sandbox, model, TURNS, clock))
            firsts: dict[int, list[float]] = {every: [] for every in POLICIES}
            cpus: dict[int, list[float]] = {every: [] for every in POLICIES}
            for _ in range(repeats):
                for every in POLICIES:
                    timing = _resumes(every, sandbox, model, sessions[every], clock)
                    firsts[every].append(timing["first_call"] * 1000)
                    cpus[every].append(timing["first_call_cpu"] * 1000)
        for every in POLICIES:
            label = f"{_label(every)}: resume {TURNS * MESSAGES_PER_TURN:,}-message session to first model call"
            section.figures.append(Figure(f"{label} (wall)", firsts[every], "ms", "< 100 ms", 100.0))
            section.figures.append(Figure(f"{label} (CPU)", cpus[every], "ms"))
    finally:
        core.state.SNAPSHOT_EVERY = saved
    section.notes.append(f"Policy in use (core.state.SNAPSHOT_EVERY): {_label(saved)}.")
    return section
