"""`ml-intern doctor`: green lines for what works, the fix for what does not, never a traceback."""

from __future__ import annotations

import socket


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quiet_local_servers(monkeypatch):
    for var in ("OLLAMA_BASE_URL", "VLLM_BASE_URL", "LLAMACPP_BASE_URL", "LM_STUDIO_BASE_URL"):
        monkeypatch.setenv(var, f"http://127.0.0.1:{closed_port()}/v1")


def test_doctor_reports_missing_keys_without_printing_secrets(cli, monkeypatch):
    quiet_local_servers(monkeypatch)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-" + "q" * 30)
    result = cli("doctor", "--offline")
    assert result.returncode == 0, result.stdout
    assert "sk-proj" not in result.stdout
    lines = result.stdout.splitlines()
    assert any("OpenAI key" in line and line.startswith("ok") for line in lines)
    anthropic = next(line for line in lines if "Anthropic key" in line)
    assert anthropic.startswith("warn") and "ANTHROPIC_API_KEY is not set" in anthropic
    assert any("fix: export ANTHROPIC_API_KEY" in line for line in lines)
    assert any(line.startswith("ok") and "workspace" in line for line in lines)


def test_doctor_fails_on_a_broken_database(cli, isolated_home, monkeypatch, replay):
    quiet_local_servers(monkeypatch)
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "sessions.sqlite").write_bytes(b"this is not a database" * 100)
    result = cli("doctor", "--offline")
    assert result.returncode == 1
    db_line = next(line for line in result.stdout.splitlines() if "sessions database" in line)
    assert db_line.startswith("FAIL")
    assert "ML_INTERN_HOME" in result.stdout and "Traceback" not in result.stdout + result.stderr
    # the agent itself says the same in one line
    run = cli("-m", replay([{"content": "hi"}]), "hi")
    assert run.returncode == 1 and "sessions database" in run.stderr and "ML_INTERN_HOME" in run.stderr
    assert "Traceback" not in run.stderr
