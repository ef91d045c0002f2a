"""Provider errors, classified once so llm_call can decide: retry, compact, or stop.

The replay model raises these directly; litellm's exceptions are mapped by `classify`.
"""

from __future__ import annotations

import re
from enum import StrEnum


class ErrorKind(StrEnum):
    RATE_LIMIT = "rate_limit"  # back off, honour retry-after
    TRANSIENT = "transient"  # 5xx, timeout, connection: back off
    CONTEXT_OVERFLOW = "context_overflow"  # compact, retry once
    AUTH = "auth"  # stop: name the variable to set
    BILLING = "billing"  # stop
    UNKNOWN_MODEL = "unknown_model"  # stop
    EMPTY_ANSWER = "empty_answer"  # no text and no call, or a stream cut off: retry (near the window: overflow)
    SERVER_DOWN = "server_down"  # stop: a server on this machine refused the connection (nothing listens)
    OTHER = "other"  # stop


RETRYABLE = {ErrorKind.RATE_LIMIT, ErrorKind.TRANSIENT, ErrorKind.EMPTY_ANSWER}


class ProviderError(Exception):
    def __init__(self, kind: ErrorKind, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after


class ModelConfigError(Exception):
    """The model cannot be used as configured (bad id, missing key); the message names the fix."""


class MissingCredentials(ModelConfigError):
    """The provider's key is not set (the message names the variable)."""


_OVERFLOW_TEXT = re.compile(
    r"context.{0,20}(length|window)|maximum context|too many tokens|prompt is too long|input is too long"
    r"|exceeds? the available context|n_ctx",
    re.I,
)
# "... exceed context window of 8192", "maximum context length is 8192 tokens", "n_ctx: 8192", "n_ctx_slot = 8192"
_WINDOW_IN_TEXT = re.compile(
    r"(?:context window of|context length is|context size(?: is)?|n_ctx(?:_slot)?\s*[:=]?)\s*(\d{3,7})", re.I
)


def window_from_message(text: str) -> int | None:
    """The context window an overflow error names (llama.cpp, vLLM and OpenAI say it), else None."""
    match = _WINDOW_IN_TEXT.search(text)
    return int(match.group(1)) if match else None


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        value = headers.get("retry-after")
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _refused_loopback_url(exc: BaseException) -> str | None:
    """The URL of a connection to this machine that was refused, else None. Nothing listens there: retrying
    for a minute cannot help, unlike a remote host that drops a connection for a moment."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 8:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    text = " ".join(str(e) for e in chain).lower()
    refused = any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text
    if not refused and "all connection attempts failed" not in text:  # httpx's words for localhost refusing
        return None
    for e in chain:
        try:
            url = e.request.url  # type: ignore[attr-defined]  # httpx errors carry their request
        except (AttributeError, RuntimeError):
            continue
        host = str(getattr(url, "host", "") or "")
        if host == "localhost" or _is_loopback_ip(host):
            return str(url)
    return None


def _is_loopback_ip(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def classify(exc: BaseException, key_hint: str = "") -> ProviderError:
    """Map any exception raised by a model call to a ProviderError."""
    if isinstance(exc, ProviderError):
        return exc
    url = _refused_loopback_url(exc)
    if url is not None:
        base = url.split("/chat/completions")[0]
        return ProviderError(
            ErrorKind.SERVER_DOWN,
            f"nothing answers at {base} (connection refused): start the local model server, "
            "or set its <NAME>_BASE_URL to where it runs",
        )
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    text = str(exc)
    fix = f" (check {key_hint})" if key_hint else ""
    if name == "ContextWindowExceededError" or _OVERFLOW_TEXT.search(text):
        return ProviderError(ErrorKind.CONTEXT_OVERFLOW, text)
    if name == "RateLimitError" or status == 429:
        if "quota" in text.lower() or "billing" in text.lower() or "credit" in text.lower():
            return ProviderError(ErrorKind.BILLING, f"the provider refused for billing reasons: {text[:300]}")
        return ProviderError(ErrorKind.RATE_LIMIT, text[:300], _retry_after(exc))
    if name in {"AuthenticationError", "PermissionDeniedError"} or status in (401, 403):
        return ProviderError(ErrorKind.AUTH, f"the provider rejected the credentials{fix}: {text[:300]}")
    if status == 402:
        return ProviderError(ErrorKind.BILLING, f"payment required by the provider: {text[:300]}")
    if name == "NotFoundError" or status == 404:
        return ProviderError(ErrorKind.UNKNOWN_MODEL, f"unknown model or endpoint: {text[:300]}")
    if (
        name
        in {
            "Timeout",
            "APIConnectionError",
            "ServiceUnavailableError",
            "BadGatewayError",
            "InternalServerError",
            "TimeoutError",
            "ConnectError",
            "ReadTimeout",
        }
        or (isinstance(status, int) and status >= 500)
        or isinstance(exc, (TimeoutError, ConnectionError))
    ):
        return ProviderError(ErrorKind.TRANSIENT, f"{name}: {text[:300]}")
    return ProviderError(ErrorKind.OTHER, f"{name}: {text[:300]}")
