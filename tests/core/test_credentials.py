"""core.credentials.scoped: a web user's HF token replaces the server's for their work only."""

from __future__ import annotations

import asyncio

from core import credentials
from tools.hub.auth import hf_token


async def test_two_users_turns_at_once_each_see_only_their_own_token(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_server_owner")
    seen: dict[str, list[str | None]] = {"alice": [], "bob": []}

    async def turn(name: str) -> None:
        with credentials.scoped({"HF_TOKEN": f"hf_{name}"}):
            for _ in range(3):
                seen[name].append(await asyncio.create_task(asyncio.to_thread(hf_token)))  # tasks and threads inherit
                await asyncio.sleep(0)

    await asyncio.gather(turn("alice"), turn("bob"))
    assert seen == {"alice": ["hf_alice"] * 3, "bob": ["hf_bob"] * 3}
    assert hf_token() == "hf_server_owner"  # outside any turn: the server's own


def test_a_user_without_a_token_never_falls_back_to_the_servers_or_a_stored_login(monkeypatch, tmp_path):
    import huggingface_hub.constants as hf_constants

    stored = tmp_path / "token"
    stored.write_text("hf_stored_login_of_the_server")
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(stored))
    monkeypatch.setenv("HF_TOKEN", "hf_server_owner")
    with credentials.scoped({"HF_TOKEN": None, "HUGGING_FACE_HUB_TOKEN": None}):
        assert hf_token() is None
        assert credentials.get("HF_TOKEN") is None
    monkeypatch.delenv("HF_TOKEN")
    assert hf_token() == "hf_stored_login_of_the_server"  # the CLI still uses `hf auth login`
