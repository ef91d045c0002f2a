"""Where ml-intern keeps its files: one rule for $ML_INTERN_HOME and the folders under it."""

from __future__ import annotations

import os
from pathlib import Path


def ml_intern_home() -> Path:
    """$ML_INTERN_HOME, or ~/.ml-intern: the sessions database, session folders, logs."""
    return Path(os.environ.get("ML_INTERN_HOME") or Path.home() / ".ml-intern").expanduser()


def session_dir(home: Path, session_id: str) -> Path:
    """A session's own folder: spilled outputs, undo backups, job logs, the replay cursor."""
    return home / "sessions" / session_id
