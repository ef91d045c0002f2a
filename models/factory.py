"""Model ids -> chat models. Checks the provider's key up front so a missing key is one clear
line naming the variable, not a stack trace from deep inside litellm.

  anthropic/<model>   ANTHROPIC_API_KEY
  openai/<model>      OPENAI_API_KEY
  huggingface/<model> HF_TOKEN (Hugging Face router)
  ollama/ vllm/ llamacpp/ lm_studio/<model>   local OpenAI-compatible servers, <NAME>_BASE_URL
  replay:<file>       scripted turns from a JSONL file (see models/replay.py)

Keyed providers go through litellm (ChatLiteLLM); local servers through models/openai_compat.py, an HTTP
client without litellm's ~3 s of imports.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import credentials
from models.errors import MissingCredentials, ModelConfigError

KEYED_PROVIDERS = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "huggingface": "HF_TOKEN",
}
LOCAL_SERVERS = {  # provider -> (env var for base URL, default base URL)
    "ollama": ("OLLAMA_BASE_URL", "http://localhost:11434/v1"),
    "vllm": ("VLLM_BASE_URL", "http://localhost:8000/v1"),
    "llamacpp": ("LLAMACPP_BASE_URL", "http://localhost:8080/v1"),
    "lm_studio": ("LM_STUDIO_BASE_URL", "http://localhost:1234/v1"),
}
# A local server that does not say its window (llama-cpp-python's) is assumed to run this one: local servers
# start small (llama-cpp-python 2048, Ollama 4096, most setups 8k), and assuming 200k would let the prompt
# and a single tool result overflow a small window.
LOCAL_FALLBACK_WINDOW = 8192
_KNOWN = ", ".join([*(f"{p}/..." for p in [*KEYED_PROVIDERS, *LOCAL_SERVERS]), "replay:FILE"])


@dataclass
class ModelHandle:
    """A ready-to-bind chat model plus what the engine needs to know about it."""

    model_id: str
    chat: Any  # langchain BaseChatModel
    context_window: int | None = None
    key_hint: str = ""  # the variable to check when the provider rejects credentials
    litellm_model: str | None = None  # for pricing
    extra: dict[str, Any] = field(default_factory=dict)

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        if not self.litellm_model:
            return 0.0
        try:
            litellm = import_litellm()  # never the bare import: litellm would fetch its price map from GitHub
            prompt_cost, completion_cost = litellm.cost_per_token(
                model=self.litellm_model, prompt_tokens=input_tokens, completion_tokens=output_tokens
            )
            return float(prompt_cost + completion_cost)
        except Exception:
            return 0.0  # unknown price: report tokens only

    def priced_cost(self, input_tokens: int, output_tokens: int) -> float | None:
        """The call's price from litellm's table; 0 for local servers and replay (no litellm model), None
        when litellm does not know the model (HF router models): unknown, which is not free."""
        if not self.litellm_model:
            return 0.0
        try:
            litellm = import_litellm()
            # litellm prices a model it has no entry for (any HF router model) at 0: only a table entry counts
            if litellm.get_model_info(self.litellm_model).get("key") not in litellm.model_cost:
                return None
            prompt_cost, completion_cost = litellm.cost_per_token(
                model=self.litellm_model, prompt_tokens=input_tokens, completion_tokens=output_tokens
            )
            return float(prompt_cost + completion_cost)
        except Exception:
            return None


def _hf_token() -> str | None:
    """HF_TOKEN (held or set), else the token `hf auth login` stored."""
    token = credentials.get("HF_TOKEN") or credentials.get("HUGGING_FACE_HUB_TOKEN")
    if token or credentials.pinned("HF_TOKEN"):  # a web user's session: their token or none, never ours
        return token
    try:
        from huggingface_hub import get_token

        return get_token()
    except Exception:
        return None


def import_litellm():
    """Import litellm without letting it reach the network for its price map."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


def context_window_for(litellm_model: str | None) -> int | None:
    if not litellm_model:
        return None
    try:
        info = import_litellm().get_model_info(litellm_model)
        return int(info.get("max_input_tokens") or info.get("max_tokens") or 0) or None
    except Exception:
        return None


def check_model_id(model_id: str) -> None:
    """Validate a model id and its credentials without building anything (fast, no imports)."""
    if model_id.startswith("replay:"):
        path = Path(model_id.removeprefix("replay:")).expanduser()
        if not path.is_file():
            raise ModelConfigError(f"replay file not found: {path} (pass --model replay:PATH_TO_JSONL)")
        return
    provider, _, name = model_id.partition("/")
    if not name or provider not in {**KEYED_PROVIDERS, **LOCAL_SERVERS}:
        raise ModelConfigError(f"unknown model id '{model_id}': use one of {_KNOWN}")
    if provider in KEYED_PROVIDERS:
        var = KEYED_PROVIDERS[provider]
        present = _hf_token() if provider == "huggingface" else credentials.get(var)
        if not present:
            raise MissingCredentials(
                f"{model_id} needs {var}: export {var}=... (or put it in ~/.config/ml-intern/.env), "
                "or pick another model with --model"
            )


def make_model(model_id: str, streaming: bool = True) -> ModelHandle:
    check_model_id(model_id)
    if model_id.startswith("replay:"):
        from models.replay import ReplayChatModel

        path = Path(model_id.removeprefix("replay:")).expanduser().resolve()
        return ModelHandle(model_id, ReplayChatModel(path))

    provider, _, name = model_id.partition("/")
    if provider in LOCAL_SERVERS:  # one protocol, no prices to look up: no litellm (~3 s of imports)
        from models.openai_compat import OpenAICompatChat

        var, default = LOCAL_SERVERS[provider]
        chat = OpenAICompatChat(
            model=name,
            base_url=os.environ.get(var, default),
            api_key=credentials.get(f"{provider.upper()}_API_KEY") or "local",
            streaming=streaming,
        )
        from models.server_window import context_window

        window = context_window(provider, chat.base_url, name)
        handle = ModelHandle(model_id, chat, window or LOCAL_FALLBACK_WINDOW, key_hint=var)
        handle.extra["window_assumed"] = window is None
        return handle

    import_litellm()  # before langchain_litellm imports it: no price-map download
    from langchain_litellm import ChatLiteLLM

    # Retries are ours (llm_call: backoff, retry-after, events); the SDKs below must not retry silently.
    kwargs: dict[str, Any] = {
        "max_retries": 0,
        "streaming": streaming,
        "model_kwargs": {"max_retries": 0, "num_retries": 0},
    }
    if provider == "huggingface":
        kwargs["api_key"] = _hf_token()
        litellm_model, key_hint = model_id, "HF_TOKEN"
    else:  # the key goes to litellm explicitly: it is no longer in os.environ (core.credentials)
        kwargs["api_key"] = credentials.get(KEYED_PROVIDERS[provider])
        litellm_model, key_hint = model_id, KEYED_PROVIDERS[provider]
    chat = ChatLiteLLM(model=litellm_model, **kwargs)
    return ModelHandle(model_id, chat, context_window_for(model_id), key_hint=key_hint, litellm_model=litellm_model)


def known_context_window(model_id: str) -> int | None:
    """The window of a local server's model, asked of the server (cached), without building a client
    (LOCAL_FALLBACK_WINDOW when the server does not say); None for hosted providers (their windows are large)
    and replay."""
    provider, _, name = model_id.partition("/")
    if model_id.startswith("replay:") or provider not in LOCAL_SERVERS:
        return None
    from models.server_window import context_window

    var, default = LOCAL_SERVERS[provider]
    return context_window(provider, os.environ.get(var, default), name) or LOCAL_FALLBACK_WINDOW


def needs_litellm(model_id: str) -> bool:
    """Whether the model's client imports litellm (keyed providers); local servers and replay do not."""
    return not model_id.startswith("replay:") and model_id.partition("/")[0] not in LOCAL_SERVERS
