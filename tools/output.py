"""Caps for what a tool sends back to the model: keep it useful, and always say what was left out
and how to get it (the engine caps again at its own limit, this keeps lists and files readable)."""

from __future__ import annotations

import re


def cap_text(text: str, limit: int, hint: str = "") -> str:
    if len(text) <= limit:
        return text
    more = f"; {hint}" if hint else ""
    return f"{text[:limit]}\n[... {len(text) - limit:,} more characters not shown{more}]"


def cap_lines(lines: list[str], limit: int, noun: str = "entries", hint: str = "") -> str:
    if len(lines) <= limit:
        return "\n".join(lines)
    more = f"; {hint}" if hint else ""
    return "\n".join(lines[:limit]) + f"\n[... {len(lines) - limit:,} more {noun} not shown{more}]"


def human_size(num: int | float | None) -> str:
    if num is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(num) < 1024 or unit == "TB":
            return f"{num:.0f} {unit}" if unit == "B" else f"{num:.1f} {unit}"
        num /= 1024
    return f"{num} B"


def one_line(text: str | None, limit: int = 300) -> str:
    """Collapse whitespace and cap: a server's error body as one readable line."""
    text = re.sub(r"\s+", " ", text or "").strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."
