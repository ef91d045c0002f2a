"""Where ml-intern keeps its files: one rule for $ML_INTERN_HOME and the folders under it.

What is kept there (sessions database, session folders with tool outputs and undo backups, job logs,
input history) is the user's alone: folders 0700, files 0600. Modes are given when a path is created
(mkdir/open with the mode, which a umask can only narrow), not by changing the process umask, which
children and the files the agent writes in the workspace would inherit; a path left looser by an
older version is tightened when it is next opened.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def ml_intern_home() -> Path:
    """$ML_INTERN_HOME, or ~/.ml-intern: the sessions database, session folders, logs."""
    return Path(os.environ.get("ML_INTERN_HOME") or Path.home() / ".ml-intern").expanduser()


def session_dir(home: Path, session_id: str) -> Path:
    """A session's own folder (created 0700): spilled outputs, undo backups, job logs, the replay cursor."""
    return private_dir(home, "sessions", session_id)


def private_dir(home: Path, *parts: str) -> Path:
    """home/parts..., each created or tightened 0700 (folders above home are left as they are)."""
    home.parent.mkdir(parents=True, exist_ok=True)
    path = _make_private_dir(home)
    for part in parts:
        path = _make_private_dir(path / part)
    return path


def _make_private_dir(path: Path) -> Path:
    try:
        path.mkdir(mode=PRIVATE_DIR)
    except FileExistsError:
        tighten(path, PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty (0600) if missing, else tighten its mode; its content is left alone."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE))
    except FileExistsError:
        tighten(path, PRIVATE_FILE)
    return path


def tighten(path: Path, wanted: int) -> None:
    """Drop group and other permissions from an existing path; one that is not ours is left alone."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
        if current & ~wanted & 0o077:
            path.chmod(current & wanted)
    except OSError:
        pass


def outputs_dir(session_dir: Path) -> Path:
    """Where a session's spilled tool outputs go: the one part of the session folder the model may read."""
    return session_dir / "outputs"


_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")


def safe_file_name(name: str, max_chars: int = 80) -> str:
    """`name` (a tool-call id: the model picks it) as a single file name that stays in its folder.

    Anything but letters, digits, '.', '_' and '-' becomes '_', leading dots go (no '.', '..' or hidden
    files); a changed or shortened name gets a digest of the original so two ids never share a file."""
    cleaned = _UNSAFE_NAME_CHARS.sub("_", name)[:max_chars].lstrip(".")
    if cleaned == name and cleaned:
        return cleaned
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{cleaned or 'id'}-{digest}"
