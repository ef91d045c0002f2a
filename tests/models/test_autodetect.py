"""Local-model auto-detection: a loopback OpenAI-compatible server is found and used; none means guidance."""

from __future__ import annotations

import socket

from fakes.openai_server import FakeOpenAI, reply

from models.autodetect import candidates, detect_sync


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def no_servers(monkeypatch):
    monkeypatch.setenv("ML_INTERN_DETECT_TIMEOUT_S", "2")  # the test machine may be busy; the default is 0.3 s
    for var in ("OLLAMA_BASE_URL", "VLLM_BASE_URL", "LLAMACPP_BASE_URL", "LM_STUDIO_BASE_URL"):
        monkeypatch.setenv(var, f"http://127.0.0.1:{closed_port()}/v1")


def test_detects_a_server_and_uses_it_headless(monkeypatch, cli, tmp_path):
    no_servers(monkeypatch)
    with FakeOpenAI([reply("hello from the local model")], models=["qwen2.5-0.5b"]) as server:
        monkeypatch.setenv("LM_STUDIO_BASE_URL", server.base_url)
        found = detect_sync()
        assert found is not None and found.model_id == "lm_studio/qwen2.5-0.5b"
        result = cli("say hi")
        assert result.returncode == 0, result.stderr
        assert "hello from the local model" in result.stdout
        assert "using the local lm_studio server" in result.stderr and "qwen2.5-0.5b" in result.stderr
        assert server.requests[0]["body"]["model"] == "qwen2.5-0.5b"


def test_no_server_gives_guidance(monkeypatch, cli):
    no_servers(monkeypatch)
    assert detect_sync() is None
    result = cli("say hi")
    assert result.returncode == 2
    assert "ANTHROPIC_API_KEY" in result.stderr and "replay:FILE" in result.stderr
    assert "Traceback" not in result.stderr


def test_remote_urls_are_never_probed(monkeypatch):
    no_servers(monkeypatch)
    monkeypatch.setenv("VLLM_BASE_URL", "http://10.1.2.3:8000/v1")
    assert "vllm" not in [provider for provider, _ in candidates()]


def test_an_explicit_model_is_not_replaced(monkeypatch, cli):
    with FakeOpenAI([reply("local")]) as server:
        monkeypatch.setenv("OLLAMA_BASE_URL", server.base_url)
        result = cli("-m", "openai/gpt-5", "hi")
        assert result.returncode == 2 and "OPENAI_API_KEY" in result.stderr
        assert server.requests == []
