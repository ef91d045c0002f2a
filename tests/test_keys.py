"""Keys stay inside the agent's process: a command, a job or an MCP server that reads the agent's
/proc environment finds none of them, and a file the agent can write never decides where they go."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

from helpers import BIN, call, write_replay

TESTS = Path(__file__).resolve().parent
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
    config.write_text(json.dumps({"mcpServers": {"scanner": {"command": sys.executable, "args": [str(SCAN_SERVER)]}}}))
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
