"""The real provider paths over HTTP against a local OpenAI-compatible server: local servers through our own
client (models/openai_compat.py), keyed providers through litellm (ChatLiteLLM). Streaming, tool calls,
usage, retries with retry-after, errors classified into clear stops, malformed arguments, no streaming."""

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


def test_stream_tool_calls_and_usage_from_a_local_server(vllm, cli, workspace, tmp_path):
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


def test_a_keyed_provider_goes_through_litellm(cli, tmp_path):
    """openai/... with OPENAI_BASE_URL at the fake server: litellm makes the call and prices it."""
    with FakeOpenAI([reply("pong via litellm", prompt_tokens=1000, completion_tokens=20)]) as server:
        env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.base_url}
        result = cli("-m", "openai/gpt-4o-mini", "--output-format", "json", "ping", env=env)
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)
        assert out["final_response"].strip() == "pong via litellm"
        assert out["usage"]["cost_usd"] > 0  # from litellm's price map
        assert server.requests[0]["body"]["model"] == "gpt-4o-mini"


def test_malformed_arguments_and_no_streaming_from_a_local_server(vllm, workspace, monkeypatch):
    import asyncio

    from helpers import collect, open_agent

    raw = '{"path": "x.txt", "content": "unterminated'
    vllm(
        [
            reply("", [{"id": "bad", "name": "write", "args": {}, "raw": raw}]),
            reply("", [{"id": "ok", "name": "read", "args": {"path": "x.txt"}}]),
            reply("Could not write it."),
        ]
    )

    async def go():
        async with open_agent("vllm/test-model", workspace, settings={"retries": {"base_delay_s": 0}}) as agent:
            agent.deps.stream = False
            session = await agent.new_session()
            return await collect(session.run("write x")), await session.state()

    events, state = asyncio.run(go())
    results = {m.tool_call_id: m for m in state.values["messages"] if m.type == "tool"}
    assert results["bad"].status == "error" and "not valid JSON" in results["bad"].content
    assert results["ok"].status == "error" and "x.txt" in results["ok"].content  # read ran: no such file
    assert [e for e in events if e.type == "turn_complete"][-1].final_response == "Could not write it."
    assert state.values["usage"]["input_tokens"] == 300


def test_a_local_server_needs_no_litellm():
    import subprocess
    import sys

    code = (
        "import sys; from models.factory import make_model; "
        "h = make_model('ollama/llama3.2:1b'); h.chat.bind_tools([]); "
        "print(type(h.chat).__name__, 'litellm' in sys.modules, 'openai' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["OpenAICompatChat", "False", "False"]
