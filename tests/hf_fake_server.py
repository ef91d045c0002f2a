"""The `hf_env` fixture: the Hugging Face fakes (tests/fakes/hub/) started for one test, as a pytest plugin.

Load it in a test module with `pytest_plugins = ["hf_fake_server"]`: FakeHub + FakeWeb running, HF_TOKEN set,
no stored login, settings pointing every tool at the fakes, and a teardown check that the HF token never
reached the non-Hugging-Face server. Avoid importing this module in the test file itself, or pytest cannot
rewrite its asserts: use hf_env.hub.token, hf_env.web.github_token, hf_env.configure().
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fakes.hub import TOKEN, FakeHub, FakeWeb, settings_for


@dataclass
class HfEnv:
    hub: FakeHub
    web: FakeWeb
    settings: Any
    workspace: Any
    tool_ctx: Callable[..., Any]  # conftest's tool_ctx
    logs: list[str] = field(default_factory=list)

    def configure(self, **overrides: Any) -> None:
        """Point the settings at the fakes again, with other `endpoints` values (or hf_jobs_poll_s)."""
        self.settings = settings_for(self.hub, self.web, **overrides)

    def ctx(self, call_id: str = "c1"):
        """A ToolContext with these settings; its progress lines go to `logs`, its session folder is in the
        workspace (tools show paths there relative to it)."""

        def emit(event: Any) -> None:
            line = getattr(event, "line", None)
            if line is not None:
                self.logs.append(line)

        return self.tool_ctx(session_dir=self.workspace / "s", call_id=call_id, settings=self.settings, emit=emit)


@pytest.fixture
def hf_env(tmp_path, monkeypatch, workspace, tool_ctx):
    """Started FakeHub + FakeWeb, HF_TOKEN=TOKEN, no stored login, no GitHub token, settings pointing at both.

    On teardown it asserts the HF token never reached the non-Hugging-Face server, in any header or body.
    """
    import huggingface_hub.constants as hf_constants

    for var in (
        "HF_ENDPOINT",
        "GITHUB_TOKEN",
        "GITHUB_API_URL",
        "HF_DATASETS_SERVER",
        "SEARXNG_URL",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_HUB_OFFLINE",
        "HF_OIDC_RESOURCE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "no-stored-token"))
    with FakeHub() as hub, FakeWeb() as web:
        yield HfEnv(hub, web, settings_for(hub, web), workspace, tool_ctx)
        leaked = [r for r in web.requests if TOKEN in " ".join(r.headers.values()) or TOKEN.encode() in r.body]
        assert not leaked, f"HF token reached a non-HF host: {[(r.method, r.path) for r in leaked]}"
