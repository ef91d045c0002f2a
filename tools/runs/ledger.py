"""The run ledger's records: $ML_INTERN_HOME/runs/<run id>.json, one per run the agent started, the run id
being its job id. A record holds what was decided at the start (code, command, hyperparameters, data,
hardware, price); what changes (status, duration, cost, metrics) is read live from the job when a run is
shown: the local job registry and log, or for a Hugging Face Job the state and log the hf_jobs tool last
fetched (it updates the record).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from core.paths import ml_intern_home
from tools.runs.code import git_state, hyperparameters, referenced_repos, sha256_text
from tools.runs.metrics import LogScan, scan_file

RunKind = Literal["local", "hf_job", "command"]  # a local job, a Hugging Face Job, a bash command marked as a run


@dataclass
class RunRecord:
    id: str  # the job id
    kind: RunKind
    command: str  # what was run, for humans
    argv: list[str] = field(default_factory=list)  # a local run's argv (what `runs reproduce` starts again)
    cwd: str = ""
    session: str | None = None
    created_at: float = field(default_factory=time.time)
    script: str | None = None  # the script's path or name
    code_sha256: str | None = None  # of the script's text
    git_commit: str | None = None
    diff_sha256: str | None = None  # of the workspace's uncommitted changes (None: clean, or no git)
    hyperparameters: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # the variables the agent set (never secrets)
    datasets: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    hardware: str = "local"
    timeout_s: float | None = None
    price_per_hour_usd: float | None = None  # None: free (local) or unknown
    reproduces: str | None = None  # the run this one re-ran
    # a Hugging Face Job's as the hf_jobs tool last saw them, a command's once it ended
    status: str = "submitted"
    running_s: float | None = None
    log_path: str | None = None
    exit_code: int | None = None  # a command's (a local job's is in its job record)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class RunView:
    """A run as it is now: its record plus status, duration, exit code, cost and metrics."""

    record: RunRecord
    status: str
    duration_s: float | None
    exit_code: int | None
    cost_usd: float | None
    scan: LogScan
    log_path: Path | None

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self.record),
            "status": self.status,
            "duration_s": self.duration_s,
            "exit_code": self.exit_code,
            "cost_usd": self.cost_usd,
            "metrics": self.scan.final(),
            "curves": {k: v for k, v in self.scan.curves.items() if len(v) > 1},
            "nan_loss": self.scan.nan_line,
            "oom": self.scan.oom_line,
            "log_path": str(self.log_path) if self.log_path else None,
        }


def runs_home() -> Path:
    return ml_intern_home().absolute() / "runs"


def _path(run_id: str) -> Path:
    return runs_home() / f"{run_id}.json"


def save(record: RunRecord) -> None:
    """Atomic replace: a reader never sees half a record."""
    home = runs_home()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = home / f".{record.id}.{os.getpid()}.{secrets.token_hex(3)}.tmp"
    tmp.write_text(json.dumps(asdict(record), indent=1))
    os.replace(tmp, _path(record.id))


def load(run_id: str) -> RunRecord | None:
    try:
        return RunRecord.from_dict(json.loads(_path(run_id).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def all_runs(session: str | None = None) -> list[RunRecord]:
    """Every readable record (of one session when given), oldest first."""
    home = runs_home()
    records = []
    if home.is_dir():
        for path in home.glob("*.json"):
            record = load(path.stem)
            if record is not None and (session is None or record.session == session):
                records.append(record)
    return sorted(records, key=lambda r: r.created_at)


def find(ref: str) -> RunRecord | None:
    """The run with this id, or the only one whose id starts with it."""
    ref = ref.strip()
    if not ref or "/" in ref or ref.startswith("."):
        return None
    exact = load(ref)
    if exact is not None:
        return exact
    matches = [r for r in all_runs() if r.id.startswith(ref)]
    return matches[0] if len(matches) == 1 else None


def new_record(
    run_id: str,
    kind: RunKind,
    *,
    command: str,
    cwd: Path,
    args: list[str],
    script_text: str | None = None,
    script: str | None = None,
    **fields_: Any,
) -> RunRecord:
    """A record for a run starting now: hashes its code, reads the workspace's git state and the script's
    datasets and models, and takes hyperparameters from its arguments. Blocking (git): call it off the loop."""
    commit, diff = git_state(cwd)
    datasets, models = referenced_repos(script_text or "")
    return RunRecord(
        id=run_id,
        kind=kind,
        command=command,
        cwd=str(cwd),
        script=script,
        code_sha256=sha256_text(script_text) if script_text is not None else None,
        git_commit=commit,
        diff_sha256=diff,
        hyperparameters=hyperparameters(args),
        datasets=datasets,
        models=models,
        **fields_,
    )


def update_hf(run_id: str, status: str, running_s: float | None, log_path: Path | None) -> None:
    """What the hf_jobs tool learned about a Hugging Face Job that is in the ledger (nothing when it is not)."""
    record = load(run_id)
    if record is None:
        return
    record.status, record.running_s = status.lower(), running_s if running_s is not None else record.running_s
    if log_path is not None:
        record.log_path = str(log_path)
    save(record)


def view(record: RunRecord, jobs_home: Path | None = None) -> RunView:
    """The run as it is now (see the module docstring)."""
    if record.kind == "local":
        from tools.jobs import registry

        found = registry.find(record.id, jobs_home)
        if found is None:
            return RunView(record, "unknown (job record gone)", None, None, None, LogScan(), None)
        directory, job = found
        log = registry.log_path(directory)
        duration = ((job.ended_at or time.time()) - job.started_at) if job.started_at else None
        return RunView(record, registry.live_status(job), duration, job.exit_code, 0.0, scan_file(log), log)
    log = Path(record.log_path) if record.log_path else None
    if record.kind == "command":
        return RunView(record, record.status, record.running_s, record.exit_code, 0.0, scan_file(log), log)
    price = record.price_per_hour_usd
    cost = price * record.running_s / 3600 if price is not None and record.running_s is not None else None
    return RunView(record, record.status, record.running_s, None, cost, scan_file(log), log)
