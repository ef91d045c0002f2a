"""Undo for files: keep the original of every file a tool changes during a turn, put it back on undo.

Undo must never destroy work done after the turn: for each file it also records a hash of the file as
the turn left it, and restores the file only while it still holds exactly that. A file changed since (by
the user, or by something the turn ran that undo cannot see, like bash) is kept as it is, and the
turn's original is saved beside the session so nothing is lost either way; `force` restores regardless.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from configs.schema import AgentConfig
from tools.base import ToolError
from tools.workspace_paths import resolve_path

MANIFEST = "manifest.json"  # path -> backup file name, or None when the turn created the file
LEFT = "left.json"  # path -> sha256 of the file as the turn left it, or None when it left no file


def file_hash(path: Path) -> str | None:
    """sha256 of a regular file's bytes; None when there is no regular file (a link counts as changed)."""
    if path.is_symlink() or not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


class FileChanges:
    """Keeps the original of every file a tool changes during one user turn, so undo can restore it.

    One instance per step: after the step's tools ran, `record_left()` hashes the files they touched."""

    def __init__(self, undo_dir: Path, workspace: Path):
        self.undo_dir = undo_dir
        self.workspace = workspace
        self.touched: set[str] = set()

    def before_write(self, path: Path) -> None:
        path = path.resolve()
        key = str(path)
        self.touched.add(key)
        manifest_path = self.undo_dir / MANIFEST
        manifest: dict[str, str | None] = _read_json(manifest_path)
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

    def record_left(self) -> None:
        """Hash the files this step touched, as it leaves them (a later step of the turn hashes again)."""
        if not self.touched:
            return
        left_path = self.undo_dir / LEFT
        left = _read_json(left_path)
        left.update({key: file_hash(Path(key)) for key in self.touched})
        tmp = left_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(left))
        os.replace(tmp, left_path)
        self.touched.clear()


@dataclass
class UndoFiles:
    restored: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # changed since the turn: left as they are
    skipped: list[str] = field(default_factory=list)  # their folder now leads outside the workspace
    originals: dict[str, str] = field(default_factory=dict)  # kept or skipped path -> saved pre-turn copy


def restore_file_changes(
    undo_dir: Path,
    workspace: Path,
    settings: AgentConfig | None = None,
    keep_dir: Path | None = None,
    force: bool = False,
) -> UndoFiles:
    """Put every file recorded in undo_dir back as it was before the turn, unless it changed since.

    A file that no longer holds what the turn left is kept (with `force`, restored anyway); a path whose
    folder no longer resolves inside the workspace (a folder swapped for a symlink since) is skipped. The
    turn's original of a kept or skipped file is copied to `keep_dir`. Files are replaced, never written
    through: undo cannot reach outside the workspace.
    """
    out = UndoFiles()
    manifest = _read_json(undo_dir / MANIFEST)
    left = _read_json(undo_dir / LEFT)
    for key, backup in manifest.items():
        target = Path(key)
        try:
            folder = resolve_path(str(target.parent), workspace, settings)
        except ToolError:
            out.skipped.append(key)
            _save_original(undo_dir, backup, key, workspace, keep_dir, out)
            continue
        dest = folder / target.name
        if not force and file_hash(dest) != left.get(key, "unknown"):
            out.kept.append(key)
            _save_original(undo_dir, backup, key, workspace, keep_dir, out)
            continue
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
        out.restored.append(key)
    return out


def _save_original(
    undo_dir: Path, backup: str | None, key: str, workspace: Path, keep_dir: Path | None, out: UndoFiles
) -> None:
    """Copy the turn's original of `key` (if it had one) to keep_dir, under its path in the workspace."""
    if backup is None or keep_dir is None:
        return
    try:
        relative = Path(key).relative_to(workspace.resolve())
    except ValueError:
        relative = Path(key.lstrip("/"))
    copy = keep_dir / relative
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(undo_dir / backup, copy)
    out.originals[key] = str(copy)
