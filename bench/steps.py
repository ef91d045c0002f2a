"""Per-step overhead: the engine's time from one tool call to the next, as the history grows.

One turn of N steps with a trivial in-process tool and the replay model at zero delay (usage given,
so the replay model does not re-count the history). The gap between the end of call k and the start
of call k+1 is one step of our code: model call, checkpoints, doom-loop check, approval, compaction
check. "At S steps" is the median gap over the last tenth of the steps up to S (at least 9 gaps),
all taken from the same run, so growth with history shows as a ratio within one run.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from bench.harness import ClockTool, Sandbox, drain, open_agent, require_done, steps_script
from bench.stats import Check, Figure, Section, slope_per

BUDGET_MS = 20.0  # median per-step overhead at 300 steps
FLATNESS_LIMIT = 3.0  # quick gate: per-step CPU at the last size vs at 10 steps


def window(gaps: list[float], upto: int) -> list[float]:
    """The gaps of steps just before step `upto` (gap k sits between steps k+1 and k+2)."""
    width = max(9, upto // 10)
    end = min(upto - 1, len(gaps))
    return gaps[max(0, end - width) : end]


async def _run(steps: int) -> tuple[list[float], list[float], float]:
    clock = ClockTool()
    with Sandbox() as sandbox:
        warmup = sandbox.script(steps_script(5))
        async with open_agent(sandbox, warmup, tools=[clock.tool()], settings={"max_iterations": steps + 10}) as agent:
            warm = await agent.new_session()  # first-use costs (imports, first bind) stay out of the figures
            require_done(await drain(warm.run("warm up")), "per-step warm-up")
            clock.reset()
            agent.deps.model_id = sandbox.script(steps_script(steps))  # a replay cursor is per session and script
            session = await agent.new_session()
            started = time.perf_counter()
            events = await drain(session.run("go"))
            total = time.perf_counter() - started
            require_done(events, "per-step run")
    wall, cpu = clock.gaps()
    return wall, cpu, total / steps


def run(quick: bool) -> Section:
    sizes = [10, 100, 300] if quick else [10, 100, 300, 1000]
    repeats = 2 if quick else 3
    longest = sizes[-1]
    wall_at: dict[int, list[float]] = {s: [] for s in sizes}
    cpu_at: dict[int, list[float]] = {s: [] for s in sizes}
    amortised, ratios, cpu_ratios, slopes = [], [], [], []
    for _ in range(repeats):
        wall, cpu, per_step = asyncio.run(_run(longest))
        for s in sizes:
            wall_at[s].append(statistics.median(window(wall, s)) * 1000)
            cpu_at[s].append(statistics.median(window(cpu, s)) * 1000)
        amortised.append(per_step * 1000)
        ratios.append(wall_at[longest][-1] / wall_at[10][-1])
        cpu_ratios.append(cpu_at[longest][-1] / cpu_at[10][-1])
        slopes.append(slope_per(list(range(len(cpu))), [c * 1000 for c in cpu], 1000))

    section = Section("Per-step overhead (trivial tool, replay model at zero delay, SQLite)")
    for s in sizes:
        budget, limit = ("< 20 ms", BUDGET_MS) if s == 300 else ("", None)
        section.figures.append(Figure(f"per step at {s:,} steps (wall)", wall_at[s], "ms", budget, limit))
    for s in sizes:
        section.figures.append(Figure(f"per step at {s:,} steps (CPU)", cpu_at[s], "ms"))
    section.figures.append(
        Figure(f"whole {longest:,}-step turn / steps (wall)", amortised, "ms", note="includes the turn's start and end")
    )
    section.figures.append(Figure(f"growth: wall at {longest:,} / at 10 steps", ratios, "x", "flat (~1x)"))
    section.figures.append(Figure(f"growth: CPU at {longest:,} / at 10 steps", cpu_ratios, "x", "flat (~1x)"))
    section.figures.append(
        Figure("slope of per-step CPU", slopes, "ms/1k steps", "~0", note="least squares over every step of the run")
    )
    section.checks.append(
        Check(
            f"per-step CPU at {longest} steps / at 10 steps (best of {repeats})",
            min(cpu_ratios),
            FLATNESS_LIMIT,
            "per-step work must not grow with the history; CPU time, not wall, so load from other processes "
            "cannot fake a regression",
        )
    )
    return section
