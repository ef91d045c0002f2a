"""MCP servers inside agent sessions: stateful across calls, asked in ask mode, a broken server is a warning."""

from __future__ import annotations

import json
import sys

from helpers import TESTS, call

LAB = str(TESTS / "mcp_servers" / "lab_server.py")


def write_config(tmp_path, servers) -> str:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": servers}))
    return str(path)


def test_mcp_tools_in_a_session_keep_state_and_obey_approval(cli, replay, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_" + "s" * 30)
    config = write_config(
        tmp_path,
        {
            "lab": {"transport": "stdio", "command": sys.executable, "args": [LAB]},
            "broken": {"transport": "stdio", "command": "/nonexistent/mcp-server"},
        },
    )
    model = replay(
        [
            {"tool_calls": [call("increment", {}, "i1")]},
            {"tool_calls": [call("increment", {}, "i2"), call("env_value", {"name": "HF_TOKEN"}, "e1")]},
            {"content": "counted"},
        ]
    )
    result = cli("-m", model, "--config", config, "--output-format", "json", "count")
    assert result.returncode == 0, result.stderr
    sid = json.loads(result.stdout)["session_id"]
    messages = json.loads(cli("sessions", "show", sid, "--json").stdout)["messages"]
    results = {m["tool_call_id"]: m["content"] for m in messages if m["role"] == "tool"}
    assert results["i1"].strip() == "1" and results["i2"].strip() == "2"  # one session for the agent's life
    assert "hf_" not in results["e1"]  # the server never got the user's token

    asked = cli(
        "-m",
        replay([{"tool_calls": [call("increment", {}, "i3")]}, {"content": "x"}]),
        "--config",
        config,
        "--approval",
        "ask",
        "count again",
    )
    assert asked.returncode == 4 and "increment" in asked.stderr and "exec" in asked.stderr


def test_broken_server_is_a_warning_and_mcp_list_shows_status(cli, replay, tmp_path):
    config = write_config(
        tmp_path,
        {
            "lab": {"transport": "stdio", "command": sys.executable, "args": [LAB]},
            "broken": {"transport": "stdio", "command": "/nonexistent/mcp-server"},
        },
    )
    result = cli("-m", replay([{"content": "still here"}]), "--config", config, "hi")
    assert result.returncode == 0 and "still here" in result.stdout
    assert "broken" in result.stderr and "failed to start" in result.stderr

    listing = cli("mcp", "list", "--config", config)
    assert listing.returncode == 1  # one server is down
    lines = listing.stdout.splitlines()
    assert any(line.startswith("lab") and "running" in line for line in lines)
    assert any(line.strip() == "increment" for line in lines)
    assert any(line.startswith("broken") and "failed" in line for line in lines)
