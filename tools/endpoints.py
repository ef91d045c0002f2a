"""Where a tool sends its requests: a configured base URL, else an environment variable, else the default.

A config file can pin a value and tests can point everything at a local server.
"""

from __future__ import annotations

import os
from typing import Any


def configured(settings: Any, key: str, env: str | None, default: str, *, base_url: bool = True) -> str:
    """settings.extra[key], else $env, else default; a base URL loses its trailing slash (paths get joined)."""
    extra = getattr(settings, "extra", None) or {}
    value = str(extra.get(key) or (os.environ.get(env) if env else None) or default).strip()
    return value.rstrip("/") if base_url else value
