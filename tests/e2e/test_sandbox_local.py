"""The local sandbox (bubblewrap): what a command, a job and an MCP stdio server can and cannot do on this
machine, what survives a `kill -9` of the agent, and what the user is told when bubblewrap is missing."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest
from helpers import BIN, TESTS, call, write_replay

from configs.schema import AgentConfig
from tools import bash as bash_module
from tools.base import ToolContext
from tools.sandbox import bwrap

pytestmark = pytest.mark.skipif(not bwrap.probe().ok, reason=f"bubblewrap does not work here: {bwrap.probe().detail}")

SCAN = TESTS / "proc_scan.py"
SCAN_SERVER = TESTS / "mcp_servers" / "proc_scan_server.py"
KEY_NAMES = ("ANTHROPIC_API_KEY", "HF_TOKEN", "MY_API_KEYS")


def _state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2]


def pids_with(marker: str) -> list[int]:
    """Live (not zombie) processes whose command line holds `marker`, as the host sees them."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline.replace(b"\0", b" ") and _state(int(entry.name)) not in (None, "Z", "X"):
            found.append(int(entry.name))
    return found


def wait_for(predicate, what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def kill_marked(marker: str) -> None:
    for pid in pids_with(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def sandbox_ctx(tmp_path: Path, settings: AgentConfig | None = None) -> ToolContext:
    ws = tmp_path / "ws"
    ws.mkdir(exist_ok=True)
    return ToolContext(workspace=ws, session_dir=tmp_path / "s", call_id="c1", settings=settings or AgentConfig())


async def run_bash(ctx: ToolContext, command: str, timeout: int | None = None) -> str:
    (tool,) = bash_module.tools(ctx.settings)
    return (await tool.handler(tool.args_model(command=command, timeout=timeout), ctx)).content


# ---------------------------------------------------------------- through the real CLI


def test_killing_the_agent_kills_its_commands_and_servers_but_not_its_jobs(workspace, tmp_path):
    """bash, a job and an MCP server each look for the agent and its keys, and try to write outside the
    workspace; then the agent is killed with -9 while a command with a double-forked daemon runs."""
    keys = {name: f"fake-{name.lower()}-{secrets.token_hex(12)}" for name in KEY_NAMES}
    needles = workspace / "needles.json"
    needles.write_text(json.dumps([v.encode().hex() for v in keys.values()]))
    marker = f"{secrets.randbelow(10**6)}.{secrets.randbelow(10**6)}"  # a unique `sleep` argument
    server_marker = f"mcp-marker-{secrets.token_hex(6)}"
    config = tmp_path / "xdg" / "ml-intern" / "config.json"
    config.parent.mkdir(parents=True)
    # the probes are copied into the workspace: the sandbox hides the checkout when it lives under /tmp
    probes = workspace / "probes"
    (probes / "mcp_servers").mkdir(parents=True)
    scan_script = Path(shutil.copy(SCAN, probes / SCAN.name))
    scan_server = Path(shutil.copy(SCAN_SERVER, probes / "mcp_servers" / SCAN_SERVER.name))
    server = {"command": sys.executable, "args": [str(scan_server), server_marker]}
    config.write_text(json.dumps({"mcpServers": {"scanner": server}}))
    scan = f"{sys.executable} {scan_script} {needles}"
    escape = "echo x > ../outside-{0}; echo x > $HOME/.ml-intern-escape-{0}"
    job = f"{scan} job.json; {escape.format('job')}; until [ -f go ]; do sleep 0.05; done; echo done > job-finished"
    script = write_replay(
        tmp_path / "kill.jsonl",
        [
            {"tool_calls": [call("bash", {"command": f"{scan} bash.json; {escape.format('bash')}; ps -e"}, "b1")]},
            {"tool_calls": [call("jobs", {"operation": "run", "command": job}, "j1")]},
            {"tool_calls": [call("scan_proc", {"needles": str(needles), "out": "mcp.json"}, "m1")]},
            {"tool_calls": [call("scan_proc", {"needles": str(needles), "out": "../outside-mcp.json"}, "m2")]},
            {"tool_calls": [call("bash", {"command": f"(setsid sleep {marker} &); touch started; sleep 1000"}, "b2")]},
            {"content": "never reached"},
        ],
    )
    agent = subprocess.Popen(
        [str(BIN), "-m", f"replay:{script}", "--yolo", "--output-format", "stream-json", "go"],
        cwd=workspace, env={**os.environ, **keys}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: (workspace / "started").exists() or agent.poll() is not None, "the last command starting")
        assert agent.poll() is None, agent.communicate()
        daemon, mcp_server = pids_with(f"sleep {marker}"), pids_with(server_marker)
        assert daemon and mcp_server  # alive while the agent is
        agent.kill()  # SIGKILL: no cleanup code of ours runs
        out, _ = agent.communicate(timeout=30)
        wait_for(lambda: not pids_with(f"sleep {marker}"), "the daemon dying with the agent")
        wait_for(lambda: not pids_with(server_marker), "the MCP server dying with the agent")

        # The job lives on, still in its sandbox: it finishes when told to.
        (workspace / "go").touch()
        wait_for(lambda: (workspace / "job-finished").exists(), "the job finishing after the agent died")
    finally:
        kill_marked(f"sleep {marker}")
        kill_marked(server_marker)

    events = [json.loads(line) for line in out.splitlines()]
    results = {e["data"]["tool_call_id"]: e["data"] for e in events if e["type"] == "tool_output"}
    assert "Read-only file system" in results["b1"]["content"]  # $HOME
    assert "PID" in results["b1"]["content"] and "bwrap" in results["b1"]["content"]
    assert not (workspace.parent / "outside-bash").exists() and not (workspace.parent / "outside-job").exists()
    assert not (workspace.parent / "outside-mcp.json").exists()
    assert not list(Path.home().glob(".ml-intern-escape-*"))
    for label in ("bash", "job", "mcp"):
        report = json.loads((workspace / f"{label}.json").read_text())
        seen = set(report["read"]) | set(report["denied"])
        assert agent.pid not in seen and agent.pid not in report["ancestors"], label  # the agent is not there
        assert len(seen) < 10, f"{label} saw the host's processes: {sorted(seen)}"
        assert report["found"] == [], f"{label} found keys: {report['found']}"


# ---------------------------------------------------------------- the bash tool in process


async def test_a_command_writes_only_to_the_workspace_allowed_paths_and_the_shared_caches(tmp_path, monkeypatch):
    hf_home = Path(os.environ["HF_HOME"])
    hf_home.mkdir(parents=True, exist_ok=True)
    (hf_home / "token").write_text("hf_secret_on_disk")
    data = tmp_path / "datasets"
    data.mkdir()
    ctx = sandbox_ctx(tmp_path, AgentConfig(workspace={"allowed_paths": [str(data)]}))
    out = await run_bash(
        ctx,
        f"echo a > in-workspace; echo b > {data}/allowed; echo c > $HF_HOME/hub/cached; "
        f"cat $HF_HOME/token; echo d > /usr/escape; echo e > {tmp_path}/escape; echo f > /tmp/kept",
    )
    assert (ctx.workspace / "in-workspace").read_text() == "a\n"
    assert (data / "allowed").read_text() == "b\n"
    assert (hf_home / "hub" / "cached").read_text() == "c\n"  # downloads are shared with the user's own runs
    assert "hf_secret_on_disk" not in out  # the token file is hidden
    assert "/usr/escape: Read-only file system" in out
    assert not (tmp_path / "escape").exists()  # the host's /tmp is not the sandbox's
    assert not Path("/tmp/kept").exists()
    assert (await run_bash(ctx, "cat /tmp/kept")).startswith("f\n")  # the session's /tmp is kept between calls


async def test_a_workspace_inside_ml_interns_home_sees_itself_but_not_its_neighbours(tmp_path, monkeypatch):
    """The web app keeps each user's workspace under ml-intern's home: one user's commands must not read the
    sessions database nor another user's folder. (Outside /tmp: the sandbox's /tmp is its own anyway.)"""
    import tempfile

    home = Path(tempfile.mkdtemp(prefix=".ml-intern-test-", dir=Path.home()))
    try:
        monkeypatch.setenv("ML_INTERN_HOME", str(home))
        users = home / "web" / "users"
        mine, theirs = users / "me" / "workspace", users / "them" / "workspace"
        for folder in (mine, theirs):
            folder.mkdir(parents=True)
        (theirs / "notes.txt").write_text("their secret notes")
        (home / "sessions.sqlite").write_text("everyone's sessions")
        (mine / "mine.txt").write_text("my file")
        ctx = ToolContext(workspace=mine, session_dir=tmp_path / "s", call_id="c1", settings=AgentConfig())
        out = await run_bash(ctx, f"cat mine.txt; echo new > made.txt; cat {theirs}/notes.txt {home}/sessions.sqlite")
        assert "my file" in out and (mine / "made.txt").read_text() == "new\n"
        assert "their secret notes" not in out and "everyone's sessions" not in out
        assert (await run_bash(ctx, f"ls {users}")).split()[0:2] == ["me", "[exit"]  # only the way to its own folder
    finally:
        shutil.rmtree(home, ignore_errors=True)


async def test_a_virtual_environment_in_the_workspace_installs_and_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("UV_OFFLINE", "1")
    ctx = sandbox_ctx(tmp_path)
    with zipfile.ZipFile(ctx.workspace / "tinydep-0.1-py3-none-any.whl", "w") as zf:
        zf.writestr("tinydep/__init__.py", "VALUE = 'from tinydep'\n")
        zf.writestr("tinydep-0.1.dist-info/METADATA", "Metadata-Version: 2.1\nName: tinydep\nVersion: 0.1\n")
        zf.writestr("tinydep-0.1.dist-info/WHEEL",
                    "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")  # fmt: skip
        zf.writestr("tinydep-0.1.dist-info/RECORD", "")
    out = await run_bash(
        ctx,
        f"uv venv -q --python {sys.executable} venv && uv pip install -q --python venv/bin/python "
        "./tinydep-0.1-py3-none-any.whl && venv/bin/python -c 'import tinydep; print(tinydep.VALUE)'",
    )
    assert "from tinydep\n[exit code 0]" in out, out


async def test_a_timeout_kills_what_the_command_left_behind_even_in_a_new_session(tmp_path):
    marker = f"{secrets.randbelow(10**6)}.{secrets.randbelow(10**6)}"
    ctx = sandbox_ctx(tmp_path)
    try:
        out = await run_bash(ctx, f"(setsid sleep {marker} &); echo started; sleep 1000", timeout=1)
        assert "timed out after 1 s" in out and "started" in out
        for _ in range(200):
            if not pids_with(f"sleep {marker}"):
                break
            await asyncio.sleep(0.05)
        assert not pids_with(f"sleep {marker}")
    finally:
        kill_marked(f"sleep {marker}")


async def test_ctrl_c_kills_a_sandboxed_command_and_everything_it_started(tmp_path):
    marker = f"{secrets.randbelow(10**6)}.{secrets.randbelow(10**6)}"
    ctx = sandbox_ctx(tmp_path)
    try:
        task = asyncio.create_task(run_bash(ctx, f"(setsid sleep {marker} &); sleep {marker}"))
        for _ in range(400):
            if len(pids_with(f"sleep {marker}")) >= 4:  # the two sleeps, and bwrap's two processes (in their argv)
                break
            await asyncio.sleep(0.05)
        task.cancel()  # what Ctrl-C does to a running tool
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(200):
            if not pids_with(f"sleep {marker}"):
                break
            await asyncio.sleep(0.05)
        assert not pids_with(f"sleep {marker}")
    finally:
        kill_marked(f"sleep {marker}")


async def test_network_off_cuts_a_command_off_even_from_localhost(tmp_path):
    class Hello(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello from the host")

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    Thread(target=httpd.serve_forever, daemon=True).start()
    fetch = f"{sys.executable} -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:{httpd.server_port}').read().decode())\""
    try:
        online = await run_bash(sandbox_ctx(tmp_path), fetch)
        offline = await run_bash(sandbox_ctx(tmp_path, AgentConfig(sandbox={"network": False})), fetch)
    finally:
        httpd.shutdown()
    assert "hello from the host" in online
    assert "hello from the host" not in offline and "Connection refused" in offline


# ---------------------------------------------------------------- when bubblewrap is missing


def _doctor_line(cli, config: Path) -> str:
    lines = cli("doctor", "--offline", "--config", str(config), env={"COLUMNS": "400"}).stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "command sandbox" in line)
    fix = lines[at + 1].strip() if at + 1 < len(lines) and lines[at + 1].strip().startswith("fix:") else ""
    return f"{lines[at]}\n{fix}"


def test_doctor_names_the_backend_and_how_to_enable_the_sandbox(cli, tmp_path):
    works, missing, no_userns = (tmp_path / f"{n}.json" for n in ("works", "missing", "userns"))
    works.write_text("{}")
    missing.write_text(json.dumps({"sandbox": {"bwrap": str(tmp_path / "no-bwrap")}}))
    fake = tmp_path / "bwrap-without-userns"
    fake.write_text(
        "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace, likely because the kernel does not "
        "allow non-privileged user namespaces.' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    no_userns.write_text(json.dumps({"sandbox": {"bwrap": str(fake)}}))

    assert _doctor_line(cli, works).startswith("ok   command sandbox        bubblewrap (writes only to the workspace")
    line = _doctor_line(cli, missing)
    assert line.startswith("warn command sandbox        local: commands run unconfined (bubblewrap not found")
    assert "fix: install bubblewrap (Debian/Ubuntu: sudo apt install bubblewrap" in line
    line = _doctor_line(cli, no_userns)
    assert "local: commands run unconfined (user namespaces are not available" in line
    assert "fix: allow unprivileged user namespaces: sudo sysctl -w kernel.unprivileged_userns_clone=1" in line


def test_without_bubblewrap_a_session_warns_once_and_runs_unconfined_unless_it_is_required(cli, replay, tmp_path):
    lenient = tmp_path / "auto.json"
    lenient.write_text(json.dumps({"sandbox": {"bwrap": str(tmp_path / "no-bwrap")}}))
    model = replay([{"tool_calls": [call("bash", {"command": "echo x > ../outside"}, "b1")]}, {"content": "ok"}])
    ran = cli("--config", str(lenient), "-m", model, "go")
    assert ran.returncode == 0, ran.stderr
    warnings = [line for line in ran.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "commands run unconfined (bubblewrap not found" in warnings[0]
    assert (tmp_path / "outside").exists()  # unconfined, as the warning said

    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"sandbox": {"backend": "bubblewrap", "bwrap": str(tmp_path / "no-bwrap")}}))
    refused = cli("--config", str(strict), "-m", model, "go")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("ml-intern: sandbox.backend is bubblewrap but bubblewrap not found")
    assert "sudo apt install bubblewrap" in refused.stderr
