"""Blocking work (file I/O, synchronous HTTP clients) off the event loop, in a thread the engine can abandon.

asyncio.to_thread uses the loop's default executor, and asyncio.run joins that executor's threads on the
way out: one call stuck in the kernel (a slow network filesystem, a server that never answers) would keep
the process alive after a timeout or Ctrl-C. Here calls run on daemon threads; when the awaiting task is
cancelled (the tool timeout, SIGINT, SIGTERM) the thread is left to finish or to die with the process.
Idle threads are reused (starting one per call cost most of a fast tool call's CPU); a new one starts only
when every thread is busy, so a hung call never holds up the next, and an idle thread exits after a while.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

IDLE_SECONDS = 30.0  # an idle worker exits after this long without work

_jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
_lock = threading.Lock()
_idle = 0  # workers waiting for a job that no queued job has claimed yet


def _worker() -> None:
    global _idle
    while True:
        try:
            job = _jobs.get(timeout=IDLE_SECONDS)
        except queue.Empty:
            with _lock:
                if _jobs.empty():  # a job queued after the timeout still finds this worker
                    _idle -= 1
                    return
            continue
        job()
        with _lock:
            _idle += 1


def _forget_workers() -> None:
    """In a forked child: the parent's workers do not exist here (and the lock may have been held by one of
    them at the fork), so counting them as idle would leave every job queued forever."""
    global _jobs, _lock, _idle
    _jobs, _lock, _idle = queue.SimpleQueue(), threading.Lock(), 0


os.register_at_fork(after_in_child=_forget_workers)


def _submit(job: Callable[[], None]) -> None:
    """Queue `job` for an idle worker, or start a new worker when none is idle (all busy or hung)."""
    global _idle
    with _lock:
        _jobs.put(job)
        if _idle > 0:
            _idle -= 1
            return
    threading.Thread(target=_worker, name="off-loop", daemon=True).start()


def _settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller gave up (timeout, cancellation)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


async def off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` in a daemon worker thread; cancelling the await abandons the thread."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future = loop.create_future()
    context = contextvars.copy_context()

    def work() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = context.run(fn, *args, **kwargs)
        except BaseException as exc:  # handed to the awaiting task, which decides
            error = exc
        try:
            loop.call_soon_threadsafe(_settle, future, result, error)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    _submit(work)
    return await future
