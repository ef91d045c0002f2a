"""Text that can always be encoded: lone surrogates made U+FFFD.

A provider's JSON can carry a lone surrogate ("\\ud800"), and so can a tool result or the bytes of a file
decoded with surrogateescape. Such a string breaks every UTF-8 writer downstream (the terminal, JSON
lines, the session table) and ormsgpack stores it as '?'. The engine scrubs what enters the history
from the model and from tools, so what is shown, stored and sent back is the same text.
"""

from __future__ import annotations

import re
from typing import Any

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD (a no-op copy-free check for clean text)."""
    return _LONE_SURROGATE.sub("\ufffd", text) if _LONE_SURROGATE.search(text) else text


def scrub_value(value: Any) -> Any:
    """scrub() through the strings of JSON-like data (dicts, lists), keys included."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub_value(k): scrub_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(v) for v in value]
    return value
