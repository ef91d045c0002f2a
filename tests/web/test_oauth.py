"""Sign-in with Hugging Face (huggingface_hub's FastAPI OAuth support) against a fake OpenID provider on
loopback: each user's turns use their own token on the Hub, never the server's, and never see each other's
sessions."""

from __future__ import annotations

import httpx
import pytest
from fakes.hub import TOKEN, FakeHub
from fakes.openid_provider import FakeOpenID
from helpers import call
from web_client import app_client, follow, sign

BASE = "https://127.0.0.1:7860"  # the session cookie is Secure (as on a Space)
OWNER_TOKEN = "hf_space_owner_token_never_used_for_users"


@pytest.fixture
def signed_in_setup(monkeypatch, tmp_path, web_options, replay):
    import huggingface_hub.constants as hf_constants

    with FakeOpenID() as idp, FakeHub() as hub:
        monkeypatch.setenv("SPACE_ID", "someone/ml-intern")
        monkeypatch.setenv("OAUTH_CLIENT_ID", idp.client_id)
        monkeypatch.setenv("OAUTH_CLIENT_SECRET", idp.client_secret)
        monkeypatch.setenv("OPENID_PROVIDER_URL", idp.url)
        monkeypatch.setenv("HF_TOKEN", OWNER_TOKEN)  # the Space owner's: must reach nobody's calls
        monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "no-stored-token"))
        hub.add_repo("alice/demo", {"train.py": "print('hi')\n"}, private=True)
        model = replay(
            [
                {"tool_calls": [call("hf_repo_files", {"operation": "list", "repo_id": "alice/demo"}, "h1")]},
                {"content": "listed"},
            ]
        )
        options = web_options(model, oauth=True)
        options.settings.endpoints.hf_endpoint = hub.url
        yield idp, hub, options


async def sign_in(client: httpx.AsyncClient, idp: FakeOpenID, name: str) -> dict:
    idp.next_user = name
    login = await client.get("/oauth/huggingface/login")
    assert login.status_code == 302 and login.headers["location"].startswith(idp.url)
    async with httpx.AsyncClient() as browser:  # the provider's page, over real HTTP
        back = await browser.get(login.headers["location"])
    assert back.status_code == 302 and back.headers["location"].startswith(f"{BASE}/oauth/huggingface/callback")
    done = await client.get(back.headers["location"].removeprefix(BASE))
    assert done.status_code in (302, 307)
    return await sign(client)


async def one_hub_turn(client: httpx.AsyncClient) -> str:
    sid = (await client.post("/api/sessions", json={})).json()["session"]["id"]
    after = (await client.post(f"/api/sessions/{sid}/messages", json={"text": "list my repo"})).json()["after"]
    events = await follow(client, sid, after)
    assert events[-2]["data"]["status"] == "done"
    return sid


async def test_sign_in_hub_call_with_the_users_token_logout_and_a_second_user(signed_in_setup):
    idp, hub, options = signed_in_setup
    alice = idp.add_user("alice", token=TOKEN)
    bob = idp.add_user("bob")
    async with app_client(options, base_url=BASE) as client:
        anonymous = await client.get("/api/me")
        assert anonymous.json()["user"] is None and anonymous.json()["login_url"] == "/oauth/huggingface/login"
        assert (await client.get("/api/sessions")).status_code == 401

        me = await sign_in(client, idp, "alice")
        assert me["user"] == {"id": f"hf:{alice.sub}", "name": "alice"}
        alice_sid = await one_hub_turn(client)
        listed = [r for r in hub.requests if r.path == "/api/models/alice/demo/tree/main"]
        assert listed and all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in listed)
        cards = [i for i in (await client.get(f"/api/sessions/{alice_sid}")).json()["items"] if i["kind"] == "tool"]
        assert "train.py" in cards[0]["output"]  # her private repo, seen with her token

        assert (await client.get("/oauth/huggingface/logout")).status_code in (302, 307)
        assert (await client.get("/api/me")).json()["user"] is None
        assert (await client.get(f"/api/sessions/{alice_sid}")).status_code == 401

        await sign_in(client, idp, "bob")
        assert (await client.get("/api/sessions")).json()["sessions"] == []
        for response in (
            await client.get(f"/api/sessions/{alice_sid}"),
            await client.get(f"/api/sessions/{alice_sid}/events", params={"once": 1}),
            await client.post(f"/api/sessions/{alice_sid}/messages", json={"text": "mine now"}),
            await client.post(f"/api/sessions/{alice_sid}/undo"),
            await client.get(f"/api/sessions/{alice_sid}/export"),
        ):
            assert response.status_code == 404
        hub.requests.clear()
        bob_sid = await one_hub_turn(client)  # bob's token cannot read alice's private repo
        tool = next(i for i in (await client.get(f"/api/sessions/{bob_sid}")).json()["items"] if i["kind"] == "tool")
        assert tool["is_error"]
        assert {r.headers.get("authorization") for r in hub.requests} == {f"Bearer {bob.token}"}
    everyone = " ".join(str(r.headers) for r in hub.requests)
    assert OWNER_TOKEN not in everyone


async def test_a_forged_or_missing_session_cookie_is_nobody(signed_in_setup):
    idp, _, options = signed_in_setup
    idp.add_user("alice")
    async with app_client(options, base_url=BASE) as client:
        await sign_in(client, idp, "alice")
        cookie = client.cookies.get("session")
        assert cookie
        client.cookies.set("session", cookie[:-4] + "AAAA", domain="127.0.0.1")
        assert (await client.get("/api/me")).json()["user"] is None


async def test_signing_in_again_with_a_new_token_uses_it_in_the_open_session(signed_in_setup, replay):
    idp, hub, options = signed_in_setup
    listing = {"tool_calls": [call("hf_repo_files", {"operation": "list", "repo_id": "alice/demo"}, "h1")]}
    options.model_id = replay(
        [
            listing,
            {"content": "one"},
            {**listing, "tool_calls": [{**listing["tool_calls"][0], "id": "h2"}]},
            {"content": "two"},
        ]
    )
    alice = idp.add_user("alice", token=TOKEN)
    async with app_client(options, base_url=BASE) as client:
        await sign_in(client, idp, "alice")
        sid = await one_hub_turn(client)
        await client.get("/oauth/huggingface/logout")
        alice.token = hub.token = "hf_alice_renewed_token"  # the old one expired; the Hub accepts the new one
        await sign_in(client, idp, "alice")
        hub.requests.clear()
        after = (await client.post(f"/api/sessions/{sid}/messages", json={"text": "again"})).json()["after"]
        assert (await follow(client, sid, after))[-2]["data"]["status"] == "done"
        assert {r.headers.get("authorization") for r in hub.requests} == {"Bearer hf_alice_renewed_token"}
