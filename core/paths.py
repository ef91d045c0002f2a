"""Where ml-intern keeps its files: one rule for $ML_INTERN_HOME and the folders under it."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path


def ml_intern_home() -> Path:
    """$ML_INTERN_HOME, or ~/.ml-intern: the sessions database, session folders, logs."""
    return Path(os.environ.get("ML_INTERN_HOME") or Path.home() / ".ml-intern").expanduser()


def session_dir(home: Path, session_id: str) -> Path:
    """A session's own folder: spilled outputs, undo backups, job logs, the replay cursor."""
    return home / "sessions" / session_id


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
