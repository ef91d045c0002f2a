"""`ml-intern sessions push` against the fake Hub: the redacted trace lands in a PRIVATE dataset, the
token goes only to the Hub, and every way it can fail is one line with the fix.

The happy path and the missing token run the real binary; the other failures call the same command
in-process (cli.main.main) to keep the file fast.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from helpers import collect, open_agent

pytest_plugins = ["hf_fake_server"]  # the hf_env fixture

PATTERN_SECRET = "hf_" + "Zy9Xw8Vu7Ts6Rq5Po4Nm3Lk2"  # shaped like an HF token: export redacts it by pattern
ODD_KEY = "wandb-0f1e2d3c4b5a69788796a5b4"  # a key of no known shape, only known from the environment


@pytest.fixture
def session_id(hf_env, replay, monkeypatch) -> str:
    """A finished session whose messages hold three secrets: one of a known shape, the HF token in use (the
    fake one has underscores, so no pattern catches it) and a key only the environment knows."""
    monkeypatch.setenv("WANDB_API_KEY", ODD_KEY)
    token = hf_env.hub.token
    model = replay([{"content": f"Stored {PATTERN_SECRET}; the Hub token is {token}; wandb key {ODD_KEY}."}])

    async def go() -> str:
        async with open_agent(model, hf_env.workspace) as agent:
            session = await agent.new_session(title="share me")
            await collect(session.run(f"remember {PATTERN_SECRET} for later"))
            await session.finish()
            return session.id

    return asyncio.run(go())  # sync: its tests run the binary or cli.main.dispatch, which runs its own loop


def push_in_process(capsys, *args: str) -> tuple[int, str, str]:
    from cli.main import dispatch

    with pytest.raises(SystemExit) as exited:
        dispatch(["sessions", "push", *args])
    out = capsys.readouterr()
    return exited.value.code or 0, out.out, out.err


def test_push_uploads_the_redacted_trace_to_a_private_dataset(cli, hf_env, session_id):
    hub = hf_env.hub
    env = {"HF_ENDPOINT": hub.url}
    pushed = cli("sessions", "push", session_id, env=env)
    assert pushed.returncode == 0, pushed.stderr
    path = f"sessions/{session_id}.jsonl"
    assert pushed.stdout.strip() == f"{hub.url}/datasets/alice/ml-intern-sessions/blob/main/{path}"
    assert "secrets redacted" in pushed.stderr and "private" in pushed.stderr

    repo = hub.repos[("dataset", "alice/ml-intern-sessions")]
    assert repo.private is True
    uploaded = repo.files[path].decode()
    for secret in (PATTERN_SECRET, hub.token, ODD_KEY):  # not in the file (sent base64), nor in any request body
        assert secret not in uploaded and all(secret.encode() not in r.body for r in hub.requests), secret
    lines = [json.loads(line) for line in uploaded.splitlines()]
    assert lines[0]["type"] == "session" and lines[0]["id"] == session_id and lines[0]["title"] == "share me"
    assert [(m["role"], m["content"]) for m in lines[1:]] == [
        ("human", "remember hf_*** for later"),
        ("ai", "Stored hf_***; the Hub token is ***; wandb key ***."),
    ]

    # Exactly what `sessions export` shows the user, plus the secrets only this process knows blanked.
    exported = cli("sessions", "export", session_id, env=env)
    assert exported.returncode == 0, exported.stderr
    assert uploaded == exported.stdout.replace(hub.token, "***").replace(ODD_KEY, "***")

    # The token went with every Hub API call to the fake Hub, and nowhere else (hf_env checks the other host).
    api_calls = [r for r in hub.requests if r.path != "/api/agent-harnesses"]  # huggingface_hub's anonymous probe
    assert api_calls and all(r.headers.get("authorization") == f"Bearer {hub.token}" for r in api_calls)
    assert [r.path for r in api_calls if r.method == "POST"] == [
        "/api/repos/create",
        "/api/datasets/alice/ml-intern-sessions/preupload/main",
        "/api/datasets/alice/ml-intern-sessions/commit/main",
    ]
    assert not hf_env.web.requests

    again = cli("sessions", "push", session_id, env=env)  # pushing again updates the same file
    assert again.returncode == 0, again.stderr
    assert repo.files[path].decode() == uploaded and repo.private is True


def test_missing_token_is_one_line_and_sends_nothing(cli, hf_env, session_id, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    pushed = cli("sessions", "push", session_id, env={"HF_ENDPOINT": hf_env.hub.url})
    assert pushed.returncode == 2
    assert pushed.stderr.strip() == (
        "ml-intern: pushing a session needs a Hugging Face token: set HF_TOKEN or run `hf auth login`"
    )
    assert hf_env.hub.requests == []


def test_bad_token_forbidden_namespace_and_public_repo_are_refused(hf_env, session_id, capsys, monkeypatch):
    hub = hf_env.hub
    monkeypatch.setenv("HF_ENDPOINT", hub.url)

    monkeypatch.setenv("HF_TOKEN", "hf_" + "Wrong0Token1For2This3Hub4")
    code, out, err = push_in_process(capsys, session_id)
    assert (code, out) == (2, "")
    assert err.strip() == (
        f"ml-intern: the Hub at {hub.url} rejected your token (401 Unauthorized): set HF_TOKEN "
        "to a valid token or run `hf auth login`"
    )

    monkeypatch.setenv("HF_TOKEN", hub.token)
    code, out, err = push_in_process(capsys, session_id, "--repo", "bigcorp/traces")
    assert (code, out) == (2, "")
    assert (
        err.startswith(
            "ml-intern: the Hub refused to write to bigcorp/traces (403 Forbidden): use a token with write access"
        )
        and len(err.strip().splitlines()) == 1
    )

    shared = hub.add_repo("acme/shared-traces", repo_type="dataset", private=False)
    code, out, err = push_in_process(capsys, session_id, "--repo", "acme/shared-traces")
    assert (code, out) == (2, "")
    assert "acme/shared-traces is not a private dataset" in err and "pass another --repo" in err
    assert shared.files == {} and not hub.seen("POST", r"/commit/")  # nothing was uploaded anywhere

    code, out, err = push_in_process(capsys, session_id, "--repo", "acme/traces")  # an org repo, created private
    assert code == 0, err
    assert out.strip() == f"{hub.url}/datasets/acme/traces/blob/main/sessions/{session_id}.jsonl"
    assert hub.repos[("dataset", "acme/traces")].private is True


def test_unreachable_hub_is_one_line(hf_env, session_id, capsys, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("HF_ENDPOINT", dead)
    code, out, err = push_in_process(capsys, session_id)
    assert (code, out) == (1, "")
    assert (
        err.startswith(
            "ml-intern: Pushing the session to ml-intern-sessions failed: cannot reach the Hugging Face endpoint"
        )
        and "HF_ENDPOINT" in err
        and len(err.strip().splitlines()) == 1
    )
