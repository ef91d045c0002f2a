"""Two app replicas on one PostgreSQL database (and one shared home volume): either continues any session,
and the session lock keeps the second from driving a session while the first does."""

from __future__ import annotations

from contextlib import AsyncExitStack

from web_client import app_client, follow, sign


async def test_two_replicas_share_sessions_and_never_drive_one_at_once(
    postgres_database, monkeypatch, replay, web_options
):
    monkeypatch.setenv("ML_INTERN_DATABASE_URL", postgres_database)
    model = replay([{"content": "slow answer " * 20, "delay_s": 1.5}, {"content": "continued on replica B"}])
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(app_client(web_options(model)))
        b = await stack.enter_async_context(app_client(web_options(model)))
        await sign(a)
        await sign(b)
        sid = (await a.post("/api/sessions", json={})).json()["session"]["id"]
        assert [s["id"] for s in (await b.get("/api/sessions")).json()["sessions"]] == [sid]
        after = (await a.post(f"/api/sessions/{sid}/messages", json={"text": "on A"})).json()["after"]
        async for wire in a.app.state.runtime.drivers[sid].log.follow(after):
            if wire and wire["type"] == "assistant_chunk":
                break
        seen_from_b = (await b.get(f"/api/sessions/{sid}")).json()
        assert seen_from_b["elsewhere"] is True and seen_from_b["running"] is False
        refused = await b.post(f"/api/sessions/{sid}/messages", json={"text": "on B too"})
        assert refused.status_code == 409 and "in use by another ml-intern" in refused.json()["detail"]
        assert (await follow(a, sid, after))[-2]["data"]["status"] == "done"  # A ends its turn: the lock is free

        after = (await b.post(f"/api/sessions/{sid}/messages", json={"text": "on B"})).json()["after"]
        events = await follow(b, sid, after)
        assert events[-2]["data"]["status"] == "done"
        items = (await a.get(f"/api/sessions/{sid}")).json()["items"]
        assert [i["text"] for i in items if i["kind"] == "user"] == ["on A", "on B"]  # A reads B's turn
        assert items[-1]["text"] == "continued on replica B"
