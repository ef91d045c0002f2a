"""Secret redaction for anything that leaves the machine or the session (exports, shared traces).

Two layers: patterns for the shapes of known tokens, and the literal values of the secrets this
process holds (environment variables named *_KEY, *_TOKEN, *_SECRET, ...), so a key of a shape no
pattern knows is still blanked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from core import credentials

MIN_SECRET_CHARS = 8  # shorter values ("1", "true") are settings; blanking them would garble the text

_PATTERNS = [
    (re.compile(r"\bhf_[A-Za-z0-9]{20,}\b"), "hf_***"),
    (re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}\b"), "sk-***"),
    (re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}\b"), "gh*_***"),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b"), "github_pat_***"),
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), "AKIA***"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/@\s:]+):[^/@\s]+@"), r"\1:***@"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/\-]{8,}=*"), r"\1 ***"),
    (re.compile(r"(?i)\b([A-Z0-9_]*(?:_KEY|TOKEN|SECRET|PASSWORD))\s*([=:])\s*(['\"]?)[^\s'\"]+\3"), r"\1\2***"),
]


def known_secrets(extra: Iterable[str | None] = ()) -> list[str]:
    """Secret values this process holds, longest first (a secret containing another is blanked whole)."""
    values = {v for v in extra if v} | credentials.secret_values()
    return sorted({v.strip() for v in values if len(v.strip()) >= MIN_SECRET_CHARS}, key=len, reverse=True)


def redact_text(text: str, secrets: Sequence[str] = ()) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any, secrets: Sequence[str] = ()) -> Any:
    """Redact secrets in strings anywhere inside a JSON-like value."""
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value
