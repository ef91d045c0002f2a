"""The remote sandbox on a Hugging Face Space, end to end: HfApi against the fake Hub (tests/fakes/hub/spaces.py),
and the Space's app played by the server the agent uploaded (tools/sandbox/server.py), started on loopback
behind a recording proxy that stands for the Space's host."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fakes.hub import TOKEN, FakeServer, Reply
from fakes.hub.spaces import new_space
from helpers import BIN, call, write_replay

from configs.schema import AgentConfig, SandboxConfig, SpaceSandboxConfig
from tools.base import ToolContext, ToolError
from tools.registry import builtin_tools
from tools.sandbox import active, records

pytest_plugins = ["hf_fake_server"]  # the hf_env fixture


class HostProxy(FakeServer):
    """The Space's host: forwards every request to the sandbox server and records what arrived."""

    def __init__(self, target: str):
        super().__init__()
        self.target = urlsplit(target)
        for method in ("GET", "POST", "PUT", "DELETE"):
            self.route(method, r"/.*")(self.forward)

    def forward(self, req) -> Reply:
        conn = http.client.HTTPConnection(self.target.hostname, self.target.port, timeout=120)
        query = "&".join(f"{k}={v}" for k, vs in req.query.items() for v in vs)
        headers = {k: v for k, v in req.headers.items() if k not in ("host", "content-length", "connection")}
        conn.request(req.method, req.path + (f"?{query}" if query else ""), body=req.body, headers=headers)
        response = conn.getresponse()
        kept = {k: v for k, v in response.getheaders() if k.lower() in ("content-type", "x-ml-intern-sandbox")}
        return Reply(response.status, response.read(), kept)


@dataclass
class Spaces:
    """What the fake Spaces ran: their server processes, their hosts, and the secrets each one got."""

    hub: object
    settings: AgentConfig
    servers: dict[str, subprocess.Popen] = field(default_factory=dict)
    hosts: dict[str, HostProxy] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # for the CLI: the Hub it talks to

    def only_space(self) -> str:
        (space_id,) = self.secrets
        return space_id


@pytest.fixture
def spaces(hf_env, tmp_path, monkeypatch):
    monkeypatch.setattr("tools.sandbox.space._live_prices", {})  # prices learnt from another test's Hub
    hub = hf_env.hub
    hub.space_build_polls = 1
    found = Spaces(hub, hf_env.settings, env={"HF_ENDPOINT": hub.url})

    def run_space(space_id: str, secrets: dict[str, str], files: dict[str, bytes]) -> str:
        """Start what the Space runs: the uploaded server.py, with the Space's secrets as its environment."""
        box = tmp_path / "spaces" / space_id.replace("/", "__")
        box.mkdir(parents=True)
        (box / "server.py").write_bytes(files["server.py"])
        env = {"PATH": os.environ["PATH"], "HOME": str(box), **secrets}
        server = subprocess.Popen(
            [sys.executable, str(box / "server.py"), "--host", "127.0.0.1", "--port", "0", "--root", str(box / "work")],
            env=env, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        port = int(server.stdout.readline().rsplit(":", 1)[1])
        found.servers[space_id], found.secrets[space_id] = server, secrets
        found.hosts[space_id] = HostProxy(f"http://127.0.0.1:{port}").start()
        return found.hosts[space_id].url

    def stop_space(space_id: str) -> None:
        server = found.servers.get(space_id)
        if server is not None and server.poll() is None:
            server.terminate()  # the server kills the commands still running, as a stopped Space would
            server.wait(30)

    hub.run_space, hub.stop_space = run_space, stop_space
    yield found
    for server in found.servers.values():
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
    for proxy in found.hosts.values():
        proxy.stop()


def assert_tokens_went_only_where_they_belong(spaces: Spaces, space_id: str) -> None:
    """The Space got its own token as its only secret; its host saw that token and Space tokens from the Hub,
    never the user's HF token."""
    assert set(spaces.secrets[space_id]) == {"SANDBOX_TOKEN"}
    sandbox_token = spaces.secrets[space_id]["SANDBOX_TOKEN"]
    assert TOKEN not in sandbox_token
    seen = spaces.hosts[space_id].requests
    assert seen
    for request in seen:
        assert TOKEN not in " ".join(request.headers.values()) and TOKEN.encode() not in request.body
        if request.path != "/":
            assert request.headers["x-sandbox-authorization"] == f"Bearer {sandbox_token}"
        assert request.headers["authorization"].removeprefix("Bearer ") in spaces.hub.space_jwts


# ---------------------------------------------------------------- through the real CLI


def test_a_paid_sandbox_waits_for_approval_with_its_price_then_the_tools_act_in_it(workspace, spaces, cli, tmp_path):
    script = write_replay(
        tmp_path / "space.jsonl",
        [
            {"tool_calls": [call("sandbox_create", {"hardware": "t4-small"}, "s1")]},
            {
                "tool_calls": [
                    call("bash", {"command": "echo remote > made-there.txt; pwd; env | grep -c TOKEN || true"}, "b1")
                ]
            },
            {
                "tool_calls": [
                    call("write", {"path": "train.py", "content": "lr = 1e-3\nprint('training', lr)\n"}, "w1")
                ]
            },
            {"tool_calls": [call("edit", {"path": "train.py", "old_str": "1e-3", "new_str": "3e-4"}, "e1")]},
            {"tool_calls": [call("read", {"path": "train.py"}, "r1")]},
            {"tool_calls": [call("bash", {"command": "python train.py; exit 3"}, "b2")]},
            {
                "tool_calls": [
                    call("sandbox_files", {"operation": "download", "path": "train.py", "to": "got.py"}, "f1")
                ]
            },
            {"content": "trained in the sandbox"},
        ],
    )
    asked = cli("-m", f"replay:{script}", "--yolo", "train on a GPU", env=spaces.env)
    assert asked.returncode == 4, asked.stderr  # paid hardware: asked even in yolo mode
    assert "sandbox_create" in asked.stderr and "hardware: t4-small, price_per_hour_usd: 0.4" in asked.stderr
    assert spaces.hub.spaces == {} and spaces.hub.seen("POST", r"^/api/repos/create") == []
    session = re.search(r"--resume (\S+) --approve all", asked.stderr).group(1)

    done = cli("--resume", session, "--approve", "all", "--output-format", "stream-json", env=spaces.env)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    results = {e["data"]["tool_call_id"]: e["data"]["content"] for e in events if e["type"] == "tool_output"}
    space_id = spaces.only_space()
    assert f"Created the private sandbox Space {space_id} on t4-small ($0.40/h)" in results["s1"]
    box = tmp_path / "spaces" / space_id.replace("/", "__") / "work"
    assert results["b1"] == f"{box}\n0\n[exit code 0]"  # no token of any kind in the sandbox's commands
    assert results["r1"] == "     1\tlr = 3e-4\n     2\tprint('training', lr)"
    assert results["b2"] == "training 0.0003\n[exit code 3]"
    assert (box / "made-there.txt").read_text() == "remote\n" and not (workspace / "made-there.txt").exists()
    assert not (workspace / "train.py").exists() and (workspace / "got.py").read_text().startswith("lr = 3e-4")

    # The session ended: its sandbox is gone from the Hub and from the records.
    assert ("space", space_id) in spaces.hub.deleted and spaces.hub.spaces == {}
    assert records.all_records() == []
    assert f"deleted the sandbox Space {space_id}" in done.stderr
    created = spaces.hub.seen("POST", r"^/api/repos/create")[0].body
    assert json.loads(created) | {"secrets": "..."} == {
        "name": space_id.split("/")[1], "organization": "alice", "visibility": "private", "type": "space",
        "sdk": "docker", "hardware": "t4-small", "sleepTimeSeconds": 1800, "secrets": "...",
    }  # fmt: skip
    assert_tokens_went_only_where_they_belong(spaces, space_id)


def test_the_sandbox_of_a_killed_agent_is_listed_as_an_orphan_and_deleted_by_the_next_start(cli, spaces, tmp_path):
    script = write_replay(
        tmp_path / "crash.jsonl",
        [
            {"tool_calls": [call("sandbox_create", {}, "s1")]},  # cpu-basic: free, so yolo does not ask
            {"tool_calls": [call("bash", {"command": "sleep 1000"}, "b1")]},
            {"content": "never reached"},
        ],
    )
    agent = subprocess.Popen(
        [str(BIN), "-m", f"replay:{script}", "--yolo", "go"], cwd=tmp_path / "ws", env={**os.environ, **spaces.env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not any(r.path == "/bash" for proxy in spaces.hosts.values() for r in proxy.requests):
        assert agent.poll() is None and time.monotonic() < deadline, agent.communicate()
        time.sleep(0.05)
    agent.kill()  # SIGKILL: nothing of ours runs to delete the Space
    agent.communicate(timeout=30)
    space_id = spaces.only_space()
    assert space_id in spaces.hub.spaces

    listed = cli("sandboxes", "list", env={**spaces.env, "COLUMNS": "300"})
    row = next(line for line in listed.stdout.splitlines() if line.startswith(space_id))
    assert row.split()[1:4] == ["orphan", "cpu-basic", "free"]
    doctor = cli("doctor", "--offline", env={**spaces.env, "COLUMNS": "300"}).stdout
    assert f"warn sandbox Spaces         1 recorded, 1 orphaned: {space_id}" in doctor
    assert "fix: ml-intern sandboxes delete --orphans" in doctor

    start = cli("-m", "replay:" + str(write_replay(tmp_path / "hi.jsonl", [{"content": "hi"}])), "hi", env=spaces.env)
    assert start.returncode == 0, start.stderr
    assert f"deleted the orphaned sandbox Space {space_id}" in start.stderr
    assert spaces.hub.spaces == {} and ("space", space_id) in spaces.hub.deleted
    assert records.all_records() == []
    assert cli("sandboxes", "list").stdout == "no sandbox Spaces recorded on this machine\n"


def test_sandboxes_delete_removes_an_orphan_and_refuses_a_live_one(cli, spaces, tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    for name, pid in (("gone", dead.pid), ("busy", os.getpid())):
        spaces.hub.add_repo(f"alice/ml-intern-sandbox-{name}", repo_type="space", private=True)
        new_space(spaces.hub, f"alice/ml-intern-sandbox-{name}", {})
        record = records.SandboxRecord(f"alice/ml-intern-sandbox-{name}", spaces.hub.url, "s", "cpu-basic", 0.0)
        record.owner_pid, record.owner_started = pid, records.start_ticks(pid)
        records.save(record)
    removed = cli("sandboxes", "delete", "--orphans", env=spaces.env)
    assert removed.returncode == 0 and removed.stdout == "deleted alice/ml-intern-sandbox-gone\n", removed.stderr
    refused = cli("sandboxes", "delete", "alice/ml-intern-sandbox-busy", env=spaces.env)
    assert refused.returncode == 1 and "belongs to a running ml-intern" in refused.stderr
    assert [r.space_id for r in records.all_records()] == ["alice/ml-intern-sandbox-busy"]
    assert spaces.hub.deleted == [("space", "alice/ml-intern-sandbox-gone")]


# ---------------------------------------------------------------- in process


def _ctx(spaces: Spaces, tmp_path: Path, **space: float) -> tuple[ToolContext, dict]:
    settings = spaces.settings.model_copy(update={"sandbox": SandboxConfig(space=SpaceSandboxConfig(**space))})
    (tmp_path / "ws").mkdir(exist_ok=True)
    ctx = ToolContext(
        workspace=tmp_path / "ws", session_dir=tmp_path / "sessions" / "s1", call_id="c", settings=settings
    )
    return ctx, {tool.name: tool for tool in builtin_tools(settings)}


async def _call(tools: dict, name: str, ctx: ToolContext, **args):
    tool = tools[name]
    result = await tool.handler(tool.args_model(**args), ctx)
    return getattr(result, "content", result)


async def test_an_idle_sandbox_is_deleted_and_the_next_command_says_so_instead_of_running_here(spaces, tmp_path):
    ctx, tools = _ctx(spaces, tmp_path, idle_timeout_s=0.5)
    try:
        await _call(tools, "sandbox_create", ctx)
        space_id = spaces.only_space()
        assert (await _call(tools, "bash", ctx, command="echo in the box")).startswith("in the box")
        for _ in range(400):
            if ("space", space_id) in spaces.hub.deleted:
                break
            await asyncio.sleep(0.05)
        assert spaces.hub.spaces == {} and ("space", space_id) in spaces.hub.deleted
        with pytest.raises(ToolError, match=rf"{space_id} was deleted after 0.00833333 min without a call"):
            await _call(tools, "bash", ctx, command="echo where am I")
        assert "run on this machine" in await _call(tools, "sandbox_delete", ctx)
        assert (await _call(tools, "bash", ctx, command="pwd")).startswith(str(ctx.workspace))
    finally:
        await active.close_all()


async def test_a_failed_build_or_unknown_hardware_leaves_nothing_behind(spaces, tmp_path):
    ctx, tools = _ctx(spaces, tmp_path)
    with pytest.raises(ToolError, match="unknown Space hardware 'h900-huge': choose one of a100-large, a10g-small"):
        await _call(tools, "sandbox_create", ctx, hardware="h900-huge")
    assert spaces.hub.seen("POST", r"^/api/repos/create") == [] and records.all_records() == []

    # A flavor without a built-in price: asked at an unknown price, refused, then asked at the Hub's.
    assert tools["sandbox_create"].assessment({"hardware": "a10g-small"}).details["price_per_hour_usd"] == 1.0
    unknown = tools["sandbox_create"].assessment({"hardware": "rtx-pro-6000"})
    assert unknown.always_ask and unknown.details["price_per_hour_usd"] == "unknown (not in the price list)"
    with pytest.raises(ToolError, match=r"rtx-pro-6000 costs \$2.75/h on the Hub, not an unknown price"):
        await _call(tools, "sandbox_create", ctx, hardware="rtx-pro-6000")
    assert tools["sandbox_create"].assessment({"hardware": "rtx-pro-6000"}).details["price_per_hour_usd"] == 2.75
    assert spaces.hub.seen("POST", r"^/api/repos/create") == [] and records.all_records() == []

    spaces.hub.space_failures.append(("BUILD_ERROR", "pip install failed"))
    with pytest.raises(ToolError, match=r"stopped at BUILD_ERROR \(pip install failed\); it was deleted"):
        await _call(tools, "sandbox_create", ctx, hardware="cpu-upgrade")
    assert spaces.hub.spaces == {} and len(spaces.hub.deleted) == 1 and records.all_records() == []
    assert (await _call(tools, "bash", ctx, command="pwd")).startswith(str(ctx.workspace))  # still local


def test_the_sandbox_server_answers_only_its_own_token(tmp_path):
    from tools.sandbox.server import serve

    servers = [serve("127.0.0.1", 0, tmp_path / "box", token) for token in ("right-token", "")]
    try:
        urls = [f"http://127.0.0.1:{s.server_address[1]}" for s in servers]
        bash = {"command": "echo hi"}
        assert httpx.post(f"{urls[0]}/bash", json=bash).status_code == 401
        wrong = {"X-Sandbox-Authorization": "Bearer wrong-token"}
        assert httpx.post(f"{urls[0]}/bash", json=bash, headers=wrong).status_code == 401
        right = {"X-Sandbox-Authorization": "Bearer right-token", "Authorization": f"Bearer {TOKEN}"}
        assert httpx.post(f"{urls[0]}/bash", json=bash, headers=right).json()["output"] == "hi\n"
        no_token = httpx.post(f"{urls[1]}/bash", json=bash, headers=right)  # a Space missing its secret
        assert no_token.status_code == 503 and "SANDBOX_TOKEN is not set" in no_token.json()["error"]
    finally:
        for server in servers:
            server.shutdown()
