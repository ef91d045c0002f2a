"""Load the agent config: packaged defaults, then the user's file (or --config), with ${VAR} and
${VAR:-default} taken from configs.environment (the environment, .env and the held keys), validated
against configs.schema."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from configs.environment import ConfigError, user_config_dir, variables
from configs.schema import AgentConfig

__all__ = ["ConfigError", "load_config", "substitute", "user_config_path"]

DEFAULTS_PATH = Path(__file__).with_name("cli_agent_config.json")
# The web app's defaults on top of the CLI's (approval asks, per-user limits): `load_config(web=True)`.
WEB_DEFAULTS_PATH = Path(__file__).with_name("frontend_agent_config.json")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def user_config_path() -> Path:
    return user_config_dir() / "config.json"


def substitute(value: Any, env: Mapping[str, str] | None = None) -> Any:
    env = variables() if env is None else env
    if isinstance(value, str):

        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if env.get(name):
                return env[name]
            if default is not None:
                return default
            return ""  # unset: left empty, the consumer reports what is missing

        return _VAR.sub(repl, value)
    if isinstance(value, dict):
        return {k: substitute(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, env) for v in value]
    return value


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "mcpServers":
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_json(path: Path) -> dict[str, Any]:
    if path.is_dir():
        raise ConfigError(f"{path} is a directory, not a config file (check the path passed to --config)")
    if path.exists() and not path.is_file():  # a FIFO would block the read forever
        raise ConfigError(f"{path} is not a regular file (check the path passed to --config)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path} (check the path passed to --config)") from None
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}): save it as UTF-8"
        ) from None
    except OSError as e:
        raise ConfigError(f"cannot read the config file {path}: {e.strerror or e}") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a JSON object")
    return data


def load_config(
    path: Path | str | None = None, overrides: dict[str, Any] | None = None, *, web: bool = False
) -> AgentConfig:
    data = _read_json(DEFAULTS_PATH)
    if web:
        data = _merge(data, _read_json(WEB_DEFAULTS_PATH))
    user_file = Path(path) if path else user_config_path()
    if path or user_file.exists():
        data = _merge(data, _read_json(user_file))
    if overrides:
        data = _merge(data, {k: v for k, v in overrides.items() if v is not None})
    data = substitute(data)
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(root)"
        source = user_file if (path or user_file.exists()) else DEFAULTS_PATH
        raise ConfigError(f"config key '{key}' in {source}: {err['msg']}") from None
