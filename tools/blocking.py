"""Blocking work (file I/O, synchronous HTTP clients) off the event loop, in a thread the engine can abandon.

asyncio.to_thread uses the loop's default executor, and asyncio.run joins that executor's threads on the
way out: one call stuck in the kernel (a slow network filesystem, a server that never answers) would keep
the process alive after a timeout or Ctrl-C. Here every call gets its own daemon thread; when the awaiting
task is cancelled (the tool timeout, SIGINT, SIGTERM) the thread is left to finish or to die with the process.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def _settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller gave up (timeout, cancellation)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


async def off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` in a new daemon thread; cancelling the await abandons the thread."""
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

    threading.Thread(target=work, name=f"off-loop:{getattr(fn, '__name__', 'call')}", daemon=True).start()
    return await future
