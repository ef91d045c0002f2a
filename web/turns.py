"""A turn running in the background of the server, with its events numbered for any number of listeners.

The turn is an asyncio task, not tied to the request that started it nor to any page listening: a reload
or a lost connection only loses a listener, and the next one asks for the events after the last number
it saw (SSE's Last-Event-ID). The numbers keep growing across a session's turns, so a number names one
event for as long as the server drives the session.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from core.events import Event, Interrupted, Ready, TurnComplete

Wire = dict[str, Any]


class EventLog:
    """The events of the current turn of one session (the earlier turns are in the checkpoint)."""

    def __init__(self, session_id: str):
        self.session_id = session_id
        # Numbers start from the clock (ms), so a log opened again for the same session (after the idle
        # clean-up, or by another replica) numbers above anything a page saw from the one before.
        self.first_seq = int(time.time() * 1000)
        self.events: list[Wire] = []
        self.running = False
        self.closed = False  # the server let the session go: listeners end, and reconnect to its next log
        self._changed = asyncio.Condition()

    @property
    def last_seq(self) -> int:
        return self.first_seq + len(self.events) - 1

    async def begin(self) -> None:
        """A new turn: its events start after the last number handed out."""
        async with self._changed:
            self.first_seq = self.last_seq + 1
            self.events = []
            self.running = True
            self._changed.notify_all()

    async def add(self, event: Event) -> None:
        async with self._changed:
            wire = event.wire(self.session_id)
            wire["seq"] = self.first_seq + len(self.events)
            self.events.append(wire)
            self._changed.notify_all()

    async def end(self) -> None:
        async with self._changed:
            self.running = False
            self._changed.notify_all()

    async def close(self) -> None:
        async with self._changed:
            self.closed = True
            self._changed.notify_all()

    async def follow(self, after: int, keepalive_s: float = 15.0, once: bool = False) -> AsyncIterator[Wire | None]:
        """Every event numbered above `after` (from the current turn), then each new one as it comes;
        None every `keepalive_s` without one (the SSE comment that keeps proxies from closing the stream).
        `once`: stop when the current turn has ended and all its events are out."""
        while True:
            if (once and not self.running and after >= self.last_seq) or (self.closed and after >= self.last_seq):
                return
            async with self._changed:
                start = max(after + 1, self.first_seq) - self.first_seq
                if start >= len(self.events):
                    try:
                        await asyncio.wait_for(self._changed.wait(), keepalive_s)
                    except TimeoutError:
                        pass
                    start = max(after + 1, self.first_seq) - self.first_seq
                fresh = self.events[start:]
            if not fresh:
                yield None
                continue
            for wire in fresh:
                after = wire["seq"]
                yield wire


async def run_turn(log: EventLog, events: Callable[[], AsyncIterator[Event]], finish: Callable[[], Awaitable[None]]):
    """Drive one turn into `log`; a stop (cancel) still ends the log with interrupted + turn_complete + ready."""
    try:
        async for event in events():
            await log.add(event)
    except asyncio.CancelledError:
        await asyncio.shield(_closing(log))
        raise
    except Exception as exc:  # the session runtime reports engine errors itself: this is storage or the lease
        from core.events import Error

        await log.add(Error(message=str(exc) or type(exc).__name__, kind="agent"))
        await log.add(TurnComplete(status="error:agent"))
        await log.add(Ready())
    finally:
        try:
            await asyncio.shield(finish())
        finally:
            await log.end()


async def _closing(log: EventLog) -> None:
    await log.add(Interrupted())
    await log.add(TurnComplete(status="interrupted"))
    await log.add(Ready())
