"""The environment a command starts with (bash, a job, an MCP stdio server): built here, never inherited whole.

Unconfined (the `local` backend): our environment minus secrets, so the user's shell setup keeps working.
Sandboxed: the same minus the plumbing of the user's desktop and of the agent (an ssh-agent or D-Bus socket,
the X11/Wayland display, XDG_RUNTIME_DIR, ML_INTERN_* paths), which would point a command at what the
sandbox hides; TMPDIR is the sandbox's own /tmp. Either way the keys held by core.credentials come back only
with bash.pass_secrets. bubblewrap itself is started with this environment: the sandbox's PID 1 is bwrap,
and /proc/1/environ shows what bwrap was started with.
"""

from __future__ import annotations

import os
from typing import Any

from core import credentials
from core.secrets import is_secret_env

# Not passed into a sandbox: sockets and sessions of the user's desktop and of the agent itself.
PLUMBING = frozenset(
    {
        "SSH_AUTH_SOCK", "SSH_AGENT_PID", "GPG_AGENT_INFO", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR",
        "DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "SESSION_MANAGER", "KRB5CCNAME", "DOCKER_HOST",
        "TMUX", "TMUX_PANE", "STY", "WINDOWID", "OLDPWD", "TMPDIR", "TEMP", "TMP",
    }
)  # fmt: skip
_PLUMBING_PREFIXES = ("ML_INTERN_", "XDG_SESSION_", "GNOME_KEYRING", "KDE_", "LANGGRAPH_")
_ALWAYS = {"PAGER": "cat", "GIT_PAGER": "cat", "PYTHONUNBUFFERED": "1"}


def _plumbing(name: str) -> bool:
    return name in PLUMBING or name.startswith(_PLUMBING_PREFIXES)


def command_env(settings: Any, extra: dict[str, str] | None = None, *, sandboxed: bool = False) -> dict[str, str]:
    """The environment for a command the agent runs, plus `extra` (a job's own variables).

    Pagers are disabled (nothing can answer them) and Python output is unbuffered so lines stream.
    Sandboxed, TMPDIR is the sandbox's own /tmp.
    """
    pass_secrets = bool(getattr(getattr(settings, "bash", None), "pass_secrets", False))
    env = {
        k: v
        for k, v in os.environ.items()
        if (pass_secrets or not is_secret_env(k, v)) and (not sandboxed or not _plumbing(k))
    }
    if pass_secrets:  # asked for in the config: the keys held out of os.environ (core.credentials) too
        env.update(credentials.held())
    env.update(_ALWAYS)
    if sandboxed:
        env["TMPDIR"] = "/tmp"
    env.update(extra or {})
    return env
