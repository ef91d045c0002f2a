"""Starting, cancelling and describing local jobs (the runner does the running).

start_job writes the record, launches `python -m tools.jobs.runner` in a new session and returns
as soon as the runner reports the job started: it never waits for the job itself.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tools.base import ToolError
from tools.jobs import registry
from tools.jobs.registry import JobRecord

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the `tools` package
_LAUNCH_TIMEOUT_S = 30.0
_CANCEL_WAIT_S = 15.0  # the runner escalates SIGTERM to SIGKILL after 10 s
_gpu_cache: dict[str, list[str]] = {}


def find_uv() -> str | None:
    beside_python = Path(sys.executable).with_name("uv")
    return str(beside_python) if beside_python.exists() else shutil.which("uv")


def build_argv(script: Path | None, command: str | None, dependencies: list[str]) -> list[str]:
    """The argv for a job: plain `python script` / `bash -c command`, or wrapped in
    `uv run --with dep ...` (a throwaway environment, the workspace's project left alone)."""
    inner = [sys.executable, str(script)] if script is not None else ["bash", "-c", command or ""]
    if not dependencies:
        return inner
    uv = find_uv()
    if uv is None:
        raise ToolError("dependencies need uv, which is not installed: `pip install uv`, or run without dependencies.")
    argv = [uv, "run", "--no-project", "--python", sys.executable]
    for dep in dependencies:
        argv += ["--with", dep]
    if script is not None:
        return [*argv, "python", str(script)]
    return [*argv, "--", *inner]


async def detect_gpus() -> list[str]:
    """GPUs nvidia-smi reports ("0: NVIDIA A100, 81920 MiB"); [] when there is none or no driver."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    if exe in _gpu_cache:
        return _gpu_cache[exe]
    try:
        proc = await asyncio.create_subprocess_exec(
            exe, "--query-gpu=index,name,memory.total", "--format=csv,noheader",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 10)
    except (OSError, TimeoutError):
        return []
    gpus = []
    for line in out.decode(errors="replace").splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 2 and parts[0]:
            gpus.append(f"{parts[0]}: {', '.join(parts[1:])}")
    _gpu_cache[exe] = gpus
    return gpus


async def start_job(
    *,
    argv: list[str],
    display: str,
    cwd: Path,
    env: dict[str, str],
    timeout_s: float | None,
    dependencies: list[str] | None = None,
    gpus: list[str] | None = None,
    home: Path | None = None,
    session: str | None = None,
    confine: Callable[[Path], list[str]] | None = None,
) -> tuple[Path, JobRecord]:
    """Record and launch a job; returns once it runs (or failed to start). `env` is the job's
    whole environment: it reaches the job through the runner's process, never the disk.
    `confine(job_dir)` gives the arguments that put the job in a sandbox of its own (tools.sandbox.local)."""
    job_id = registry.new_job_id()
    directory = registry.job_dir(job_id, home)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    record = JobRecord(
        id=job_id,
        command=argv,
        display=display,
        cwd=str(cwd),
        timeout_s=timeout_s,
        dependencies=list(dependencies or []),
        gpus=list(gpus or []),
        session=session,
        sandbox=confine(directory) if confine is not None else [],
    )
    registry.save(directory, record)
    with registry.log_path(directory).open("ab") as log:
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-E", "-m", "tools.jobs.runner", str(directory),
                cwd=str(_PACKAGE_ROOT), env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=log, start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            record.status, record.error, record.ended_at = "failed", f"could not launch runner: {exc}", time.time()
            registry.save(directory, record)
            raise ToolError(f"Could not start the job: {exc}") from exc
        try:
            await asyncio.wait_for(proc.wait(), _LAUNCH_TIMEOUT_S)
        except TimeoutError:
            pass  # the runner is slow to start; the record will catch up
    return directory, registry.load(directory)


async def cancel_job(directory: Path) -> JobRecord:
    """Stop the job's whole process group and make sure the record says cancelled."""
    record = registry.load(directory)
    if registry.live_status(record) in registry.TERMINAL:
        return record
    registry.request_cancel(directory)
    if record.pid:
        try:
            os.killpg(record.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + _CANCEL_WAIT_S
    while time.monotonic() < deadline:
        record = registry.load(directory)
        if record.status in registry.TERMINAL:
            return record
        if record.runner_pid is not None and not registry.pid_alive(record.runner_pid):
            break  # nobody left to write the outcome: do it ourselves
        await asyncio.sleep(0.1)
    record = registry.load(directory)
    if record.pid:
        try:
            os.killpg(record.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if record.status not in registry.TERMINAL:
        record.status, record.ended_at = "cancelled", time.time()
        registry.save(directory, record)
    return record
