"""The sandbox Spaces this machine created: one JSON file each under $ML_INTERN_HOME/sandboxes/.

A record is written before the Space is created and removed only once the Hub confirms it is gone, so a
crash at any point leaves a trace to clean up (the original lost track of thousands of Spaces). A sandbox
is an orphan when its owner process is dead (pid and start time, on this machine) or its deletion failed;
`reap` deletes orphans (at the start of every session and from `ml-intern sandboxes delete --orphans`).
Records hold no secret: the sandbox's own token lives only in the owner's memory.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from core.paths import ml_intern_home, private_dir

LIVE = ("creating", "running")


@dataclass
class SandboxRecord:
    space_id: str
    endpoint: str  # the Hub it lives on
    session: str  # the agent session that created it
    hardware: str
    price_per_hour: float | None = None
    owner_pid: int = field(default_factory=os.getpid)
    owner_started: int | None = None  # the owner's start time in clock ticks (a reused pid is not the owner)
    machine: str = field(default_factory=socket.gethostname)
    created_at: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.time)
    status: str = "creating"  # creating | running | deleting | delete_failed
    url: str | None = None
    error: str | None = None

    @classmethod
    def from_dict(cls, data: dict) -> SandboxRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def sandboxes_home() -> Path:
    return ml_intern_home().absolute() / "sandboxes"


def record_path(space_id: str) -> Path:
    return sandboxes_home() / (space_id.replace("/", "__") + ".json")


def start_ticks(pid: int) -> int | None:
    """When a process started (clock ticks since boot, /proc/<pid>/stat field 22); None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    parts = stat[stat.rfind(")") + 2 :].split()
    return int(parts[19]) if parts[0] not in ("Z", "X") else None


def save(record: SandboxRecord) -> Path:
    private_dir(ml_intern_home(), "sandboxes")
    path = record_path(record.space_id)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(3)}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(asdict(record), fh, indent=1)
    os.replace(tmp, path)
    return path


def new_record(space_id: str, endpoint: str, session: str, hardware: str, price: float | None) -> SandboxRecord:
    record = SandboxRecord(space_id, endpoint, session, hardware, price, owner_started=start_ticks(os.getpid()))
    save(record)
    return record


def load_or_none(space_id: str) -> SandboxRecord | None:
    try:
        return SandboxRecord.from_dict(json.loads(record_path(space_id).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def remove(space_id: str) -> None:
    record_path(space_id).unlink(missing_ok=True)


def all_records() -> list[SandboxRecord]:
    root = sandboxes_home()
    out = []
    if root.is_dir():
        for path in sorted(root.glob("*.json")):
            try:
                out.append(SandboxRecord.from_dict(json.loads(path.read_text())))
            except (OSError, ValueError, TypeError):
                continue
    return sorted(out, key=lambda r: r.created_at)


def owner_alive(record: SandboxRecord) -> bool | None:
    """True/False for an owner on this machine; None when another machine owns it (we cannot tell)."""
    if record.machine != socket.gethostname():
        return None
    started = start_ticks(record.owner_pid)
    return started is not None and (record.owner_started is None or started == record.owner_started)


def state(record: SandboxRecord) -> str:
    """What `sandboxes list` shows: live, orphan (owner gone or deletion failed), or elsewhere."""
    if record.status == "delete_failed":
        return "orphan"
    alive = owner_alive(record)
    if alive is None:
        return f"owned by {record.machine}"
    return "live" if alive else "orphan"


def orphans(endpoint: str | None = None) -> list[SandboxRecord]:
    return [
        r
        for r in all_records()
        if state(r) == "orphan" and (endpoint is None or r.endpoint == endpoint) and r.owner_pid != os.getpid()
    ]
