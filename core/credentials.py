"""The agent's keys and tokens, held in this process and nowhere else.

A child of the same user can read its parent's environment (`/proc/$PPID/environ`), so keys must not
stay there: `start()` runs at every entry (the CLI's `main`, the Studio graph factory and checkpointer)
before anything reads a key, and

1. loads the user's `.env` (`~/.config/ml-intern/.env`) or the `--env-file` given, never one from the
   working directory (configs.loader says why);
2. takes the keys a parent ml-intern handed over through a pipe (`ML_INTERN_CREDENTIALS_FD`, see
   `hand_over`), so the Studio server never has them in its environment at all;
3. moves every secret variable (core.secrets) out of `os.environ` into this holder;
4. blanks them in the process's initial environment block and turns off same-user inspection
   (core.process_env says why both are needed and what they cost).

Code that needs a key asks `get(NAME)` and hands it over explicitly (litellm `api_key=`, `HfApi(token=)`,
an Authorization header, a job's secrets); `get` falls back to `os.environ` for a value set later (an
embedding program, tests). Children get nothing unless the config asks for it (`bash.pass_secrets`,
an MCP server's own `env`), and then from here.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import threading
from collections.abc import Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from configs.environment import load_env_file, use_held_variables
from core.process_env import blank_initial_environ, forbid_inspection
from core.secrets import is_secret_env

HANDOVER_FD_VAR = "ML_INTERN_CREDENTIALS_FD"
# An authenticated proxy is a secret for children, but our own HTTP clients still need it in os.environ.
_KEEP_IN_PROCESS = re.compile(r"(?i)^(?:https?|all|ftp)_proxy$")
_held: dict[str, str] = {}
_started = False
# Keys that replace the process's for one agent's work (a web user's HF token): see `scoped`.
_scope: ContextVar[Mapping[str, str | None] | None] = ContextVar("ml_intern_credentials_scope", default=None)
use_held_variables(_held)


def start(env_file: Path | str | None = None, *, inspectable: bool = False) -> None:
    """Load .env, take the keys out of the environment, hide the process; once per process.

    `inspectable` skips prctl, for commands that only print and exit (`--help`)."""
    global _started
    if _started:
        return
    load_env_file(env_file)  # may raise ConfigError: nothing changed yet, the caller reports it
    _started = True
    _held.update(_receive_handover())
    for name, value in list(os.environ.items()):
        if is_secret_env(name, value):
            _held[name] = value
            del os.environ[name]
    if _held and sys.platform.startswith("linux"):  # elsewhere there is no /proc/<pid>/environ to read
        try:
            blank_initial_environ(is_secret_env)
        except OSError as e:
            print(f"ml-intern: warning: keys may stay readable in /proc/{os.getpid()}/environ ({e})", file=sys.stderr)
    for name, value in _held.items():
        if _KEEP_IN_PROCESS.match(name):
            os.environ[name] = value  # a fresh copy on the heap, not in the block children can read
    if not inspectable:
        forbid_inspection()


def get(name: str) -> str | None:
    """A key by its variable name: the scoped value when a scope names it, else the held value, else the live
    environment; None when unset or empty."""
    scope = _scope.get()
    if scope is not None and name in scope:
        return scope[name] or None
    return _held.get(name) or os.environ.get(name) or None


def hold(name: str, value: str) -> None:
    """Keep a key given while running (pasted at the first-run screen) like one read at start: out of
    os.environ, so no child process inherits it."""
    _held[name] = value
    os.environ.pop(name, None)


def pinned(name: str) -> bool:
    """Does a scope fix this key (so nothing may fall back to another source, such as a stored login)?"""
    scope = _scope.get()
    return scope is not None and name in scope


@contextmanager
def scoped(values: Mapping[str, str | None] | None):
    """Within this block (and the tasks it starts), `get` answers these keys from `values` and nothing else:
    a web user's HF token replaces the server's, and a None value means "no key", never the server's.

    A contextvar, so two users' turns running at once in one process each see only their own key."""
    if values is None:
        yield
        return
    merged = {**(_scope.get() or {}), **values}
    token = _scope.set(merged)
    try:
        yield
    finally:
        _scope.reset(token)


def held() -> Mapping[str, str]:
    """Every secret variable taken out of the environment at start (a copy)."""
    return dict(_held)


def secret_values() -> set[str]:
    """The values of every secret this process knows: held ones and any secret set in os.environ since."""
    values = set(_held.values())
    values.update(v for k, v in os.environ.items() if is_secret_env(k, v))
    return {v for v in values if v}


def hand_over() -> tuple[dict[str, str], tuple[int, ...]]:
    """For a child that runs ml-intern code (the Studio server): (environment additions, fds to pass).

    The keys go through a pipe, never through the child's environment; pass the fds with
    `subprocess.Popen(pass_fds=...)`, then close them here."""
    if not _held:
        return {}, ()
    read_end, write_end = os.pipe()
    payload = json.dumps(_held).encode()
    threading.Thread(target=_write_and_close, args=(write_end, payload), daemon=True).start()
    return {HANDOVER_FD_VAR: str(read_end)}, (read_end,)


def _write_and_close(fd: int, payload: bytes) -> None:
    try:
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(payload)
    except OSError:
        pass  # the child died first: nothing to hand over


def _receive_handover() -> dict[str, str]:
    fd = os.environ.pop(HANDOVER_FD_VAR, "")
    try:  # only a pipe: an inherited variable may name an fd that is something else here
        if not fd.isdigit() or not stat.S_ISFIFO(os.fstat(int(fd)).st_mode):
            return {}
        with os.fdopen(int(fd), "rb") as pipe:
            data = json.loads(pipe.read() or b"{}")
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
