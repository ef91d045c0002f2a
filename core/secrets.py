"""Which environment variables are secrets: one rule for everything that must not pass them on
(bash, local jobs, Hugging Face job secrets) or must blank them (exports, shared traces)."""

from __future__ import annotations

import re

# Known credentials, whatever their shape, plus any name that looks like one.
SECRET_ENV_NAMES = frozenset(
    {
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HUGGINGFACE_TOKEN",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "ML_INTERN_DATABASE_URL",
        "DATABASE_URL",
    }
)
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$")
_URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s:]+:[^/@\s]+@", re.I)
HF_TOKEN_NAMES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def is_secret_env_name(name: str) -> bool:
    upper = name.upper()
    return upper in SECRET_ENV_NAMES or bool(_SECRET_NAME.search(upper))


def is_secret_env(name: str, value: str) -> bool:
    """A secret by its name, or a URL that carries a password (postgresql://user:pw@host)."""
    return is_secret_env_name(name) or bool(_URL_WITH_PASSWORD.match(value or ""))
