"""Jobs left running with nobody watching: started by a session that has ended (no process drives it) and
not waited for (no wait_for_job). Listed at start-up and when a session ends, with what they cost so far
and how to cancel them. Sandbox Spaces have their own clean-up (tools/sandbox/records.py)."""

from __future__ import annotations

import time
from pathlib import Path

from tools.runs import ledger, waiting

_HF_ENDED = {"completed", "canceled", "cancelled", "error", "deleted"}


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def orphan_lines(home: Path, driven: set[str]) -> list[tuple[str | None, str]]:
    """(session id, line) per job left running and not waited for; `driven`: sessions known to be driven now
    (their jobs are not orphans; the caller also drops the sessions another live process drives)."""
    from tools.jobs import registry

    waited = {w.job_id for _, w in waiting.waiting_sessions(home)}
    now, lines = time.time(), []
    for record in registry.all_records(home / "jobs"):
        if (
            record.id in waited
            or (record.session in driven)
            or registry.live_status(record) not in ("running", "starting")
        ):
            continue
        line = (
            f"job {record.id} of session {record.session or '?'} is still running on this machine "
            f"({record.display[:60]}, {_age(now - (record.started_at or record.created_at))}, $0): "
            f"cancel it with ml-intern runs cancel {record.id}"
        )
        lines.append((record.session, line))
    for run in ledger.all_runs():
        if run.kind != "hf_job" or run.id in waited or run.session in driven or run.status in _HF_ENDED:
            continue
        age = now - run.created_at
        cost = f"up to ${run.price_per_hour_usd * age / 3600:.2f} so far" if run.price_per_hour_usd else "price unknown"
        line = (
            f"Hugging Face Job {run.id} of session {run.session or '?'} may still be running on {run.hardware} "
            f"(last seen {run.status}, started {_age(age)} ago, {cost}): cancel it with ml-intern runs cancel {run.id}"
        )
        lines.append((run.session, line))
    return lines
