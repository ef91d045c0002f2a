"""Undo for files: keep the original of every file a tool changes during a turn, put it back on undo."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tools.base import ToolError
from tools.workspace_paths import resolve_path


class FileChanges:
    """Keeps the original of every file a tool changes during one user turn, so undo can restore it."""

    def __init__(self, undo_dir: Path, workspace: Path):
        self.undo_dir = undo_dir
        self.workspace = workspace

    def before_write(self, path: Path) -> None:
        path = path.resolve()
        manifest_path = self.undo_dir / "manifest.json"
        manifest: dict[str, str | None] = {}
        if manifest_path.exists():
            manifest = json.loads(manifest_path.read_text())
        key = str(path)
        if key in manifest:
            return  # the first original of the turn is the one undo restores
        self.undo_dir.mkdir(parents=True, exist_ok=True)
        if path.is_file():
            backup = self.undo_dir / f"{len(manifest)}.orig"
            backup.write_bytes(path.read_bytes())
            manifest[key] = backup.name
        else:
            manifest[key] = None  # created in this turn: undo deletes it
        manifest_path.write_text(json.dumps(manifest))


def restore_file_changes(undo_dir: Path, workspace: Path, settings: Any = None) -> tuple[list[str], list[str]]:
    """Put every file recorded in undo_dir back as it was: (restored paths, skipped paths).

    A path whose folder no longer resolves inside the workspace (a folder swapped for a symlink since)
    is skipped, and files are replaced, never written through: undo cannot reach outside the workspace.
    """
    manifest_path = undo_dir / "manifest.json"
    if not manifest_path.exists():
        return [], []
    restored, skipped = [], []
    for key, backup in json.loads(manifest_path.read_text()).items():
        target = Path(key)
        try:
            folder = resolve_path(str(target.parent), workspace, settings)
        except ToolError:
            skipped.append(key)
            continue
        dest = folder / target.name
        if backup is None:
            if dest.is_symlink() or dest.is_file():
                dest.unlink()  # removes a link itself, never what it points to
        else:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{target.name}.ml-intern-undo"
            tmp.write_bytes((undo_dir / backup).read_bytes())
            if dest.is_file() and not dest.is_symlink():
                os.chmod(tmp, dest.stat().st_mode & 0o7777)
            os.replace(tmp, dest)
        restored.append(key)
    return restored, skipped
