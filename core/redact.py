"""Secret redaction for anything that leaves the machine or the session (exports, shared traces).

Every string goes through three layers:

1. the literal values of the secrets this process holds (core.credentials, not os.environ, which no
   longer has them), also when a line break splits one, so a key of no known shape is still blanked;
2. our patterns for what scanners miss or cut short: whole PEM private-key blocks, `Basic`/`Bearer`
   credentials, URLs with a password (also `redis://:pw@`), `name = value` and JSON/YAML fields whose
   name is a secret name (core.secrets: `"password"`, `"api_key"`, `"client_secret"`...), whole JWTs,
   and known token prefixes, continued over wrapped lines;
3. detect-secrets' regex detectors, a maintained catalogue of provider key shapes (Stripe, Slack,
   Twilio, SendGrid, npm, PyPI, GitLab, Azure, Artifactory, Discord, Telegram...). They run offline
   (no verification: detectors are called directly, never through detect-secrets' settings, which can
   enable network checks). Its keyword and entropy plugins are left out: the first finds one field
   per line, the second blanks commit hashes and checksums.

Speed matters (a 1,000-message export): the detectors scan all of an export's text in one pass
(`redact_many`), and each of our patterns runs only where a substring test says it may match. Measured
on these 2-core machines: 1,000 messages (1.35 MB) in 0.6-0.8 s, about half of it in detect-secrets,
plus ~0.2-0.3 s to import it on the first call.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from core import credentials
from core.secrets import is_secret_env_name

MASK = "***"
MIN_SECRET_CHARS = 8  # shorter values ("1", "true") are settings; blanking them would garble the text
_NOT_SECRET_VALUE = re.compile(r"(?i)^(?:\$\{?\w+\}?|\*+|<[^>]*>|true|false|none|null|yes|no|-?\d+(?:\.\d+)?)$")
_TOKEN_CHARS = r"[A-Za-z0-9_\-]"
# A token cut by a line wrap goes on with lines made only of token characters.
_WRAPPED = rf"(?:[ \t]*\r?\n{_TOKEN_CHARS}{{8,}}(?=[ \t]*(?:\r?\n|$)))*"
_PREFIXED_TOKEN = re.compile(
    r"\b(?:hf_[A-Za-z0-9]{20,}|sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_\-]{20,}"
    r"|xox[abposr]-[A-Za-z0-9\-]{10,}|AIza[A-Za-z0-9_\-]{30,}|(?:AKIA|ASIA)[A-Z0-9]{16})" + _WRAPPED
)
_PREFIX = re.compile(
    r"hf_|sk-(?:ant-|proj-)?|[sr]k_(?:live|test)_|gh[pousr]_|github_pat_|glpat-|xox[abposr]-|AIza|AKIA|ASIA"
)
_PEM = re.compile(r"(-----BEGIN ([A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----).*?(?:-----END \2-----|\Z)", re.DOTALL)
_JWT = re.compile(r"eyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*")
_URL_PASSWORD = re.compile(r"://([^/@\s:\"']*):[^/@\s\"']+@")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/\-]{8,}=*")
_BASIC = re.compile(r"(?i)\b(authorization:\s*)?(basic)\s+([A-Za-z0-9+/]{8,}={0,2})")
# name = value, name: value, "name": "value": the name decides (core.secrets), the value is blanked.
_FIELD = re.compile(
    r"""(?P<name>(?<![\w.\-])[\w.\-]*?(?i:key|token|secret|pass|pwd|credential|creds|dsn|webhook|cookie)[\w.\-]*)"""
    r"""(?P<q>["']?)(?P<sep>[ \t]*[:=][ \t]*)"""
    r"""(?:"(?P<v1>[^"\n]+)"|'(?P<v2>[^'\n]+)'|(?P<v3>[^\s"',;}\]&]+))"""
)
_PREFIX_HINTS = ("hf_", "sk-", "k_live_", "k_test_", "gh", "github_pat_", "glpat-", "xox", "AIza", "AKIA", "ASIA")
_FIELD_HINTS = ("key", "token", "secret", "pass", "pwd", "credential", "creds", "dsn", "webhook", "cookie")
# Left out: public IPs are not secrets; the private-key header is ours (whole PEM blocks); the IBM Cloud,
# Cloudant and SoftLayer detectors look for `<service>_key = value` assignments, which the field rule
# already blanks, and cost 60% of the scan.
_SKIPPED_DETECTORS = {
    "IPPublicDetector", "PrivateKeyDetector", "CloudantDetector", "IbmCloudIamDetector", "IbmCosHmacDetector",
    "SoftlayerDetector",
}  # fmt: skip


def known_secrets(extra: Iterable[str | None] = ()) -> list[str]:
    """Secret values this process holds, longest first (a secret containing another is blanked whole)."""
    values = {v for v in extra if v} | credentials.secret_values()
    return sorted({v.strip() for v in values if len(v.strip()) >= MIN_SECRET_CHARS}, key=len, reverse=True)


@functools.lru_cache(maxsize=8)
def _held_pattern(secrets: tuple[str, ...]) -> re.Pattern[str]:
    """The secrets, each allowed to be split by one line break (real or escaped) between any two characters."""
    gap = r"(?:[ \t]*(?:\r?\n|\\n)[ \t]*)?"
    return re.compile("|".join(gap.join(re.escape(ch) for ch in secret) for secret in secrets))


def _basic(match: re.Match[str]) -> str:
    """`Basic <base64 of user:password>`; plain prose ("Basic information") stays."""
    if not match.group(1):
        try:
            decoded = base64.b64decode(match.group(3) + "==", validate=False)
        except (binascii.Error, ValueError):
            return match.group(0)
        if b":" not in decoded:
            return match.group(0)
    return f"{match.group(1) or ''}{match.group(2)} {MASK}"


def _field(match: re.Match[str]) -> str:
    value = match.group("v1") or match.group("v2") or match.group("v3") or ""
    if not is_secret_env_name(match.group("name")) or _NOT_SECRET_VALUE.match(value) or MASK in value:
        return match.group(0)
    start, end = match.span("v1" if match.group("v1") else "v2" if match.group("v2") else "v3")
    offset = match.start()
    whole = match.group(0)
    return whole[: start - offset] + MASK + whole[end - offset :]


@functools.cache
def _detectors() -> list[Any]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    return [
        cls()
        for cls in get_mapping_from_secret_type_to_class().values()
        if issubclass(cls, RegexBasedDetector) and cls.__name__ not in _SKIPPED_DETECTORS
    ]


def _detected(text: str) -> set[str]:
    found: set[str] = set()
    for detector in _detectors():
        found.update(v for v in detector.analyze_string(text) if len(v) >= MIN_SECRET_CHARS and MASK not in v)
    return found


def _own_layers(text: str, secrets: Sequence[str]) -> str:
    """Layers 1 and 2: held values and our patterns, each tried only when a cheap substring test says it may
    match (substring search is ~50x faster than a regex scanning every position)."""
    if len(text) < MIN_SECRET_CHARS:
        return text
    if secrets:
        text = _held_pattern(tuple(secrets)).sub(MASK, text)
    low = text.lower()
    if "private key" in low:
        text = _PEM.sub(lambda m: f"{m.group(1)}\n{MASK}\n-----END {m.group(2)}-----", text)
    if "eyJ" in text:
        text = _JWT.sub(MASK, text)
    if "://" in text:
        text = _URL_PASSWORD.sub(rf"://\1:{MASK}@", text)
    if "bearer" in low:
        text = _BEARER.sub(rf"\1 {MASK}", text)
    if "basic" in low:
        text = _BASIC.sub(_basic, text)
    if any(prefix in text for prefix in _PREFIX_HINTS):
        text = _PREFIXED_TOKEN.sub(_mask_after_prefix, text)
    if any(word in low for word in _FIELD_HINTS):
        text = "\n".join(_fields(line) for line in text.split("\n"))
    return text


def _mask_after_prefix(match: re.Match[str]) -> str:
    """A prefixed token (hf_..., sk-...) shown as its prefix and the mask."""
    prefix = _PREFIX.match(match.group(0))
    return (prefix.group(0) if prefix else "") + MASK


def _fields(line: str) -> str:
    """Secret fields in one line; a line without a separator or a secret word costs no regex scan."""
    if "=" not in line and ":" not in line:
        return line
    low = line.lower()
    return _FIELD.sub(_field, line) if any(word in low for word in _FIELD_HINTS) else line


def _map_strings(value: Any, fn: Callable[[str], str], by_name: bool = False) -> Any:
    """`fn` over every string inside a JSON-like value; with `by_name`, a string under a secret's name goes whole."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: MASK if by_name and _secret_item(k, v) else _map_strings(v, fn, by_name) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, fn, by_name) for v in value]
    return value


def _secret_item(key: Any, value: Any) -> bool:
    return (
        isinstance(value, str)
        and isinstance(key, str)
        and is_secret_env_name(key)
        and bool(value.strip())
        and not _NOT_SECRET_VALUE.match(value.strip())
    )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def redact_many(values: Sequence[Any], secrets: Sequence[str] = ()) -> list[Any]:
    """Redact JSON-like values (a session's messages) together: the detectors scan all their text in one
    pass, which is what keeps a 1,000-message export fast."""
    staged = [_map_strings(v, lambda text: _own_layers(text, secrets), by_name=True) for v in values]
    found = _detected("\n".join(s for v in staged for s in _strings(v)))
    if not found:
        return staged
    pattern = re.compile("|".join(re.escape(v) for v in sorted(found, key=len, reverse=True)))
    return [_map_strings(v, lambda text: pattern.sub(MASK, text)) for v in staged]


def redact(value: Any, secrets: Sequence[str] = ()) -> Any:
    """Redact secrets in strings anywhere inside a JSON-like value."""
    return redact_many([value], secrets)[0]


def redact_text(text: str, secrets: Sequence[str] = ()) -> str:
    return redact(text, secrets)
