"""The session registry: sessions from before ids were UUIDs (`20250101-120000-abc123`) are given their UUID
when the database is opened, with their checkpoints, children and folder, once, on both backends; the old id
still names the session; short forms resolve from either end of an id."""

from __future__ import annotations

import asyncio
import time

from helpers import call, collect, open_agent

from persistence.session_ids import from_legacy, is_session_id, short

LEGACY = "20250101-120000-abc123"


async def make_legacy_session(model, workspace) -> tuple[str, str]:
    """A session with a turn and a child, then renamed the way an older ml-intern named it: (old id, child id)."""
    async with open_agent(model, workspace) as agent:
        session = await agent.new_session()
        await collect(session.run("remember this"))
        child = await session.fork()
        store, new = agent.store, session.id
        (session.dir / "outputs").mkdir(exist_ok=True)
        (session.dir / "outputs" / "out.txt").write_text("spilled")
        steps = [
            (store._q(f"UPDATE {table} SET thread_id = ? WHERE thread_id = ?"), (LEGACY, new))
            for table in store.checkpoint_tables
        ]
        steps += [
            (store._q("UPDATE ml_intern_sessions SET id = ? WHERE id = ?"), (LEGACY, new)),
            (store._q("UPDATE ml_intern_sessions SET parent_id = ? WHERE parent_id = ?"), (LEGACY, new)),
        ]
        await session.release()
        await child.release()
        await store._transaction(steps)
        session.dir.rename(session.dir.with_name(LEGACY))
        return LEGACY, child.id


def test_old_sessions_get_uuids_with_their_checkpoints_once(db_backend, replay, workspace, isolated_home):
    model = replay([{"tool_calls": [call("plan_tool", {"todos": []}, "p1")]}, {"content": "remembered"}])

    async def go():
        old, child = await make_legacy_session(model, workspace)
        async with open_agent(model, workspace) as agent:  # opening migrates
            by_new = await agent.load_session(from_legacy(old))
            by_old = await agent.load_session(old)  # the old id still names it
            messages = await by_new.messages()
            listed = await agent.store.list()
            parent = (await agent.store.get(child)).parent_id
            outputs = (by_new.dir / "outputs" / "out.txt").read_text()
            old_folder = (isolated_home / "sessions" / old / "outputs" / "out.txt").read_text()
            await collect(by_new.run("and again"))  # continues under its new id
        async with open_agent(model, workspace) as agent:  # a second opening changes nothing
            again = await agent.store.list()
            undone = await (await agent.load_session(old)).undo()
        return old, by_new, by_old, messages, listed, parent, outputs, old_folder, again, undone

    old, by_new, by_old, messages, listed, parent, outputs, old_folder, again, undone = asyncio.run(go())
    new = from_legacy(old)
    assert is_session_id(new) and by_new.id == by_old.id == new and by_new.info.legacy_id == old
    assert [m.content for m in messages if m.type in ("human", "ai")][-1] == "remembered"
    assert sorted(i.id for i in listed) == sorted(i.id for i in again) and old not in {i.id for i in again}
    assert parent == new  # the fork follows its parent's new id
    assert outputs == old_folder == "spilled"  # the folder moved; paths the model saw still work
    assert undone.type == "undo_complete" and undone.removed_prompt == "and again"


def test_short_forms_resolve_from_either_end_and_never_guess(db_backend, isolated_home, workspace):
    from persistence.session_store import SessionInfo, SessionNotFound

    async def go():
        async with open_agent("replay:/dev/null", workspace) as agent:
            store = agent.store
            ids = ["01a22b80-0000-7000-8000-aaaaaaaaaaaa", "01a22b80-0000-7000-8000-bbbbbbbbbbbb"]  # one minute
            for sid in ids:
                await store.register(SessionInfo(sid, time.time(), time.time()))
            assert not await store.register(SessionInfo(ids[0], 0, 0))  # known: left as it is
            found = [(await store.resolve(form)).id for form in (short(ids[0]), "bbbbbb", ids[1].upper())]
            try:
                await store.resolve("01a22b80")
            except SessionNotFound as exc:
                return found, str(exc)
            return found, ""

    found, ambiguous = asyncio.run(go())
    assert found == [
        "01a22b80-0000-7000-8000-aaaaaaaaaaaa",
        "01a22b80-0000-7000-8000-bbbbbbbbbbbb",
        "01a22b80-0000-7000-8000-bbbbbbbbbbbb",
    ]
    assert "ambiguous" in ambiguous
