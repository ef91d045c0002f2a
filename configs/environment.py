"""The environment the config reads: which `.env` file may add to it, and the variables
core.credentials took out of `os.environ` (so `${VAR}` in the config still finds them).

`.env` comes from where the user keeps their config (`~/.config/ml-intern/.env`) or from an explicit
`--env-file PATH`, never from the working directory: the agent writes files there, and a `.env` it
wrote could point HF_ENDPOINT, GITHUB_API_URL or ANTHROPIC_BASE_URL (and with them the keys) at a
server of its choosing on the next run. Standard library only: the CLI reads this before `--help`.
"""

from __future__ import annotations

import os
from collections import ChainMap
from collections.abc import Mapping
from pathlib import Path


class ConfigError(Exception):
    """A configuration mistake the user must fix; the message names the key, variable or flag."""


def user_config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ml-intern"


def user_env_path() -> Path:
    """The user's own .env, beside config.json."""
    return user_config_dir() / ".env"


def load_env_file(path: Path | str | None = None) -> Path | None:
    """Load `path` (from --env-file: it must exist), else the user's .env if there is one, without
    overriding variables already set. Returns the file read, if any."""
    if path is not None:
        file = Path(path).expanduser()
        if not file.is_file():
            raise ConfigError(f"env file not found: {file} (check the path passed to --env-file)")
    else:
        file = user_env_path()
        if not file.is_file():
            return None
    from dotenv import load_dotenv

    load_dotenv(file, override=False)
    global _loaded_env_file
    _loaded_env_file = file.absolute()
    return file


_loaded_env_file: Path | None = None


def loaded_env_file() -> Path | None:
    """The .env file this process read its keys from, if any (a command sandbox hides it)."""
    return _loaded_env_file


_held_variables: dict[str, str] = {}


def use_held_variables(values: dict[str, str]) -> None:
    """core.credentials registers the keys it took out of os.environ here."""
    global _held_variables
    _held_variables = values


def variables() -> Mapping[str, str]:
    """What ${VAR} reads: the live environment first, then the held keys."""
    return ChainMap(os.environ, _held_variables)
