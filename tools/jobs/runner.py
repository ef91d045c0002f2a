"""The job runner: `python -m tools.jobs.runner <job dir>`.

Started by tools.jobs.local in a new session. It forks once so the process that launched it can
return at once (and the agent can exit), starts the job in its own process group with output
going to log.txt, enforces the timeout, and records the final status in job.json. Because the
runner, not the agent, writes the outcome, the record stays right after the agent is gone.
The job's environment is the runner's own environment, so secrets never touch the disk.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tools.jobs import registry

_TERM_GRACE_S = 10.0


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stop(child: subprocess.Popen, grace_s: float = _TERM_GRACE_S) -> None:
    """SIGTERM the job's group, then SIGKILL whatever is left after the grace period."""
    _kill_group(child.pid, signal.SIGTERM)
    try:
        child.wait(grace_s)
    except subprocess.TimeoutExpired:
        pass
    _kill_group(child.pid, signal.SIGKILL)
    child.wait()


def _note(log, text: str) -> None:
    log.write(f"[ml-intern] {text}\n".encode())
    log.flush()


def run(directory: Path, ready_fd: int | None = None) -> int:
    """Run the job described in directory/job.json to completion; returns the job's exit code."""
    record = registry.load(directory)
    record.runner_pid = os.getpid()
    with registry.log_path(directory).open("ab") as log:

        def signal_ready() -> None:
            nonlocal ready_fd
            if ready_fd is not None:
                os.write(ready_fd, b"1")
                os.close(ready_fd)
                ready_fd = None

        if registry.cancel_requested(directory):
            record.status, record.ended_at = "cancelled", time.time()
            registry.save(directory, record)
            signal_ready()
            return -signal.SIGTERM
        try:
            child = subprocess.Popen(
                [*record.sandbox, *record.command],
                cwd=record.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            _note(log, f"could not start {record.command[0]!r}: {exc}")
            record.status, record.error, record.ended_at = "failed", str(exc), time.time()
            registry.save(directory, record)
            signal_ready()
            return 127
        record.pid, record.status, record.started_at = child.pid, "running", time.time()
        registry.save(directory, record)
        signal_ready()

        # Poll rather than block so a cancel that raced the start (no pid on record yet) is seen.
        deadline = None if not record.timeout_s else time.monotonic() + float(record.timeout_s)
        timed_out = False
        while child.poll() is None:
            if registry.cancel_requested(directory):
                _stop(child)
                break
            if deadline is not None and time.monotonic() >= deadline:
                timed_out = True
                _note(log, f"timed out after {record.timeout_s:g} s; stopping the job")
                _stop(child)
                break
            try:
                child.wait(0.5)
            except subprocess.TimeoutExpired:
                pass
        code = child.wait()
        _kill_group(child.pid, signal.SIGKILL)  # stray background processes of the job
    shutil.rmtree(directory / "tmp", ignore_errors=True)  # a sandboxed job's /tmp

    record = registry.load(directory)  # keep fields others may have added (never the status)
    record.runner_pid = os.getpid()
    record.exit_code = code
    record.ended_at = time.time()
    if registry.cancel_requested(directory):
        record.status = "cancelled"
    elif timed_out:
        record.status = "timed_out"
    else:
        record.status = "succeeded" if code == 0 else "failed"
    registry.save(directory, record)
    return code


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tools.jobs.runner <job dir>", file=sys.stderr)
        return 2
    directory = Path(argv[1])
    read_fd, write_fd = os.pipe()
    if os.fork() > 0:
        # Launcher half: return once the job is recorded as running (or failed to start),
        # so the caller sees a real pid; then the caller may exit whenever it likes.
        os.close(write_fd)
        os.read(read_fd, 1)
        return 0
    os.close(read_fd)  # we run in our own session (no terminal), so no SIGINT/SIGHUP reaches us
    try:
        run(directory, ready_fd=write_fd)
    except Exception as exc:  # record the failure rather than leave a "starting" job behind
        try:
            record = registry.load(directory)
            record.status, record.error, record.ended_at = "failed", f"runner error: {exc}", time.time()
            registry.save(directory, record)
        finally:
            raise
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    os._exit(code)
