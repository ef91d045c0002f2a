"""Checkpoint storage grows linearly with the session (messages are stored as per-step deltas)."""

from __future__ import annotations

import sqlite3

from helpers import call, collect, open_agent

from tools.base import Risk, Tool


def two_kb_tool() -> Tool:
    async def handler(args, ctx):
        return f"{args.get('i')} " + "z" * 2048

    return Tool(
        name="out",
        description="",
        risk=Risk.READ_ONLY,
        handler=handler,
        parameters={"type": "object", "properties": {"i": {"type": "integer"}}},
    )


def stored_bytes(db, thread_id: str) -> int:
    with sqlite3.connect(db) as conn:
        checkpoints = conn.execute(
            "SELECT COALESCE(SUM(LENGTH(checkpoint)), 0) FROM checkpoints WHERE thread_id = ?", (thread_id,)
        ).fetchone()[0]
        writes = conn.execute(
            "SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes WHERE thread_id = ?", (thread_id,)
        ).fetchone()[0]
    return checkpoints + writes


async def test_storage_per_step_does_not_grow_with_history(replay, workspace, isolated_home):
    sizes = {}

    for steps in (25, 50, 100):
        turns = [{"tool_calls": [call("out", {"i": i}, f"c{i}")]} for i in range(steps)] + [{"content": "ok"}]
        async with open_agent(replay(turns), workspace, extra_tools=[two_kb_tool()], builtin=False) as agent:
            session = await agent.new_session()
            await collect(session.run("go"))
            assert len(await session.messages()) == 2 * steps + 2
            sizes[steps] = stored_bytes(isolated_home / "sessions.sqlite", session.id)
    # linear: doubling the steps roughly doubles the bytes (a full re-store per step would quadruple them)
    assert sizes[50] / sizes[25] < 2.5
    assert sizes[100] / sizes[50] < 2.5
    assert sizes[100] / 100 < 40_000  # bytes per step stay near the size of the step's own messages
