"""Coloured diffs for the chat: the change a write/edit call proposes (on its approval panel) and the change
a finished write/edit made (in its tool preview), without the ---/+++ headers that say nothing new."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from rich.text import Text

STYLES = {"+": "green", "-": "red", "@": "cyan dim"}


def diff_lines(before: str, after: str, context: int = 2) -> list[str]:
    """The unified diff of two texts, without its ---/+++ header lines."""
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), n=context, lineterm="")
    return [line for line in lines if not line.startswith(("---", "+++"))]


def body_of(output: str) -> tuple[list[str], list[str]] | None:
    """Split a tool's output into (lines before the diff, the diff's lines) when it holds a unified diff."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            return lines[:i], [x for x in lines[i + 2 :] if x]
    return None


def render(lines: list[str], limit: int, width: int, indent: str = "") -> Text:
    """Diff lines coloured (+ green, - red, @@ dim), at most `limit`, each cut to `width`."""
    text = Text()
    for n, line in enumerate(lines[:limit]):
        if n:
            text.append("\n")
        text.append(indent + line[: max(width - len(indent), 10)], style=STYLES.get(line[:1], "dim"))
    if len(lines) > limit:
        text.append(f"\n{indent}… {len(lines) - limit} more diff lines", style="dim italic")
    return text


def proposed_change(name: str, args: dict[str, Any], workspace: Path | None) -> list[str] | None:
    """The diff a write or edit call would make, from the file as it is now (None for other tools)."""
    path = args.get("path")
    if name not in ("write", "edit") or not isinstance(path, str):
        return None
    current: str | None = None
    if workspace is not None:
        target = (workspace / path).resolve()
        try:
            if target.is_relative_to(workspace.resolve()) and target.is_file() and target.stat().st_size < 2_000_000:
                current = target.read_text(errors="replace")
        except OSError:
            current = None
    if name == "write":
        content = args.get("content")
        if not isinstance(content, str):
            return None
        return diff_lines(current or "", content)
    old, new = args.get("old_str"), args.get("new_str")
    if not isinstance(old, str) or not isinstance(new, str):
        return None
    mode = args.get("mode") or "replace"
    replacement = {"insert_after": f"{old}\n{new}", "insert_before": f"{new}\n{old}"}.get(mode, new)
    if current is not None and old and old in current:
        after = current.replace(old, replacement) if args.get("replace_all") else current.replace(old, replacement, 1)
        return diff_lines(current, after)
    return diff_lines(old, replacement)
