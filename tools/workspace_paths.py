"""Path confinement: every path a tool touches must resolve inside the workspace.

Paths are taken relative to the workspace; absolute paths are fine when they point inside it.
The check is made on the fully resolved path (symlinks followed), so `..` tricks and symlinks
that lead out are refused alike. settings.workspace.allowed_paths lists extra trees (by prefix)
the user has opened up on purpose, e.g. a dataset cache. Reading tools may also pass `readable`:
trees open to them only, such as the session's spilled outputs that a truncation notice points to.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from configs.schema import AgentConfig
from tools.base import ToolError


def _allowed_roots(settings: AgentConfig | None) -> list[Path]:
    extra = settings.workspace.allowed_paths if settings is not None else []
    return [Path(os.path.expanduser(p)).resolve() for p in extra]


def _is_within(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def resolve_path(
    path: str, workspace: Path, settings: AgentConfig | None = None, readable: Iterable[Path] = ()
) -> Path:
    """The resolved absolute path for `path`, or ToolError if it leaves the workspace.

    The file need not exist (write creates it); its nearest existing ancestor is what the
    symlink check sees. `readable` roots are accepted too: only read-only tools pass them.
    """
    if not isinstance(path, str) or not path.strip():
        raise ToolError("Empty path: give a path relative to the workspace, e.g. 'src/train.py'.")
    if "\x00" in path:
        raise ToolError("Path contains a NUL byte.")
    root = workspace.resolve()
    raw = Path(os.path.expanduser(path.strip()))
    candidate = raw if raw.is_absolute() else root / raw
    try:
        resolved = candidate.resolve()  # follows symlinks, collapses '..'
    except (OSError, RuntimeError) as exc:  # symlink loop, unreadable folder
        raise ToolError(f"Cannot resolve '{path}': {exc}.") from exc
    if _is_within(resolved, root):
        return resolved
    for allowed in [*_allowed_roots(settings), *(Path(r).resolve() for r in readable)]:
        if _is_within(resolved, allowed):
            return resolved
    how = "points outside" if candidate.is_symlink() or _has_symlink_ancestor(candidate, root) else "is outside"
    raise ToolError(
        f"Refused: '{path}' {how} the workspace ({root}). Use a path inside the workspace, "
        "or ask the user to add it to settings.workspace.allowed_paths."
    )


def _has_symlink_ancestor(candidate: Path, root: Path) -> bool:
    """True when the lexical path stays inside the workspace but a symlink on the way leads out."""
    lexical = Path(os.path.normpath(candidate))
    if not _is_within(lexical, root):
        return False
    probe = lexical
    while probe != root and probe != probe.parent:
        if probe.is_symlink():
            return True
        probe = probe.parent
    return False


def display_path(path: Path, workspace: Path) -> str:
    """How a path is shown to the model: relative to the workspace when inside it."""
    root = workspace.resolve()
    try:
        rel = path.relative_to(root)
    except ValueError:
        return str(path)
    return str(rel) if str(rel) != "." else "."
