"""One driver per session: a lease row per session in the sessions database (SQLite or PostgreSQL).

Two processes driving one session interleave their steps and lose each other's work, so the runtime
takes this lease before it touches a session and holds it while the session is open. A row rather than a
PostgreSQL advisory lock: it works the same on both backends, it survives the connection pool handing out
other connections, and `sessions list` can read who holds a session.

A lease is taken over when its holder is gone: on the same machine (host, boot and PID namespace) the
holder's pid must still run and be the same process (its start time: a pid can be reused); from another
machine the heartbeat (every HEARTBEAT_S) must be younger than LEASE_TTL_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HEARTBEAT_S = 10.0
LEASE_TTL_S = 60.0  # a holder on another machine that has not written for this long is gone
LOCK_COLUMNS = ("session_id", "token", "machine", "host", "pid", "started", "heartbeat")
LOCK_SCHEMA = """CREATE TABLE IF NOT EXISTS ml_intern_session_locks (
    session_id TEXT PRIMARY KEY, token TEXT NOT NULL, machine TEXT NOT NULL, host TEXT NOT NULL,
    pid INTEGER NOT NULL, started TEXT NOT NULL, heartbeat DOUBLE PRECISION NOT NULL)"""


class SessionBusy(Exception):
    """Another live process drives this session; the message names it."""


@dataclass(frozen=True)
class Holder:
    token: str
    machine: str  # host + boot + PID namespace: where a pid means the same process
    host: str
    pid: int
    started: str  # the process start time in clock ticks since boot ("" where /proc is missing)
    heartbeat: float


@cache
def machine_id() -> str:
    """Where pids are comparable: the host name, this boot, this PID namespace."""
    parts = [socket.gethostname()]
    with contextlib.suppress(OSError):
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
    with contextlib.suppress(OSError):
        parts.append(os.readlink("/proc/self/ns/pid"))
    return "|".join(parts)


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process from /proc, None when it does not exist or /proc cannot say."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], fields[19]


def process_started(pid: int) -> str:
    stat = _proc_stat(pid)
    return stat[1] if stat else ""


def this_process() -> Holder:
    pid = os.getpid()
    return Holder(uuid.uuid4().hex, machine_id(), socket.gethostname(), pid, process_started(pid), time.time())


def _pid_runs(pid: int, started: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, as another user
    stat = _proc_stat(pid)
    if stat is None:
        return not started  # no /proc here: the pid is all we know
    state, start = stat
    return state not in ("Z", "X") and (not started or start == started)


def is_alive(holder: Holder, now: float | None = None) -> bool:
    """Does the holder still drive its session? Exact on this machine, by heartbeat from another."""
    if holder.machine == machine_id():
        return _pid_runs(holder.pid, holder.started)
    return (now or time.time()) - holder.heartbeat < LEASE_TTL_S


def busy_message(session_id: str, holder: Holder) -> str:
    where = f"pid {holder.pid} on {holder.host}"
    if holder.machine == machine_id():
        return f"session {session_id} is in use by another ml-intern ({where}): wait for it to finish, or stop it first"
    age = max(0.0, time.time() - holder.heartbeat)
    return (
        f"session {session_id} is in use by another ml-intern ({where}, last seen {age:.0f} s ago): wait for it "
        f"to finish; if that process is gone, its lock expires in {max(0.0, LEASE_TTL_S - age):.0f} s"
    )


class Lease:
    """This process's hold on one session: a heartbeat keeps it fresh until release()."""

    def __init__(self, store, session_id: str, holder: Holder):
        self.store = store
        self.session_id = session_id
        self.holder = holder
        self.lost = False  # another process took the session over (we were frozen past the TTL)
        self._beat = asyncio.get_running_loop().create_task(self._heartbeat())

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                if not await self.store.lock_touch(self.session_id, self.holder.token, time.time()):
                    self.lost = True
                    return
            except Exception:  # a database hiccup: the next beat tries again; the TTL is several beats
                continue

    async def release(self) -> None:
        self._beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._beat
        if not self.lost:
            await self.store.lock_delete(self.session_id, self.holder.token)


async def acquire(store, session_id: str) -> Lease:
    """Take the session's lease, or raise SessionBusy naming the live holder.

    Insert-if-absent, else replace the row only if it still holds the dead holder's token: of two
    processes taking over the same dead lease, exactly one wins."""
    me = this_process()
    for _ in range(3):
        if await store.lock_insert(session_id, me):
            return Lease(store, session_id, me)
        current = await store.lock_get(session_id)
        if current is None:
            continue  # released in between: try again
        if is_alive(current):
            raise SessionBusy(busy_message(session_id, current))
        if await store.lock_replace(session_id, current.token, me):
            return Lease(store, session_id, me)
    raise SessionBusy(f"session {session_id} is being taken over by another ml-intern right now; try again")
