"""The real provider path (ChatLiteLLM -> litellm -> HTTP) against a local OpenAI-compatible server:
streaming, tool calls, usage, retries with retry-after, and errors classified into clear stops."""

from __future__ import annotations

import json

import pytest
from fakes.openai_server import FakeOpenAI, error, reply


@pytest.fixture
def vllm(monkeypatch):
    def start(script):
        server = FakeOpenAI(script)
        server.__enter__()
        monkeypatch.setenv("VLLM_BASE_URL", server.base_url)
        return server

    servers = []
    yield lambda script: servers.append(start(script)) or servers[-1]
    for s in servers:
        s.__exit__(None, None, None)


def test_stream_tool_calls_and_usage_through_litellm(vllm, cli, workspace, tmp_path):
    server = vllm(
        [
            reply(
                "Let me write it.",
                [{"id": "call_1", "name": "write", "args": {"path": "hello.txt", "content": "hi from the model\n"}}],
                prompt_tokens=900,
                completion_tokens=30,
            ),
            reply("Wrote hello.txt.", prompt_tokens=1000, completion_tokens=10),
        ]
    )
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"retries": {"base_delay_s": 0, "max_delay_s": 0}}))
    result = cli("-m", "vllm/test-model", "--config", str(config), "--output-format", "json", "write hello")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["final_response"].strip() == "Wrote hello.txt."
    assert out["usage"]["input_tokens"] == 1900 and out["usage"]["output_tokens"] == 40
    assert (workspace / "hello.txt").read_text() == "hi from the model\n"
    first = server.requests[0]["body"]
    assert first["model"] == "test-model" and first["stream"] is True
    assert "write" in {t["function"]["name"] for t in first["tools"]}
    second = server.requests[1]["body"]["messages"]
    assert second[-1]["role"] == "tool" and second[-1]["tool_call_id"] == "call_1"


def test_rate_limit_is_retried_and_auth_error_stops_with_the_variable(vllm, cli, tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"retries": {"base_delay_s": 0, "max_delay_s": 0}}))
    server = vllm([error(429, "slow down", retry_after=0), error(503, "overloaded"), reply("fine")])
    result = cli("-m", "vllm/test-model", "--config", str(config), "hi")
    assert result.returncode == 0, result.stderr
    assert "fine" in result.stdout and result.stderr.count("retry") == 2
    assert len(server.requests) == 3

    vllm([error(401, "invalid api key")])
    result = cli("-m", "vllm/test-model", "--config", str(config), "hi")
    assert result.returncode == 2
    assert "VLLM_BASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_context_overflow_from_the_provider_compacts_once(vllm, cli, tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"retries": {"base_delay_s": 0, "max_delay_s": 0}}))
    vllm(
        [
            error(400, "This model's maximum context length is 8192 tokens", code="context_length_exceeded"),
            reply("too long again"),
        ]
    )
    result = cli("-m", "vllm/test-model", "--config", str(config), "hi")
    # nothing older to summarise: one clear error instead of a loop
    assert result.returncode == 1 and "no older history" in result.stderr
