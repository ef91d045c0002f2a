"""Parallel tools: one model reply with 8 calls that each wait 1 s must finish in about 1 s, not 8.

Two tools: an in-process tool that awaits asyncio.sleep, and the real `bash` tool running `sleep`
(its own process per call). The step is timed from the first tool_call event to the last
tool_output event the front end receives; the whole turn (two replayed model calls) is reported too.
"""

from __future__ import annotations

import asyncio
import time

from bench.harness import ClockTool, Sandbox, answer_turn, open_agent, require_done, timed_events
from bench.stats import Check, Figure, Section

CALLS = 8
PARALLEL_LIMIT = 0.5  # quick gate: the step over the serial sum of the sleeps


async def _one_step(sandbox: Sandbox, calls: list[dict], tools: list, builtin: list[str]) -> tuple[float, float]:
    model = sandbox.script([{"tool_calls": calls, "usage": {"input_tokens": 1000, "output_tokens": 10}}, answer_turn()])
    async with open_agent(sandbox, model, tools=tools, builtin=builtin) as agent:
        session = await agent.new_session()
        started = time.perf_counter()
        events = await timed_events(session.run("run them all"))
        turn = time.perf_counter() - started
    require_done(events, "parallel step")
    starts = [t for t, e in events if e.type == "tool_call"]
    ends = [t for t, e in events if e.type == "tool_output"]
    failed = [e.content[:200] for _, e in events if e.type == "tool_output" and e.is_error]
    if len(starts) != len(calls) or len(ends) != len(calls) or failed:
        raise RuntimeError(f"parallel step: {len(ends)}/{len(calls)} calls finished; errors: {failed[:2]}")
    return max(ends) - min(starts), turn


def _asyncio_step(sleep_s: float) -> tuple[float, float]:
    clock = ClockTool(name="nap", sleep_s=sleep_s)
    calls = [{"name": "nap", "args": {"i": i}, "id": f"n{i}"} for i in range(CALLS)]
    with Sandbox() as sandbox:
        return asyncio.run(_one_step(sandbox, calls, [clock.tool()], []))


def _bash_step(sleep_s: float) -> tuple[float, float]:
    calls = [
        {"name": "bash", "args": {"command": f"sleep {sleep_s}; echo call {i}"}, "id": f"b{i}"} for i in range(CALLS)
    ]
    with Sandbox() as sandbox:
        return asyncio.run(_one_step(sandbox, calls, [], ["tools.bash"]))


def run(quick: bool) -> Section:
    sleep_s = 0.25 if quick else 1.0
    repeats = 2 if quick else 3
    serial = CALLS * sleep_s
    section = Section(f"Parallel tools ({CALLS} calls of {sleep_s:g} s in one step; serial sum {serial:g} s)")
    for label, measure in (("asyncio.sleep tool", _asyncio_step), ("`bash` tool, `sleep`", _bash_step)):
        try:
            results = [measure(sleep_s) for _ in range(repeats)]
        except Exception as exc:  # e.g. the bash tool is missing or broken: say so, measure the rest
            section.figures.append(Figure(f"{label}: step", [], "s", note=f"not measured: {exc}"))
            continue
        steps = [r[0] for r in results]
        section.figures.append(Figure(f"{label}: step", steps, "s", f"< {2 * sleep_s:g} s", 2 * sleep_s))
        section.figures.append(Figure(f"{label}: whole turn", [r[1] for r in results], "s"))
        section.figures.append(
            Figure(f"{label}: step / serial sum", [s / serial for s in steps], "x", f"~{1 / CALLS:.2f}x")
        )
        section.checks.append(
            Check(
                f"{label}: step / serial sum (best of {repeats})",
                min(steps) / serial,
                PARALLEL_LIMIT,
                "the calls of one step must run concurrently: run one after another they take the serial sum (1x)",
            )
        )
    return section
