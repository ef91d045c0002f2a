"""Secret redaction for anything that leaves the machine or the session (exports, shared traces)."""

from __future__ import annotations

import re
from typing import Any

_PATTERNS = [
    (re.compile(r"\bhf_[A-Za-z0-9]{20,}\b"), "hf_***"),
    (re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}\b"), "sk-***"),
    (re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}\b"), "gh*_***"),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b"), "github_pat_***"),
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), "AKIA***"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/\-]{8,}=*"), r"\1 ***"),
    (re.compile(r"(?i)\b([A-Z0-9_]*(?:_KEY|TOKEN|SECRET|PASSWORD))\s*([=:])\s*(['\"]?)[^\s'\"]+\3"), r"\1\2***"),
]


def redact_text(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any) -> Any:
    """Redact secrets in strings anywhere inside a JSON-like value."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
