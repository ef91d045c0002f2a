"""The context window a local model server really runs with, asked of the server itself.

A local model's window is whatever the server was started with (llama.cpp `-c 8192`, Ollama's num_ctx),
often far below the model's trained length, and no price map knows it. Compaction and the prompt budget
must fit the real window, so each server is asked in its own way:

  llama.cpp (llama-server)  GET  /props              default_generation_settings.n_ctx (or n_ctx)
  Ollama                    GET  /api/ps             the loaded model's context_length
                            POST /api/show           num_ctx in its parameters, else 4096 (Ollama's default)
                                                     capped by the model's <arch>.context_length
  vLLM                      GET  /v1/models          max_model_len of the model
  LM Studio                 GET  /api/v0/models/ID   loaded_context_length (else max_context_length)

Any server is also asked /v1/models for a max_model_len / context_length / n_ctx field. One short request
per server and model per process (cached); None when the server does not say (llama-cpp-python's server
does not: its window is then read from its first context-overflow error, see models.errors).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

TIMEOUT_S = 2.0
OLLAMA_DEFAULT_CTX = 4096
_cache: dict[tuple[str, str, str], int | None] = {}


def _root(base_url: str) -> str:
    """http://host:port/v1 -> http://host:port (the servers' own APIs live beside the OpenAI one)."""
    return re.sub(r"/v1/?$", "", base_url.rstrip("/"))


def _get(client: Any, method: str, url: str, **kwargs: Any) -> Any:
    try:
        response = client.request(method, url, **kwargs)
        return response.json() if response.status_code == 200 else None
    except Exception:  # no server, not JSON, a timeout: the server does not say
        return None


def _positive(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _from_models_list(body: Any, model: str) -> int | None:
    entries = [m for m in (body or {}).get("data") or [] if isinstance(m, dict)]
    entry = next((m for m in entries if m.get("id") == model), entries[0] if len(entries) == 1 else None)
    if entry is None:
        return None
    for key in ("max_model_len", "context_length", "loaded_context_length", "n_ctx", "max_context_length"):
        found = _positive(entry.get(key)) or _positive((entry.get("meta") or {}).get(key))
        if found:
            return found
    return None


def _llamacpp(client: Any, root: str, model: str) -> int | None:
    props = _get(client, "GET", root + "/props")
    if isinstance(props, dict):
        settings = props.get("default_generation_settings") or {}
        return _positive(settings.get("n_ctx")) or _positive(props.get("n_ctx"))
    return None


def _ollama(client: Any, root: str, model: str) -> int | None:
    running = _get(client, "GET", root + "/api/ps")
    for entry in (running or {}).get("models") or []:
        if isinstance(entry, dict) and model in {entry.get("name"), entry.get("model")}:
            found = _positive(entry.get("context_length"))
            if found:
                return found
    shown = _get(client, "POST", root + "/api/show", json={"model": model})
    if not isinstance(shown, dict):
        return None
    match = re.search(r"^\s*num_ctx\s+(\d+)", str(shown.get("parameters") or ""), re.M)
    trained = next(
        (_positive(v) for k, v in (shown.get("model_info") or {}).items() if k.endswith(".context_length")), None
    )
    window = int(match.group(1)) if match else OLLAMA_DEFAULT_CTX
    return min(window, trained) if trained else window


def _lm_studio(client: Any, root: str, model: str) -> int | None:
    entry = _get(client, "GET", f"{root}/api/v0/models/{quote(model, safe='')}")
    if isinstance(entry, dict):
        return _positive(entry.get("loaded_context_length")) or _positive(entry.get("max_context_length"))
    return None


_ASK = {"llamacpp": _llamacpp, "ollama": _ollama, "lm_studio": _lm_studio}


def context_window(provider: str, base_url: str, model: str) -> int | None:
    """The window the server at `base_url` runs `model` with, or None when it does not say."""
    key = (provider, base_url, model)
    if key not in _cache:
        import httpx

        with httpx.Client(timeout=TIMEOUT_S) as client:
            ask = _ASK.get(provider)
            found = ask(client, _root(base_url), model) if ask else None
            if found is None:
                found = _from_models_list(_get(client, "GET", base_url.rstrip("/") + "/models"), model)
        _cache[key] = found
    return _cache[key]


def forget() -> None:
    """Drop what was learnt (a server restarted with another window; tests)."""
    _cache.clear()
