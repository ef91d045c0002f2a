"""The sandbox Spaces this process drives, at most one per session: reaching them, the idle timeout, and
deleting every one when the agent closes (or ending one on request).

A session whose sandbox was deleted behind the model's back (idle) keeps a note, so its next bash or file
call fails with the reason instead of quietly running on this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tools.base import ToolError
from tools.sandbox import records, space

_RECORD_EVERY_S = 30.0


@dataclass
class Live:
    space_id: str
    session: str
    hardware: str
    price_per_hour: float | None
    url: str
    client: Any  # tools.sandbox.client.SandboxClient
    settings: Any
    idle_s: float
    created_at: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    busy: int = 0
    watcher: asyncio.Task | None = None
    _recorded: float = 0.0

    def cost_so_far(self) -> str:
        if not self.price_per_hour:
            return "free"
        return f"about ${self.price_per_hour * (time.monotonic() - self.created_at) / 3600:.2f} so far"


_live: dict[str, Live] = {}
_creating: dict[str, tuple[str, Any]] = {}  # session -> (space id, settings) while sandbox_create runs
_ended: dict[str, str] = {}  # session -> why its sandbox is gone


def get(session: str) -> Live | None:
    """The session's sandbox; ToolError when it was deleted without the model asking (idle)."""
    if session in _ended:
        raise ToolError(_ended[session])
    return _live.get(session)


def current(session: str) -> Live | None:
    return _live.get(session)


def forget(session: str) -> None:
    """Drop the note about a sandbox deleted while idle: commands run on this machine again."""
    _ended.pop(session, None)


@contextlib.asynccontextmanager
async def using(live: Live):
    """Around every call: the sandbox counts as busy (never idle) until it returns."""
    live.busy += 1
    try:
        yield live.client
    finally:
        live.busy -= 1
        live.last_used = time.monotonic()
        if live.last_used - live._recorded > _RECORD_EVERY_S:
            live._recorded = live.last_used
            record = records.load_or_none(live.space_id)
            if record is not None:
                record.last_used = time.time()
                records.save(record)


async def open_sandbox(settings: Any, session: str, hardware: str, log: Callable[[str], None]) -> Live:
    from tools.sandbox.client import SandboxClient

    _ended.pop(session, None)
    try:
        created = await space.create(
            settings,
            session=session,
            hardware=hardware,
            log=log,
            on_record=lambda space_id: _creating.__setitem__(session, (space_id, settings)),
        )
    finally:
        _creating.pop(session, None)
    client = SandboxClient(created.url, created.token, space.edge_auth(settings, created.space_id))
    live = Live(
        created.space_id, session, hardware, created.price_per_hour, created.url, client, settings,
        float(settings.sandbox.space.idle_timeout_s),
    )  # fmt: skip
    live.watcher = asyncio.create_task(_watch_idle(live), name=f"sandbox-idle:{created.space_id}")
    _live[session] = live
    return live


async def _watch_idle(live: Live) -> None:
    while True:
        await asyncio.sleep(max(0.05, live.last_used + live.idle_s - time.monotonic()))
        if live.busy == 0 and time.monotonic() - live.last_used >= live.idle_s:
            break
    minutes = f"{live.idle_s / 60:g} min"
    if _live.get(live.session) is live:
        del _live[live.session]
    # Noted before the deletion starts: from now on the session's calls say what happened.
    _ended[live.session] = (
        f"The sandbox Space {live.space_id} was deleted after {minutes} without a call: its files are gone. "
        "Call sandbox_create for a new one, or sandbox_delete to run commands on this machine again."
    )
    try:
        await _shut(live)
    except ToolError as exc:
        _ended[live.session] = (
            f"The sandbox Space {live.space_id} went idle for {minutes} and deleting it failed ({exc}): "
            "call sandbox_create for a new one, or sandbox_delete to run commands on this machine again."
        )


async def _shut(live: Live) -> None:
    try:
        await live.client.aclose()
    finally:
        await space.delete(live.settings, live.space_id)


async def close(session: str) -> Live | None:
    """Delete the session's sandbox (and forget a note about an earlier one)."""
    _ended.pop(session, None)
    live = _live.pop(session, None)
    if live is None:
        return None
    if live.watcher is not None:
        live.watcher.cancel()
    await _shut(live)
    return live


async def close_all() -> list[str]:
    """At the agent's end: delete every sandbox this process created or is creating; one line each."""
    lines = []
    for session in list(_live):
        live = _live[session]
        try:
            await close(session)
            lines.append(f"deleted the sandbox Space {live.space_id} ({live.cost_so_far()})")
        except ToolError as exc:
            lines.append(f"{exc}; `ml-intern sandboxes delete {live.space_id}` retries")
    for session, (space_id, settings) in list(_creating.items()):
        _creating.pop(session, None)
        try:
            await space.delete(settings, space_id)
        except ToolError as exc:
            lines.append(f"{exc}; `ml-intern sandboxes delete {space_id}` retries")
    _ended.clear()
    return lines
