"""off_loop: blocking work runs off the event loop, a hung call never holds up the next one, and an abandoned
call's error or result reaches nobody."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tools.blocking import off_loop


async def test_a_call_returns_its_result_and_raises_its_error():
    assert await off_loop(lambda a, b=0: a + b, 2, b=3) == 5
    with pytest.raises(ValueError, match="bad"):
        await off_loop(lambda: (_ for _ in ()).throw(ValueError("bad")))


async def test_a_hung_call_that_was_given_up_on_does_not_block_the_calls_after_it():
    release = threading.Event()
    started = threading.Event()

    def hang() -> str:
        started.set()
        release.wait()
        return "late"

    hung = asyncio.ensure_future(off_loop(hang))
    await asyncio.to_thread(started.wait)
    hung.cancel()  # the tool timeout gives up on it; its thread stays stuck
    try:
        for i in range(5):  # each one finds a free thread although the stuck one never returns
            assert await off_loop(lambda i=i: i * 2) == i * 2
    finally:
        release.set()
    with pytest.raises(asyncio.CancelledError):
        await hung


# sync: it forks and waits on the child (blocking), and runs its in-process parts with asyncio.run
def test_a_forked_process_runs_blocking_work_although_the_parents_workers_are_not_there():
    """The crash tests fork the agent: the parent's idle workers do not exist in the child, which must start
    its own instead of queueing the work for them forever."""
    import os

    assert asyncio.run(off_loop(lambda: "parent")) == "parent"  # leaves an idle worker in this process
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the work ran
        code = 1
        try:

            async def child() -> str:
                return await asyncio.wait_for(off_loop(lambda: "child"), timeout=10)

            code = 0 if asyncio.run(child()) == "child" else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
