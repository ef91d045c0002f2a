"""Hub failures as one line the model (and the user) can act on.

huggingface_hub raises multi-paragraph HfHubHTTPErrors; here they become a single line naming the
cause and the fix (log in, billing, namespace, scope, retry time). Blocking HfApi calls run in a
worker thread through `hub_call`, so the event loop keeps streaming while the Hub answers, each with its
own HTTP client (see tools.hub.http_client).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from tools.base import ToolError
from tools.blocking import off_loop
from tools.hub.auth import LOGIN_HINT
from tools.hub.http_client import HubUnreachable, own_client
from tools.output import one_line

T = TypeVar("T")
BILLING_URL = "https://huggingface.co/settings/billing"


def retry_after_seconds(headers: Mapping[str, str]) -> int | None:
    """Seconds until a rate limit resets, from RateLimit (IETF draft), Retry-After or x-ratelimit-reset."""
    lower = {k.lower(): v for k, v in headers.items()}
    match = re.search(r";\s*t=(\d+)", lower.get("ratelimit", ""))
    if match:
        return int(match.group(1))
    if lower.get("retry-after", "").strip().isdigit():
        return int(lower["retry-after"].strip())
    reset = lower.get("x-ratelimit-reset", "").strip()
    if reset.isdigit():
        return max(0, int(reset) - int(time.time()))
    return None


def status_line(
    service: str,
    status: int,
    detail: str = "",
    headers: Mapping[str, str] | None = None,
    *,
    subject: str = "",
    jobs: bool = False,
) -> str:
    """The one-line explanation of an HTTP error status from a Hugging Face service."""
    detail = one_line(detail)
    said = f" ({detail})" if detail else ""
    what = f" {subject}" if subject else ""
    if status == 401:
        return f"{service} rejected the request{what} (401: missing or invalid token){said}: {LOGIN_HINT}."
    if status == 402:
        return (
            f"{service} needs billing for this{what} (402 Payment Required){said}: add a payment method or "
            f"credits at {BILLING_URL}, or use a namespace (org) that has billing."
        )
    if status == 403:
        if jobs:
            return (
                f"{service} refused{what} (403 Forbidden){said}: check the namespace is your user or an org "
                "you can run jobs in, and that your token has the job write scope (fine-grained tokens)."
            )
        return (
            f"{service} refused{what} (403 Forbidden){said}: your token lacks permission - check you own the "
            "repo/namespace and the token has write access (fine-grained tokens need the matching scope)."
        )
    if status == 400 and jobs:
        return (
            f"{service} rejected the job{what} (400){said}: check flavor (operation=hardware lists them), "
            "timeout, image and schedule."
        )
    if status == 404:
        return f"{service}: not found{what} (404){said}."
    if status == 409:
        return f"{service}: conflict{what} (409){said}."
    if status == 429:
        wait = retry_after_seconds(headers or {})
        when = f"retry in {wait} s" if wait is not None else "wait a minute and retry"
        return f"{service} rate limit reached{what} (429){said}: {when}."
    if status >= 500:
        return f"{service} server error{what} ({status}){said}: try again later."
    return f"{service} error{what} ({status}){said}."


def hub_error_message(exc: BaseException, action: str, *, jobs: bool = False) -> str:
    """One line for any failure of a HfApi call."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalTokenNotFoundError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(exc, HubUnreachable):
        return (
            f"{action} failed: cannot reach the Hugging Face endpoint ({one_line(str(exc))}); check your network "
            "or HF_ENDPOINT."
        )
    if isinstance(exc, LocalTokenNotFoundError):
        return f"{action} failed: no Hugging Face token found: {LOGIN_HINT}."
    if isinstance(exc, HfHubHTTPError) and getattr(exc, "response", None) is not None:
        status = exc.response.status_code
        detail = exc.server_message or ""
        if isinstance(exc, GatedRepoError):
            repo = getattr(exc, "repo_id", None) or "the repo"
            return (
                f"{action} failed: {repo} is gated: accept its conditions on its Hub page with the account of "
                f"your token, then retry ({LOGIN_HINT} if you have not)."
            )
        if isinstance(exc, RepositoryNotFoundError) and status in (401, 404):
            repo = getattr(exc, "repo_id", None)
            kind = getattr(exc, "repo_type", None) or "repo"
            name = f"{kind} '{repo}'" if repo else "the repository"
            return (
                f"{action} failed: {name} not found, or private and your token cannot see it: check the id "
                f"and repo_type; for private repos {LOGIN_HINT}."
            )
        if isinstance(exc, RevisionNotFoundError):
            return (
                f"{action} failed: revision not found: check the branch, tag or commit (list them with "
                "hf_repo_git list_refs)."
            )
        if isinstance(exc, RemoteEntryNotFoundError):
            return f"{action} failed: no such file or folder in the repo (list files with hf_repo_files list)."
        if status == 401 and "invalid user token" in str(exc).lower():
            detail = "invalid token"
        return f"{action} failed: " + status_line("Hugging Face", status, detail, exc.response.headers, jobs=jobs)
    if isinstance(exc, ValueError):  # client-side validation (bad repo id, bad flavor...)
        return f"{action} failed: {one_line(str(exc))}"
    name = type(exc).__name__
    if any(k in name for k in ("Connect", "Timeout", "Network", "Offline", "Protocol")):
        return (
            f"{action} failed: cannot reach the Hugging Face endpoint ({one_line(str(exc)) or name}); check "
            "your network or HF_ENDPOINT."
        )
    return f"{action} failed: {name}: {one_line(str(exc))}"


def _with_own_client(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with own_client():
        return fn(*args, **kwargs)


async def hub_call(action: str, fn: Callable[..., T], *args: Any, jobs: bool = False, **kwargs: Any) -> T:
    """Run a blocking HfApi call in its own thread with its own HTTP client (tools.hub.http_client), which
    the engine abandons on timeout or cancellation; failures become a ToolError with one clear line.

    Generators must be consumed inside `fn` (wrap them in a lambda with list/islice).
    """
    try:
        return await off_loop(_with_own_client, fn, *args, **kwargs)
    except ToolError:
        raise
    except Exception as exc:
        raise ToolError(hub_error_message(exc, action, jobs=jobs)) from exc
