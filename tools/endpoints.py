"""Where a tool sends its requests: the config's `endpoints` value, else an environment variable, else the
public service.

A config file can pin a value and tests can point everything at a local server.
"""

from __future__ import annotations

import os

from configs.schema import AgentConfig, EndpointsConfig


def endpoints(settings: AgentConfig | None) -> EndpointsConfig:
    """The `endpoints` section (all unset without settings: a tool built with `tools(None)`)."""
    return settings.endpoints if settings is not None else EndpointsConfig()


def configured(value: str | None, env: str | None, default: str, *, base_url: bool = True) -> str:
    """`value` (from the config), else $env, else default; a base URL loses its trailing slash (paths get joined)."""
    chosen = str(value or (os.environ.get(env) if env else None) or default).strip()
    return chosen.rstrip("/") if base_url else chosen
