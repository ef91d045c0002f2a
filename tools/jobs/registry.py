"""The on-disk job registry: one folder per job holding job.json and log.txt.

Records live under $ML_INTERN_HOME/jobs so every session (and a restarted agent) sees the same
jobs. The runner process owns a record's status while it lives; readers compute the live status
(a record that says "running" whose runner died is reported as "lost"). Only the standard library
is used here because the runner imports it.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from core.paths import ml_intern_home

TERMINAL = frozenset({"succeeded", "failed", "timed_out", "cancelled", "lost"})
_STARTING_GRACE_S = 60.0  # a job still "starting" after this with no runner is lost
_TAIL_LINE_CHARS = 2000


@dataclass
class JobRecord:
    id: str
    command: list[str]  # argv of the job itself
    display: str  # what was asked for, for humans: the script path or shell command
    cwd: str
    status: str = "starting"  # starting | running | succeeded | failed | timed_out | cancelled | lost
    hardware: str = "local"
    timeout_s: float | None = None
    dependencies: list[str] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    ended_at: float | None = None
    runner_pid: int | None = None
    pid: int | None = None  # the job's main process; it leads its own process group
    exit_code: int | None = None  # negative: killed by that signal
    error: str | None = None
    gpus: list[str] = field(default_factory=list)
    session: str | None = None  # the agent session that started it: "the last job" means this session's
    sandbox: list[str] = field(default_factory=list)  # the runner starts [*sandbox, *command] (bwrap's arguments)

    @classmethod
    def from_dict(cls, data: dict) -> JobRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def jobs_home() -> Path:
    """$ML_INTERN_HOME/jobs (default ~/.ml-intern/jobs)."""
    return ml_intern_home().absolute() / "jobs"  # absolute: the runner works from another folder


def new_job_id() -> str:
    return secrets.token_hex(4)


def job_dir(job_id: str, home: Path | None = None) -> Path:
    return (home or jobs_home()) / job_id


def log_path(directory: Path) -> Path:
    return directory / "log.txt"


def save(directory: Path, record: JobRecord) -> None:
    """Atomic replace, so a reader never sees half a record."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = directory / f".job.{os.getpid()}.{secrets.token_hex(3)}.tmp"
    tmp.write_text(json.dumps(asdict(record), indent=1))
    os.replace(tmp, directory / "job.json")


def load(directory: Path) -> JobRecord:
    return JobRecord.from_dict(json.loads((directory / "job.json").read_text()))


def all_records(home: Path | None = None) -> list[JobRecord]:
    """Every readable record, newest first."""
    root = home or jobs_home()
    records = []
    if root.is_dir():
        for child in root.iterdir():
            try:
                records.append(load(child))
            except (OSError, ValueError, TypeError):
                continue
    return sorted(records, key=lambda r: r.created_at, reverse=True)


def latest(session: str, home: Path | None = None) -> tuple[Path, JobRecord] | None:
    """The most recent job started by `session`."""
    root = home or jobs_home()
    for record in all_records(root):
        if record.session == session:
            return root / record.id, record
    return None


def find(job_id: str, home: Path | None = None) -> tuple[Path, JobRecord] | None:
    """The job with this id, or the only one whose id starts with it."""
    root = home or jobs_home()
    job_id = job_id.strip()
    if not job_id or "/" in job_id or job_id.startswith("."):
        return None
    exact = root / job_id
    if (exact / "job.json").is_file():
        return exact, load(exact)
    if not root.is_dir():
        return None
    matches = [c for c in root.iterdir() if c.name.startswith(job_id) and (c / "job.json").is_file()]
    if len(matches) == 1:
        return matches[0], load(matches[0])
    return None


def cancel_requested(directory: Path) -> bool:
    return (directory / "cancel").exists()


def request_cancel(directory: Path) -> None:
    (directory / "cancel").touch()


# ---------------------------------------------------------------- process liveness


def _proc_stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm (field 2) may contain spaces; the fields after it start after the last ')'
    return raw[raw.rfind(")") + 2 :].split()


def pid_alive(pid: int | None) -> bool:
    """True if the process runs (a zombie nobody reaped counts as gone)."""
    if not pid:
        return False
    if Path("/proc/self/stat").exists():
        stat = _proc_stat(pid)
        return stat is not None and stat[0] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def group_alive(pgid: int | None) -> bool:
    """True if any live (non-zombie) process is in process group `pgid`."""
    if not pgid:
        return False
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(int(entry.name))
        if stat and stat[0] not in ("Z", "X") and stat[2] == str(pgid):
            return True
    return False


def live_status(record: JobRecord) -> str:
    """The status as it is now, not as last written: a vanished runner means the job is lost."""
    if record.status in TERMINAL:
        return record.status
    if record.runner_pid is None:
        if time.time() - record.created_at > _STARTING_GRACE_S:
            return "lost"
        return record.status
    if pid_alive(record.runner_pid):
        return record.status
    if group_alive(record.pid):
        return "running"  # the runner died but the job itself goes on
    return "lost"


# ---------------------------------------------------------------- logs


def _clean_line(line: str) -> str:
    if "\r" in line:  # progress bars: show the last state, as a terminal would
        parts = [p for p in line.split("\r") if p]
        line = parts[-1] if parts else ""
    if len(line) > _TAIL_LINE_CHARS:
        line = line[:_TAIL_LINE_CHARS] + " ..."
    return line


def tail_lines(path: Path, n: int) -> list[str]:
    """The last n lines of a log without reading the whole file."""
    if n <= 0 or not path.exists():
        return []
    block = 65536
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        data = b""
        pos = size
        while pos > 0 and data.count(b"\n") <= n:
            step = min(block, pos)
            pos -= step
            fh.seek(pos)
            data = fh.read(step) + data
            if len(data) > 64 * 1024 * 1024:  # a single absurd line: stop growing
                break
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if pos > 0 and lines:
        lines = lines[1:]  # first line is probably partial
    return [_clean_line(line) for line in lines[-n:]]
