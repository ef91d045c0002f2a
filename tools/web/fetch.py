"""HTTP GETs to the services HfApi has no call for (datasets viewer, docs, arXiv, GitHub, search).

Redirects are followed by hand so every hop is checked: `allow(url)` may refuse a host outright, and
`token_for(url)` decides per hop whether a bearer token is attached (so a redirect never carries a
token to a host that should not see it). Bodies are read up to `max_bytes`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from tools.base import ToolError
from tools.output import one_line

USER_AGENT = "ml-intern/0.1 (+https://github.com/huggingface/ml-intern)"


@functools.cache
def _ssl_context() -> Any:
    """Built once: creating it costs ~40 ms, which every short-lived client would pay again."""
    import httpx

    return httpx.create_ssl_context()


@dataclass
class Fetched:
    url: str  # the final URL, after redirects
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""
    truncated: bool = False  # body was longer than max_bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except ValueError as exc:
            raise ToolError(f"{urlsplit(self.url).netloc} returned invalid JSON (HTTP {self.status}).") from exc

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def error_detail(self) -> str:
        """The server's own error message, if it sent one."""
        try:
            data = json.loads(self.content)
        except ValueError:
            return "" if "html" in self.headers.get("content-type", "") else one_line(self.text, 200)
        if isinstance(data, dict):
            return one_line(str(data.get("error") or data.get("message") or ""), 200)
        return ""


async def fetch(
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    token_for: Callable[[str], str | None] | None = None,
    allow: Callable[[str], bool] | None = None,
    refused: str = "host not allowed",
    method: str = "GET",
    data: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    max_bytes: int = 5_000_000,
    max_redirects: int = 5,
) -> Fetched:
    import httpx

    base_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    query = {k: v for k, v in (params or {}).items() if v is not None}
    async with httpx.AsyncClient(follow_redirects=False, timeout=timeout, verify=_ssl_context()) as client:
        for _ in range(max_redirects + 1):
            if urlsplit(url).scheme not in ("http", "https"):
                raise ToolError(f"Refused to fetch {url}: only http(s) URLs are supported.")
            if allow is not None and not allow(url):
                raise ToolError(f"Refused to fetch {url}: {refused}.")
            hop_headers = dict(base_headers)
            token = token_for(url) if token_for else None
            if token:
                hop_headers["Authorization"] = f"Bearer {token}"
            try:
                async with client.stream(method, url, params=query or None, headers=hop_headers, data=data) as resp:
                    if resp.is_redirect and "location" in resp.headers:
                        url = urljoin(str(resp.url), resp.headers["location"])
                        query, method, data = {}, "GET", None
                        continue
                    body, truncated = bytearray(), False
                    async for chunk in resp.aiter_bytes():
                        body.extend(chunk)
                        if len(body) > max_bytes:
                            del body[max_bytes:]
                            truncated = True
                            break
                    return Fetched(
                        str(resp.url),
                        resp.status_code,
                        {k.lower(): v for k, v in resp.headers.items()},
                        bytes(body),
                        truncated,
                    )
            except httpx.HTTPError as exc:
                host = urlsplit(url).netloc
                raise ToolError(f"Cannot reach {host}: {one_line(str(exc)) or type(exc).__name__}.") from exc
    raise ToolError(f"Too many redirects fetching {url}.")
