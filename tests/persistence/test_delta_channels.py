"""State that grows with the session (messages, files read, undo points) is stored as per-step changes, and
reads back right wherever a session goes: resumed by another process, forked, undone, saved by an older
ml-intern. The SQLite saver's own ancestor walk (persistence/savers.py) must rebuild exactly what
LangGraph's stock walk rebuilds."""

from __future__ import annotations

import sqlite3
from typing import Annotated, Any, TypedDict

import pytest
from helpers import call, collect, open_agent
from langgraph.channels.delta import DeltaChannel

from core.state import append_turns, merge_files_read


def read_calls(paths: list[str], prefix: str = "r") -> list[dict[str, Any]]:
    return [{"tool_calls": [call("read", {"path": p}, f"{prefix}{i}")]} for i, p in enumerate(paths)]


async def files_read(session) -> set[str]:
    return {path.rsplit("/", 1)[-1] for path in (await session.state()).values.get("files_read", {})}


async def test_files_read_follows_resume_fork_and_undo(db_backend, replay, workspace):
    for name in ("a.txt", "b.txt", "c.txt"):
        (workspace / name).write_text(f"{name} line\n")
    turn1 = replay([*read_calls(["a.txt"]), {"content": "read a"}])
    edit_a = {"tool_calls": [call("edit", {"path": "a.txt", "old_str": "a.txt line", "new_str": "edited"}, "e1")]}
    turn2 = replay([edit_a, *read_calls(["b.txt"], "s"), {"content": "edited a, read b"}])
    edit_c = {"tool_calls": [call("edit", {"path": "c.txt", "old_str": "c.txt line", "new_str": "edited"}, "e2")]}
    forked = replay([*read_calls(["c.txt"], "f"), edit_c, {"content": "edited c"}])

    async with open_agent(turn1, workspace) as agent:
        session = await agent.new_session()
        await collect(session.run("read a"))
        sid = session.id
    async with open_agent(turn2, workspace) as agent:  # another process: everything comes from the database
        session = await agent.load_session(sid)
        assert await files_read(session) == {"a.txt"}
        events = await collect(session.run("edit a, read b"))  # edit needs the read of turn 1
        outputs = {e.tool_call_id: e for e in events if e.type == "tool_output"}
        assert not outputs["e1"].is_error, outputs["e1"].content
        assert await files_read(session) == {"a.txt", "b.txt"}

        agent.deps.model_id = forked
        child = await session.fork()
        assert await files_read(child) == {"a.txt", "b.txt"}
        events = await collect(child.run("edit c"))
        assert not [e.content for e in events if e.type == "tool_output" and e.is_error]
        assert await files_read(child) == {"a.txt", "b.txt", "c.txt"}

        assert (await session.undo()).type == "undo_complete"
        assert await files_read(session) == {"a.txt"}  # turn 2's read of b is undone, the fork keeps its own
        assert await files_read(child) == {"a.txt", "b.txt", "c.txt"}
        assert (await session.undo()).type == "undo_complete"
        assert await files_read(session) == set()

    async with open_agent(turn2, workspace) as agent:
        assert await files_read(await agent.load_session(sid)) == set()


def checkpoint_channels(db, thread_id: str) -> list[dict[str, Any]]:
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    serde = JsonPlusSerializer()
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT type, checkpoint FROM checkpoints WHERE thread_id = ?", (thread_id,)).fetchall()
    return [serde.loads_typed((type_, blob))["channel_values"] for type_, blob in rows]


async def test_growing_channels_are_never_stored_whole_in_each_checkpoint(replay, workspace, isolated_home):
    """files_read grows with every file read: stored whole in each checkpoint it made 300 steps take 16 MB."""
    from bench.accounting import growth, sqlite

    paths = [f"f{i}.txt" for i in range(60)]
    for path in paths:
        (workspace / path).write_text(f"{path}\n" * 40)

    sizes = {}
    async with open_agent(replay([*read_calls(paths[:30]), {"content": "30"}]), workspace) as agent:
        session = await agent.new_session()
        await collect(session.run("read 30"))
        sizes[30] = sqlite(isolated_home / "sessions.sqlite", session.id)[1]
        agent.deps.model_id = replay([*read_calls(paths[30:], "s"), {"content": "60"}])
        session = await agent.load_session(session.id)
        await collect(session.run("read 30 more"))
        assert len(await files_read(session)) == 60
        sizes[60] = sqlite(isolated_home / "sessions.sqlite", session.id)[1]
        thread = session.id

    for values in checkpoint_channels(isolated_home / "sessions.sqlite", thread):
        for name in ("messages", "files_read", "turns"):  # only as a snapshot, never as a plain value
            assert name not in values or type(values[name]).__name__ == "_DeltaSnapshot"
    ratios = growth(sizes[30], 30, sizes[60], 60)
    total = sum(sizes[60].values())
    grown = {name: round(r, 2) for name, r in ratios.items() if sizes[60][name] > 0.02 * total and r > 1.3}
    assert not grown, f"bytes/step at 60 / at 30 steps: {grown}"


async def _compare_walks(db, thread_id: str, channels: list[str]) -> int:
    """Our walk against LangGraph's for every checkpoint of the thread; returns how many were compared."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from persistence.checkpointer import _sqlite
    from persistence.savers import SqliteSaver

    def plain(history):
        out = {}
        for ch, entry in history.items():
            seed = entry.get("seed")
            seed = getattr(seed, "value", seed)
            values = [w[2] for w in entry["writes"]]
            out[ch] = (repr(seed), repr(values), [w[0] for w in entry["writes"]])
        return out

    async with _sqlite(db.parent) as conn:
        ours, stock = SqliteSaver(conn), AsyncSqliteSaver(conn)
        compared = 0
        configs = [saved.config async for saved in stock.alist({"configurable": {"thread_id": thread_id}})]
        for config in configs:
            expected = plain(await stock.aget_delta_channel_history(config=config, channels=channels))
            assert plain(await ours.aget_delta_channel_history(config=config, channels=channels)) == expected
            assert plain(await ours.aget_delta_channel_history(config=config, channels=channels)) == expected
            compared += 1
    return compared


async def test_the_sqlite_walk_rebuilds_what_langgraph_rebuilds(replay, workspace, isolated_home, monkeypatch):
    """Snapshots every 3 writes, two turns, an undo, a fork and a compaction (an Overwrite): every
    checkpoint's history, seed and writes, is the same through our walk and LangGraph's."""
    import core.state

    monkeypatch.setattr(core.state, "SNAPSHOT_EVERY", 3)
    paths = [f"f{i}.txt" for i in range(8)]
    for path in paths:
        (workspace / path).write_text(f"{path}\n")
    script = [*read_calls(paths[:4]), {"content": "four"}, *read_calls(paths[4:], "s"), {"content": "eight"}]
    script += [{"content": "summary of it all"}, {"content": "after compaction"}]

    async with open_agent(replay(script), workspace) as agent:
        session = await agent.new_session()
        await collect(session.run("first four"))
        await collect(session.run("next four"))
        child = await session.fork()
        await session.undo()
        await collect(session.run("again"))
        await collect(session.compact())
        parent, child = session.id, child.id

    db = isolated_home / "sessions.sqlite"
    assert await _compare_walks(db, parent, ["messages", "files_read", "turns"]) > 40
    assert await _compare_walks(db, child, ["messages", "files_read", "turns"]) > 1


def _merge(current, update):
    return {**(current or {}), **(update or {})}


class _OldState(TypedDict, total=False):
    files_read: Annotated[dict[str, float], _merge]
    turns: list[str]


class _NewState(TypedDict, total=False):
    files_read: Annotated[dict[str, float], DeltaChannel(merge_files_read, snapshot_frequency=500)]
    turns: Annotated[list[str], DeltaChannel(append_turns, snapshot_frequency=500)]


async def test_a_session_saved_before_files_read_was_a_delta_channel_continues(tmp_path):
    """Saved by an older ml-intern: files_read and turns were plain channels (their whole value in every
    checkpoint) and versions had 32 digits. Our saver and schema read it and carry on from it."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
    from langgraph.graph import START, StateGraph

    from persistence.checkpointer import _sqlite
    from persistence.savers import SqliteSaver

    def graph(schema, saver, prefix):
        counter = {"n": 0}

        def step(state):
            counter["n"] += 1
            return {"files_read": {f"/{prefix}{counter['n']}": float(counter["n"])}}

        builder = StateGraph(schema)
        builder.add_node("step", step)
        builder.add_edge(START, "step")
        return builder.compile(checkpointer=saver)

    config = {"configurable": {"thread_id": "t"}}
    async with _sqlite(tmp_path) as conn:
        old = graph(_OldState, await _ready(AsyncSqliteSaver(conn)), "old")
        await old.ainvoke({"files_read": {"/a": 1.0}, "turns": ["c1"]}, config)
        await old.ainvoke({"turns": ["c1", "c2"]}, config)
        new = graph(_NewState, await _ready(SqliteSaver(conn)), "new")
        values = (await new.aget_state(config)).values
        assert values == {"files_read": {"/a": 1.0, "/old1": 1.0, "/old2": 2.0}, "turns": ["c1", "c2"]}
        await new.ainvoke({"turns": ["c3"]}, config)
        await new.ainvoke({"turns": ["c4"]}, config)
        values = (await new.aget_state(config)).values
        assert values["turns"] == ["c1", "c2", "c3", "c4"]
        assert set(values["files_read"]) == {"/a", "/old1", "/old2", "/new1", "/new2"}


async def _ready(saver):
    await saver.setup()
    return saver


@pytest.mark.parametrize(
    "stock",
    ["00000000000000000000000000000009.0.8813520316651286", "00000000000000000000000000001504.0.12", None, 7],
)
def test_short_versions_grow_and_sort_after_the_savers_format(stock):
    from persistence.versions import next_serial

    after = next_serial(stock)
    assert len(after) == 9
    if isinstance(stock, str):
        assert after > stock and int(after) == int(stock.split(".")[0]) + 1
    assert next_serial(after) > after
    assert next_serial("000000009") == "000000010" > "000000009"
