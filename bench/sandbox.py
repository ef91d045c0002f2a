"""The command sandbox: what bubblewrap adds to one `bash` tool call (`true`, and a Python start-up).

The real bash tool handler, unconfined (`sandbox.backend` local) and in bubblewrap, round-robin so load hits
both alike. The overhead is the difference of the medians; bwrap's namespaces and mounts are set up per call.
Informational: no quick gate (bubblewrap may be missing where the suite runs; then it says so).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.stats import Figure, Section


async def _timings(commands: dict[str, str], repeats: int) -> dict[str, list[float]]:
    from configs.schema import AgentConfig
    from tools import bash
    from tools.base import ToolContext

    backends = {
        "local": AgentConfig(sandbox={"backend": "local"}),
        "bubblewrap": AgentConfig(sandbox={"backend": "bubblewrap"}),
    }
    times: dict[str, list[float]] = {f"{b}: {c}": [] for b in backends for c in commands}
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        ws.mkdir()
        tools = {name: bash.tools(settings)[0] for name, settings in backends.items()}
        ctxs = {
            name: ToolContext(workspace=ws, session_dir=Path(tmp) / "s", call_id="b", settings=settings)
            for name, settings in backends.items()
        }
        for round_ in range(repeats + 1):  # the first round warms up
            for backend, tool in tools.items():
                for label, command in commands.items():
                    started = time.perf_counter()
                    result = await tool.handler(tool.args_model(command=command), ctxs[backend])
                    elapsed = (time.perf_counter() - started) * 1000
                    if result.is_error or "[exit code 0]" not in result.content:
                        raise RuntimeError(f"{backend}: {command!r} failed: {result.content[:200]}")
                    if round_:
                        times[f"{backend}: {label}"].append(elapsed)
    return times


def run(quick: bool) -> Section:
    from tools.sandbox import bwrap

    section = Section("Command sandbox (one `bash` tool call, unconfined vs bubblewrap)")
    found = bwrap.probe()
    if not found.ok:
        section.figures.append(Figure("bubblewrap overhead per call", [], "ms", note=f"not measured: {found.detail}"))
        return section
    commands = {"`true`": "true", "`python -c pass`": f"{sys.executable} -c pass"}
    times = asyncio.run(_timings(commands, 10 if quick else 40))
    for name, samples in times.items():
        section.figures.append(Figure(name, samples, "ms"))
    for label in commands:
        local, boxed = times[f"local: {label}"], times[f"bubblewrap: {label}"]
        overhead = statistics.median(boxed) - statistics.median(local)
        section.figures.append(Figure(f"bubblewrap overhead, {label}", [overhead], "ms", note="difference of medians"))
    section.notes.append(f"{found.detail} ({found.binary})")
    return section
