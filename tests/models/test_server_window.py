"""The context window is asked of the local server itself (models/server_window.py), each in its own API."""

from __future__ import annotations

import pytest
from fakes.openai_server import FakeOpenAI

from models import server_window
from models.factory import make_model


@pytest.fixture(autouse=True)
def _fresh_cache():
    server_window.forget()
    yield
    server_window.forget()


def _window(monkeypatch, provider: str, var: str, **server) -> tuple[int | None, FakeOpenAI]:
    with FakeOpenAI([], models=["qwen"], **server) as fake:
        monkeypatch.setenv(var, fake.base_url)
        return make_model(f"{provider}/qwen").context_window, fake


def test_llama_cpp_props(monkeypatch):
    props = {"default_generation_settings": {"n_ctx": 8192}, "total_slots": 1}
    window, fake = _window(monkeypatch, "llamacpp", "LLAMACPP_BASE_URL", routes={"GET /props": props})
    assert window == 8192 and fake.requests[0]["path"] == "/props"


def test_ollama_running_model_then_show(monkeypatch):
    ps = {"models": [{"name": "qwen", "model": "qwen", "context_length": 16384}]}
    window, _ = _window(monkeypatch, "ollama", "OLLAMA_BASE_URL", routes={"GET /api/ps": ps})
    assert window == 16384
    server_window.forget()
    show = {"parameters": "temperature 0.7\nnum_ctx 6144", "model_info": {"qwen2.context_length": 32768}}
    window, fake = _window(monkeypatch, "ollama", "OLLAMA_BASE_URL", routes={"POST /api/show": show})
    assert window == 6144 and fake.requests[-1]["body"] == {"model": "qwen"}
    server_window.forget()  # no num_ctx: Ollama's default, not the model's trained length
    show = {"parameters": "", "model_info": {"qwen2.context_length": 32768}}
    assert _window(monkeypatch, "ollama", "OLLAMA_BASE_URL", routes={"POST /api/show": show})[0] == 4096


def test_vllm_max_model_len_and_lm_studio(monkeypatch):
    window, _ = _window(monkeypatch, "vllm", "VLLM_BASE_URL", model_fields={"max_model_len": 12000})
    assert window == 12000
    lm = {"id": "qwen", "loaded_context_length": 4096, "max_context_length": 32768}
    window, _ = _window(monkeypatch, "lm_studio", "LM_STUDIO_BASE_URL", routes={"GET /api/v0/models/qwen": lm})
    assert window == 4096


def test_a_server_that_does_not_say_is_assumed_small(monkeypatch):
    # llama-cpp-python's server has no /props and no window in /v1/models: 8k is assumed (local servers start
    # small) until an overflow error names the real one
    assert server_window.context_window("llamacpp", "http://127.0.0.1:9/v1", "qwen") is None
    server_window.forget()
    with FakeOpenAI([], models=["qwen"]) as fake:
        monkeypatch.setenv("LLAMACPP_BASE_URL", fake.base_url)
        handle = make_model("llamacpp/qwen")
    assert handle.context_window == 8192 and handle.extra["window_assumed"] is True
