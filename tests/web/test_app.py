"""The JSON + SSE API of `ml-intern serve`, in process (httpx's ASGI transport), driven by the replay model."""

from __future__ import annotations

from helpers import call
from web_client import app_client, follow, sign


def _sse(text: str) -> list[dict]:
    import json

    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def _types(events):
    return [e["type"] for e in events]


async def test_a_turn_streams_its_events_and_the_view_rebuilds_it_from_the_checkpoint(replay, web_options):
    model = replay([{"content": "Hello **there**"}])
    async with app_client(web_options(model)) as client:
        me = await sign(client)
        assert me["user"]["id"] == "local" and me["models"][0] == model
        sid = (await client.post("/api/sessions", json={})).json()["session"]["id"]
        started = await client.post(f"/api/sessions/{sid}/messages", json={"text": "hi"})
        assert started.status_code == 202
        events = await follow(client, sid, started.json()["after"])
        assert _types(events)[0] == "processing" and _types(events)[-2:] == ["turn_complete", "ready"]
        assert "".join(e["data"]["content"] for e in events if e["type"] == "assistant_chunk") == "Hello **there**"
        assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
        view = (await client.get(f"/api/sessions/{sid}")).json()
        assert [i["kind"] for i in view["items"]] == ["user", "assistant"]
        assert view["running"] is False and view["after"] == events[-1]["seq"]
        # a page that lost events this server no longer holds is told to redraw from the checkpoint
        stale = await client.get(
            f"/api/sessions/{sid}/events", headers={"Last-Event-ID": str(started.json()["after"] - 5)}
        )
        assert [e["type"] for e in _sse(stale.text)] == ["resync"]
        listed = (await client.get("/api/sessions")).json()["sessions"]
        assert [s["id"] for s in listed] == [sid] and listed[0]["title"] == "hi"


async def test_approve_one_call_and_reject_another_with_feedback(replay, web_options, tmp_path):
    model = replay(
        [
            {
                "tool_calls": [
                    call("write", {"path": "a.txt", "content": "A"}, "w1"),
                    call("bash", {"command": "rm -rf x"}, "b1"),
                ]
            },
            {"content": "wrote a.txt, skipped the rm"},
        ]
    )
    async with app_client(web_options(model)) as client:
        await sign(client)
        sid = (await client.post("/api/sessions", json={})).json()["session"]["id"]
        after = (await client.post(f"/api/sessions/{sid}/messages", json={"text": "go"})).json()["after"]
        events = await follow(client, sid, after)
        asked = next(e for e in events if e["type"] == "approval_required")["data"]["calls"]
        assert {c["id"] for c in asked} == {"w1", "b1"}
        view = (await client.get(f"/api/sessions/{sid}")).json()
        assert {c["id"] for c in view["pending"]} == {"w1", "b1"}  # a reload shows the cards again
        bad = await client.post(f"/api/sessions/{sid}/approvals", json={"decisions": {"zz": {"action": "approve"}}})
        assert bad.status_code == 400 and "no pending call 'zz'" in bad.json()["detail"]
        answer = {"w1": {"action": "approve"}, "b1": {"action": "reject", "feedback": "never rm"}}
        after = (await client.post(f"/api/sessions/{sid}/approvals", json={"decisions": answer})).json()["after"]
        events = await follow(client, sid, after)
        assert events[-2]["data"]["status"] == "done"
        cards = {i["id"]: i for i in (await client.get(f"/api/sessions/{sid}")).json()["items"] if i["kind"] == "tool"}
        assert cards["w1"]["state"] == "done" and cards["b1"]["state"] == "rejected"
        assert "never rm" in cards["b1"]["output"]
        workspace = client.app.state.runtime.workspace_of(client.app.state.runtime.drivers[sid].user)
        assert (workspace / "a.txt").read_text() == "A"


async def test_undo_fork_export_delete(replay, web_options):
    model = replay([{"content": "one"}, {"content": "two"}])
    async with app_client(web_options(model)) as client:
        await sign(client)
        sid = (await client.post("/api/sessions", json={})).json()["session"]["id"]
        for text in ("first", "second"):
            after = (await client.post(f"/api/sessions/{sid}/messages", json={"text": text})).json()["after"]
            await follow(client, sid, after)
        undone = (await client.post(f"/api/sessions/{sid}/undo")).json()["undo"]
        assert undone["removed_prompt"] == "second"
        items = (await client.get(f"/api/sessions/{sid}")).json()["items"]
        assert [i["text"] for i in items] == ["first", "one"]
        child = (await client.post(f"/api/sessions/{sid}/fork")).json()["session"]
        assert child["parent_id"] == sid
        assert [i["text"] for i in (await client.get(f"/api/sessions/{child['id']}")).json()["items"]] == [
            "first",
            "one",
        ]
        exported = await client.get(f"/api/sessions/{sid}/export")
        lines = exported.text.splitlines()
        assert '"type": "session"' in lines[0] and len(lines) == 3
        assert (await client.delete(f"/api/sessions/{sid}")).status_code == 200
        assert (await client.get(f"/api/sessions/{sid}")).status_code == 404


async def test_stop_keeps_the_partial_answer_and_a_reload_mid_turn_replays_the_turn(replay, web_options):
    model = replay([{"content": "a b c d e f g h i j k l m n o p", "delay_s": 30}])
    async with app_client(web_options(model)) as client:
        await sign(client)
        sid = (await client.post("/api/sessions", json={})).json()["session"]["id"]
        after = (await client.post(f"/api/sessions/{sid}/messages", json={"text": "go"})).json()["after"]
        runtime = client.app.state.runtime
        log = runtime.drivers[sid].log
        async for wire in log.follow(after):  # wait for the first streamed piece
            if wire and wire["type"] == "assistant_chunk":
                break
        view = (await client.get(f"/api/sessions/{sid}")).json()  # what a reload sees mid-turn
        assert view["running"] is True and view["items"] == [] and view["after"] == after
        busy = await client.post(f"/api/sessions/{sid}/messages", json={"text": "again"})
        assert busy.status_code == 409
        assert (await client.post(f"/api/sessions/{sid}/stop")).json() == {"stopped": True}
        events = await follow(client, sid, view["after"])  # the replay from the turn's start
        assert _types(events)[0] == "processing" and _types(events)[-3:] == ["interrupted", "turn_complete", "ready"]
        items = (await client.get(f"/api/sessions/{sid}")).json()["items"]
        assert items[-1]["kind"] == "assistant" and items[-1]["text"].startswith("a")
        assert "[interrupted]" in items[-1]["text"]


async def test_requests_from_another_origin_without_csrf_or_too_large_are_refused(replay, web_options):
    async with app_client(web_options(replay([{"content": "x"}]), web={"max_request_bytes": 2000})) as client:
        no_token = await client.post("/api/sessions", json={})
        assert no_token.status_code == 403 and "X-CSRF-Token" in no_token.json()["detail"]
        await sign(client)
        other = await client.post("/api/sessions", json={}, headers={"Origin": "http://evil.example"})
        assert other.status_code == 403 and "cross-origin" in other.json()["detail"]
        sid = (await client.post("/api/sessions", json={})).json()["session"]["id"]
        big = await client.post(f"/api/sessions/{sid}/messages", json={"text": "x" * 5000})
        assert big.status_code == 413
        rebinding = await client.get("/api/me", headers={"Host": "attacker.example"})
        assert rebinding.status_code == 403 and "--allow-remote" in rebinding.json()["detail"]


async def test_per_user_limits_and_idle_sessions_let_go(replay, web_options):
    options = web_options(replay([{"content": "x"}]), web={"max_sessions_per_user": 1, "max_turns_per_user_per_day": 1})
    async with app_client(options) as client:
        await sign(client)
        sid = (await client.post("/api/sessions", json={})).json()["session"]["id"]
        second = await client.post("/api/sessions", json={})
        assert second.status_code == 429 and "delete one" in second.json()["detail"]
        after = (await client.post(f"/api/sessions/{sid}/messages", json={"text": "one"})).json()["after"]
        await follow(client, sid, after)
        over = await client.post(f"/api/sessions/{sid}/messages", json={"text": "two"})
        assert over.status_code == 429 and "turns for today" in over.json()["detail"]
        runtime = client.app.state.runtime
        listener = runtime.drivers[sid].log.follow(0)  # a page still open on the session
        assert await runtime.reap_idle(now=10**12) == [sid]
        assert [wire async for wire in listener if wire is not None][-1]["type"] == "ready"  # then it ends
        assert sid not in runtime.drivers and await runtime.store.lock_get(sid) is None
        assert [i["kind"] for i in (await client.get(f"/api/sessions/{sid}")).json()["items"]] == ["user", "assistant"]


async def test_without_a_command_sandbox_signed_in_users_get_no_local_commands(replay, web_options):
    model = replay([{"tool_calls": [call("bash", {"command": "cat /etc/hostname"}, "b1")]}, {"content": "no shell"}])
    async with app_client(web_options(model, local_commands=False)) as client:
        await sign(client)
        sid = (await client.post("/api/sessions", json={})).json()["session"]["id"]
        after = (await client.post(f"/api/sessions/{sid}/messages", json={"text": "go"})).json()["after"]
        await follow(client, sid, after)
        card = next(i for i in (await client.get(f"/api/sessions/{sid}")).json()["items"] if i["kind"] == "tool")
        assert card["state"] == "failed" and card["output"].startswith("Unknown tool 'bash'")


async def test_edited_arguments_run_and_the_model_picker_only_offers_configured_models(replay, web_options):
    model = replay([{"tool_calls": [call("write", {"path": "a.txt", "content": "draft"}, "w1")]}, {"content": "ok"}])
    async with app_client(web_options(model, web={"models": ["openai/gpt-5"]})) as client:
        me = await sign(client)
        assert me["models"] == [model, "openai/gpt-5"]
        sid = (await client.post("/api/sessions", json={})).json()["session"]["id"]
        after = (await client.post(f"/api/sessions/{sid}/messages", json={"text": "go"})).json()["after"]
        await follow(client, sid, after)
        edit = {"w1": {"action": "edit", "args": {"path": "a.txt", "content": "edited"}}}
        after = (await client.post(f"/api/sessions/{sid}/approvals", json={"decisions": edit})).json()["after"]
        await follow(client, sid, after)
        runtime = client.app.state.runtime
        assert (runtime.workspace_of(runtime.drivers[sid].user) / "a.txt").read_text() == "edited"

        other = await client.put(f"/api/sessions/{sid}/model", json={"model": "replay:/etc/passwd"})
        assert other.status_code == 400 and "pick one of" in other.json()["detail"]
        assert (await client.put(f"/api/sessions/{sid}/model", json={"model": "openai/gpt-5"})).status_code == 200
        assert (await client.get(f"/api/sessions/{sid}")).json()["session"]["model"] == "openai/gpt-5"


async def test_two_prompts_sent_at_once_start_one_turn(replay, web_options):
    import asyncio

    async with app_client(web_options(replay([{"content": "one", "delay_s": 0.5}, {"content": "two"}]))) as client:
        await sign(client)
        sid = (await client.post("/api/sessions", json={})).json()["session"]["id"]
        first, second = await asyncio.gather(
            client.post(f"/api/sessions/{sid}/messages", json={"text": "a"}),
            client.post(f"/api/sessions/{sid}/messages", json={"text": "b"}),
        )
        assert sorted([first.status_code, second.status_code]) == [202, 409]
        await follow(client, sid, min(r.json().get("after", 0) for r in (first, second) if r.status_code == 202))
        assert [i["text"] for i in (await client.get(f"/api/sessions/{sid}")).json()["items"]] in (
            ["a", "one"],
            ["b", "one"],
        )


async def test_two_sessions_run_their_turns_at_once_on_one_database(replay, web_options):
    import asyncio

    script = [
        {"tool_calls": [call("read", {"path": "missing.txt"}, "r1")], "delay_s": 0.3},
        {"tool_calls": [call("glob", {"pattern": "*"}, "g1")], "delay_s": 0.3},
        {"content": "finished", "delay_s": 0.3},
    ]
    async with app_client(web_options(replay(script))) as client:
        await sign(client)
        ids = [(await client.post("/api/sessions", json={})).json()["session"]["id"] for _ in range(2)]
        starts = [
            (await client.post(f"/api/sessions/{sid}/messages", json={"text": sid})).json()["after"] for sid in ids
        ]
        ends = await asyncio.gather(*(follow(client, sid, after) for sid, after in zip(ids, starts, strict=True)))
        for sid, events in zip(ids, ends, strict=True):
            assert events[-2]["data"]["status"] == "done"
            items = (await client.get(f"/api/sessions/{sid}")).json()["items"]
            assert [i.get("text") or i["name"] for i in items] == [sid, "read", "glob", "finished"]
