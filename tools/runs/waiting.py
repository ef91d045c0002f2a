"""A session waiting for a job: `waiting.json` in the session's folder, written by the wait_for_job tool and
read by whoever watches (`ml-intern watch`, or the chat left open). On disk, so it survives the agent
process: a watcher started after a crash or a reboot finds it again.

check() looks at the job once and says whether to wake the session: the job ended, or it is in trouble
(no log output for watch.stall_s, a NaN loss, an out-of-memory error), each reported once. Local jobs are
read from their registry and log (cheap); Hugging Face Jobs with one inspect call, so watchers poll them
with backoff (next_delay).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from tools.runs.metrics import scan_file, scan_lines

WAITING_FILE = "waiting.json"
WaitKind = Literal["local", "hf_job"]
Reason = Literal["finished", "stalled", "nan_loss", "oom"]
HF_TERMINAL = {"COMPLETED", "CANCELED", "ERROR", "DELETED"}


@dataclass
class Waiting:
    job_id: str
    kind: WaitKind
    since: float = field(default_factory=time.time)
    namespace: str | None = None  # a Hugging Face Job's owner
    reported: list[str] = field(default_factory=list)  # problems already reported (each once)
    polls: int = 0  # checks so far without news: the backoff's exponent
    log_lines: int = 0  # a Hugging Face Job's log length at the last check...
    last_output: float = 0.0  # ...and when it last grew (a local job's log has its mtime)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Waiting:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Wake:
    """Why to wake the session, and the message it continues with."""

    reason: Reason
    message: str
    final: bool  # the job ended: the session stops waiting


def save(session_dir: Path, waiting: Waiting) -> None:
    session_dir.mkdir(parents=True, exist_ok=True)
    tmp = session_dir / f".waiting.{os.getpid()}.{secrets.token_hex(3)}.tmp"
    tmp.write_text(json.dumps(asdict(waiting)))
    os.replace(tmp, session_dir / WAITING_FILE)


def load(session_dir: Path) -> Waiting | None:
    try:
        return Waiting.from_dict(json.loads((session_dir / WAITING_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def clear(session_dir: Path) -> None:
    (session_dir / WAITING_FILE).unlink(missing_ok=True)


def waiting_sessions(home: Path) -> list[tuple[str, Waiting]]:
    """(session id, what it waits for) for every session folder under home/sessions with a waiting.json."""
    root = home / "sessions"
    found = []
    if root.is_dir():
        for path in sorted(root.glob(f"*/{WAITING_FILE}")):
            waiting = load(path.parent)
            if waiting is not None:
                found.append((path.parent.name, waiting))
    return found


def next_delay(waiting: Waiting, base_s: float, max_s: float) -> float:
    """Seconds before the next check: doubling from base_s up to max_s (a Hugging Face Job costs a request)."""
    if waiting.kind == "local":
        return base_s
    return min(max_s, base_s * 2 ** min(waiting.polls, 16))


def _tail(lines: list[str]) -> str:
    return "\n".join(lines[-20:]) if lines else "(no output)"


def _problem(waiting: Waiting, reason: Reason, text: str, paid: bool) -> Wake | None:
    if reason in waiting.reported:
        return None
    waiting.reported.append(reason)
    advice = (
        " It runs on paid hardware: ask the user whether to cancel it (hf_jobs operation=cancel) before going on."
        if paid
        else " Decide whether to cancel it (jobs operation=cancel) or let it go on."
        if waiting.kind == "local"
        else " Decide whether to cancel it (hf_jobs operation=cancel) or let it go on."
    )
    return Wake(reason, f"[ml-intern watch] job {waiting.job_id} needs attention: {text}.{advice}", final=False)


def check_local(waiting: Waiting, stall_s: float, jobs_home: Path | None = None) -> Wake | None:
    from tools.jobs import registry

    found = registry.find(waiting.job_id, jobs_home)
    if found is None:
        return Wake("finished", f"[ml-intern watch] job {waiting.job_id} is gone from the job registry.", True)
    directory, record = found
    status = registry.live_status(record)
    log = registry.log_path(directory)
    scan = scan_file(log)
    metrics = ", ".join(f"{k}={v:.4g}" for k, v in scan.final().items())
    if status in registry.TERMINAL:
        code = f" (exit code {record.exit_code})" if record.exit_code is not None else ""
        extra = f"\nout of memory: {scan.oom_line}" if scan.oom_line else ""
        return Wake(
            "oom" if scan.oom_line else "finished",
            f"[ml-intern watch] job {waiting.job_id} finished: {status}{code}."
            + (f"\nmetrics: {metrics}" if metrics else "")
            + extra
            + f"\nlast lines of its log:\n{_tail(registry.tail_lines(log, 20))}",
            True,
        )
    try:
        last_output = log.stat().st_mtime
    except OSError:
        last_output = record.started_at or waiting.since
    quiet = time.time() - max(last_output, waiting.since)
    problems: list[tuple[Reason, str | None]] = [
        ("nan_loss", scan.nan_line and f"a NaN loss in its log ({scan.nan_line})"),
        ("oom", scan.oom_line and f"an out-of-memory error in its log ({scan.oom_line})"),
        ("stalled", f"no log output for {quiet / 60:.1f} minutes (it is still {status})" if quiet >= stall_s else None),
    ]
    for reason, text in problems:
        if text and (wake := _problem(waiting, reason, text, paid=False)) is not None:
            return wake
    return None


def check_hf(
    waiting: Waiting, job: Any, lines: list[str] | None = None, stall_s: float = float("inf"), paid: bool = True
) -> Wake | None:
    """A Hugging Face Job as HfApi.inspect_job returned it, and its log so far (None: not fetched)."""
    stage = str(job.status.stage)
    if stage not in HF_TERMINAL:
        if lines is None:
            return None
        now = time.time()
        if len(lines) != waiting.log_lines or not waiting.last_output:
            waiting.log_lines, waiting.last_output = len(lines), now
        scan = scan_lines(lines)
        quiet = now - max(waiting.last_output, waiting.since)
        problems: list[tuple[Reason, str | None]] = [
            ("nan_loss", scan.nan_line and f"a NaN loss in its log ({scan.nan_line})"),
            ("oom", scan.oom_line and f"an out-of-memory error in its log ({scan.oom_line})"),
            (
                "stalled",
                f"no log output for {quiet / 60:.1f} minutes (it is still {stage})" if quiet >= stall_s else None,
            ),
        ]
        for reason, text in problems:
            if text and (wake := _problem(waiting, reason, text, paid=paid)) is not None:
                return wake
        return None
    message = f" - {job.status.message}" if job.status.message else ""
    oom = "out of memory" in (job.status.message or "").lower() or "oom" in (job.status.message or "").lower()
    return Wake(
        "oom" if oom else "finished",
        f"[ml-intern watch] Hugging Face Job {waiting.job_id} finished: {stage}{message}. Read its log with "
        f"hf_jobs operation=logs job_id={waiting.job_id}.",
        True,
    )
