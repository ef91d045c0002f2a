"""The machine a run measured: numbers mean little without the CPU, core count, Python and load."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path

from bench.harness import ROOT


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' (uncommitted changes)' if dirty else ''}" if head else "unknown"


def describe() -> dict[str, str]:
    try:
        load = "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    except OSError:
        load = "unknown"
    return {
        "cpu": cpu_model(),
        "cores": str(usable_cores()),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "load_at_start": load,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "commit": git_commit(),
    }
