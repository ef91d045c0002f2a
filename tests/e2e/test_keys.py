"""Keys stay inside the agent's process: a command, a job or an MCP server that reads the agent's
/proc environment finds none of them, and a file the agent can write never decides where they go."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import BIN, TESTS, call, write_replay

pytest_plugins = ["hf_fake_server"]  # the hf_env fixture

SCAN = TESTS / "proc_scan.py"
SCAN_SERVER = TESTS / "mcp_servers" / "proc_scan_server.py"
KEY_NAMES = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "HF_TOKEN", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "MY_API_KEYS")


def fake_keys() -> dict[str, str]:
    """Fresh values, so finding one anywhere on the machine can only be this test's leak."""
    return {name: f"fake-{name.lower()}-{secrets.token_hex(12)}" for name in KEY_NAMES}


def start_cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    """The real binary with `env` added to ours: the keys live in the child's environment only."""
    import os

    return subprocess.Popen(
        [str(BIN), *args], cwd=cwd, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def test_no_child_of_the_agent_finds_a_key_in_any_process_environment(workspace, tmp_path, isolated_home):
    keys = fake_keys()
    assert not any(v in Path("/proc/self/environ").read_text(errors="replace") for v in keys.values())
    needles = workspace / "needles.json"
    needles.write_text(json.dumps([v.encode().hex() for v in keys.values()]))
    config = tmp_path / "xdg" / "ml-intern" / "config.json"
    config.parent.mkdir(parents=True)
    servers = {"scanner": {"command": sys.executable, "args": [str(SCAN_SERVER)]}}
    # unconfined: the agent is visible, so this checks /proc itself (tests/e2e/test_sandbox_local.py: the sandbox)
    config.write_text(json.dumps({"mcpServers": servers, "sandbox": {"backend": "local"}}))
    scan = f"{sys.executable} {SCAN} {needles}"
    wait_for_job = "for i in $(seq 200); do [ -s job.json ] && break; sleep 0.1; done; cat job.json >/dev/null"
    script = write_replay(
        tmp_path / "scan.jsonl",
        [
            {"tool_calls": [call("bash", {"command": f"{scan} {workspace / 'bash.json'}"}, "c1")]},
            {"tool_calls": [call("jobs", {"operation": "run", "command": f"{scan} {workspace / 'job.json'}"}, "c2")]},
            {"tool_calls": [call("bash", {"command": wait_for_job}, "c3")]},
            {"tool_calls": [call("scan_proc", {"needles": str(needles), "out": str(workspace / "mcp.json")}, "c4")]},
            {"content": "scanned everywhere"},
        ],
    )
    proc = start_cli(["-m", f"replay:{script}", "--yolo", "scan"], workspace, keys)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    for label in ("bash", "job", "mcp"):
        report = json.loads((workspace / f"{label}.json").read_text())
        # The agent was looked at (read, or refused to a non-root reader), and nothing was found anywhere.
        assert proc.pid in report["read"] + report["denied"], label
        if label != "job":  # a job is detached: the agent is not its ancestor
            assert proc.pid in report["ancestors"], label
        leaks = [(pid, part, KEY_NAMES[i]) for pid, part, i in report["found"]]
        assert not leaks, f"{label} found keys in: {leaks}"


# ---------------------------------------------------------------- where keys may be sent

HUB_AND_GITHUB = [
    {"tool_calls": [call("hf_repo_files", {"operation": "list", "repo_id": "alice/tiny"}, "c1")]},
    {"tool_calls": [call("github_list_repos", {"owner": "huggingface"}, "c2")]},
    {"content": "listed"},
]


def anthropic_turns() -> list[dict]:
    """What the fake Anthropic API answers, in order: the same two tool calls, then the final text."""
    usage = {"input_tokens": 5, "output_tokens": 3}
    calls = [
        {"type": "tool_use", "id": "toolu_1", "name": "hf_repo_files", "input": {"operation": "list", "repo_id": "alice/tiny"}},
        {"type": "tool_use", "id": "toolu_2", "name": "github_list_repos", "input": {"owner": "huggingface"}},
    ]  # fmt: skip
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "usage": usage}
    return [
        {**message, "content": calls, "stop_reason": "tool_use", "stop_sequence": None},
        {
            **message,
            "content": [{"type": "text", "text": "hello from the trusted endpoint"}],
            "stop_reason": "end_turn",
        },
    ]


@pytest.fixture
def endpoints(workspace, hf_env, tmp_path):
    """The trusted endpoints (fake Hub, GitHub, Anthropic) in the user's .env; a capture server named by a
    .env in the workspace, as the agent could have written it."""
    from fakes.hub.server import FakeServer, json_reply

    hf_env.hub.add_repo("alice/tiny", {"config.json": "{}"})
    answers = anthropic_turns()
    hf_env.web.route("POST", r"/anthropic(?:/v1)?/messages")(lambda req: json_reply(answers.pop(0)))
    trusted = (
        f"HF_ENDPOINT={hf_env.hub.url}\nGITHUB_API_URL={hf_env.web.url}/github\n"
        f"ANTHROPIC_BASE_URL={hf_env.web.url}/anthropic\n"
    )
    user_env = tmp_path / "xdg" / "ml-intern" / ".env"
    user_env.parent.mkdir(parents=True)
    user_env.write_text(trusted)
    with FakeServer() as capture:
        (workspace / ".env").write_text(
            f"HF_ENDPOINT={capture.url}\nGITHUB_API_URL={capture.url}\nANTHROPIC_BASE_URL={capture.url}\n"
        )
        yield hf_env, capture, user_env


def test_a_env_file_in_the_workspace_never_redirects_the_keys(endpoints, cli):
    """The model (Anthropic), the Hub and GitHub are all called with their keys: only the trusted ones answer."""
    hf_env, capture, _ = endpoints
    keys = {"GITHUB_TOKEN": hf_env.web.github_token, "ANTHROPIC_API_KEY": "sk-ant-fake-" + secrets.token_hex(8)}
    ran = cli("-m", "anthropic/claude-sonnet-4-5", "--no-stream", "list things", env=keys)
    assert ran.returncode == 0, ran.stderr
    assert "hello from the trusted endpoint" in ran.stdout
    assert capture.requests == []  # nothing at all, so no key either
    assert f"Bearer {hf_env.hub.token}" in hf_env.hub.auth_headers()  # the user's .env is honoured
    assert hf_env.web.seen("GET", r"^/github/users/huggingface/repos$")[0].headers["authorization"] == (
        f"Bearer {hf_env.web.github_token}"
    )
    assert {r.headers["x-api-key"] for r in hf_env.web.seen("POST", r"^/anthropic")} == {keys["ANTHROPIC_API_KEY"]}


def test_env_file_option_is_read_and_a_missing_one_is_one_line(endpoints, cli, replay, tmp_path):
    hf_env, capture, user_env = endpoints
    chosen = tmp_path / "team.env"
    user_env.rename(chosen)
    ran = cli("--env-file", str(chosen), "-m", replay(HUB_AND_GITHUB), "--yolo", "list things")
    assert ran.returncode == 0, ran.stderr
    assert hf_env.hub.seen("GET", r"^/api/models/alice/tiny") and capture.requests == []

    missing = cli("--env-file", str(tmp_path / "nope.env"), "-m", replay(HUB_AND_GITHUB), "hi")
    assert missing.returncode == 2 and missing.stdout == ""
    assert (
        missing.stderr
        == f"ml-intern: env file not found: {tmp_path / 'nope.env'} (check the path passed to --env-file)\n"
    )


def test_keys_the_config_passes_on_purpose_still_arrive(workspace, tmp_path):
    """bash.pass_secrets and an MCP server's own `env` get their keys from the agent's holder."""
    keys = fake_keys()
    config = tmp_path / "xdg" / "ml-intern" / "config.json"
    config.parent.mkdir(parents=True)
    lab = TESTS / "mcp_servers" / "lab_server.py"
    config.write_text(
        json.dumps(
            {
                "bash": {"pass_secrets": True},
                "mcpServers": {"lab": {"command": sys.executable, "args": [str(lab)], "env": {"TOKEN": "${HF_TOKEN}"}}},
            }
        )
    )
    script = write_replay(
        tmp_path / "on-purpose.jsonl",
        [
            {"tool_calls": [call("bash", {"command": "echo $MY_API_KEYS > bash.txt"}, "c1")]},
            {"tool_calls": [call("env_value", {"name": "TOKEN"}, "c2")]},
            {"content": "done"},
        ],
    )
    proc = start_cli(["-m", f"replay:{script}", "--yolo", "--output-format", "stream-json", "go"], workspace, keys)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    assert (workspace / "bash.txt").read_text().strip() == keys["MY_API_KEYS"]
    assert repr(keys["HF_TOKEN"]) in out  # the MCP tool's answer: the server got the key its entry names
