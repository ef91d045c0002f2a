"""Per-step cost with real tools that update the state (see bench/workload.py): CPU and wall time of a step
at 10 to 1,000 steps of one session, on SQLite and PostgreSQL.

A step is the time from the start of one tool call to the start of the next: the model call (replay, zero
delay), the checkpoints of every node, and the tool itself. "At S steps" is the median over the last tenth
of the steps before S, all from the same run, so growth with the history is a ratio within one run. CPU time
is the whole process's (the database thread included; PostgreSQL's own server is not). The quick gate is
CPU at the last size over CPU at 10 steps: per-step work that grows with the history shows there.
"""

from __future__ import annotations

import statistics

from bench import floor, workload
from bench.stats import Check, Figure, Section, slope_per

BUDGET_MS = 20.0  # median per-step wall time at 300 steps
FLATNESS_LIMIT = 3.0  # quick gate: per-step CPU at the last size vs at 10 steps


def median_at(values: list[float], size: int) -> float:
    return statistics.median(workload.window(values, size)) * 1000


def backend_figures(section: Section, backend: str, runs: list[workload.Run], gate: bool) -> None:
    sizes = runs[0].sizes
    longest = sizes[-1]
    for size in sizes:
        budget, limit = ("< 20 ms", BUDGET_MS) if size == 300 else ("", None)
        samples = [median_at(r.step_wall, size) for r in runs]
        section.figures.append(Figure(f"{backend}: per step at {size:,} steps (wall)", samples, "ms", budget, limit))
    for size in sizes:
        samples = [median_at(r.step_cpu, size) for r in runs]
        section.figures.append(Figure(f"{backend}: per step at {size:,} steps (CPU)", samples, "ms"))
    section.figures.append(
        Figure(
            f"{backend}: of which the tool, at {longest:,} steps (CPU)",
            [median_at(r.step_cpu, longest) - median_at(r.engine_cpu, longest) for r in runs],
            "ms",
            note="the real read/write/edit/plan_tool call, in its thread",
        )
    )
    ratios = [median_at(r.step_cpu, longest) / median_at(r.step_cpu, 10) for r in runs]
    section.figures.append(Figure(f"{backend}: growth: CPU at {longest:,} / at 10 steps", ratios, "x", "flat (~1x)"))
    slopes = [slope_per(r.inside, [r.step_cpu[k] * 1000 for k in r.inside], 1000) for r in runs]
    section.figures.append(
        Figure(
            f"{backend}: slope of per-step CPU",
            slopes,
            "ms/1k steps",
            "~0",
            note="least squares over every step of the run",
        )
    )
    if gate:
        section.checks.append(
            Check(
                f"{backend} per-step CPU at {longest} steps / at 10 steps (best of {len(runs)})",
                min(ratios),
                FLATNESS_LIMIT,
                "per-step work must not grow with the history; CPU time, not wall, so load from other processes "
                "cannot fake a regression",
            )
        )


def floor_figures(section: Section, sizes: list[int], count: int) -> None:
    """LangGraph's own loop under a plain step (bench/floor.py), with the SQLite saver and with none."""
    for saved, what in ((True, "SQLite saver"), (False, "no checkpointer")):
        floors = [floor.per_step_ms(sizes, saved) for _ in range(count)]
        for size in sizes:
            section.figures.append(
                Figure(
                    f"LangGraph's own loop, {what}: per step at {size:,} steps (CPU)",
                    [f[size] for f in floors],
                    "ms",
                    note="bench/floor.py: the same state and stream, two nodes that only append a message",
                )
            )


def run(quick: bool) -> Section:
    section = Section("Per-step cost (real tools: read, write, edit, plan_tool; replay model at zero delay)")
    for backend, url, sizes, count in workload.backends(quick):
        backend_figures(section, backend, workload.runs(backend, sizes, count, url), gate=backend == "SQLite")
        if backend == "SQLite" and not quick:
            floor_figures(section, sizes, count)
    section.notes.append(
        "Each step calls one real tool that updates the state: five `read`s of a different ~2 KB file, a `write` "
        "of a new ~2 KB file, an `edit` of a file read before and a `plan_tool` update in every eight steps."
    )
    return section
