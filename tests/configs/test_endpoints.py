"""The config's `endpoints` section: a set value wins, then the environment variable, then the default;
an unknown key is an error that names it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from configs.schema import AgentConfig
from tools.endpoints import configured, endpoints
from tools.hub.auth import hf_endpoint


def test_a_configured_endpoint_wins_over_the_environment_and_the_default(monkeypatch):
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert hf_endpoint(AgentConfig()) == "https://huggingface.co"
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
    assert hf_endpoint(AgentConfig()) == "http://127.0.0.1:9"  # a base URL loses its trailing slash
    pinned = AgentConfig.model_validate({"endpoints": {"hf_endpoint": "https://hub.example/"}})
    assert hf_endpoint(pinned) == "https://hub.example"
    assert configured(endpoints(None).duckduckgo_url, None, "https://ddg/html/", base_url=False) == "https://ddg/html/"


def test_an_unknown_endpoint_or_the_old_extra_section_is_an_error():
    with pytest.raises(ValidationError, match="hf_endpiont"):
        AgentConfig.model_validate({"endpoints": {"hf_endpiont": "https://hub.example"}})
    with pytest.raises(ValidationError, match="extra"):
        AgentConfig.model_validate({"extra": {"hf_endpoint": "https://hub.example"}})
