"""The agent's side of the sandbox server (tools/sandbox/server.py): one async HTTP client per sandbox.

Two credentials, each for its own gate: `X-Sandbox-Authorization` carries the sandbox's own bearer token (the
server checks it), `Authorization` whatever the Hugging Face edge needs to let a request into a private Space
(a short-lived Space token from the Hub, see tools.sandbox.space). Both go only to the Space's host.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tools.base import ToolError

EdgeAuth = Callable[[bool], Awaitable[str | None]]  # refresh -> the edge credential, or None
_HEALTH_POLL_S = 0.5


def _ours(response: httpx.Response) -> bool:
    """Answered by the sandbox server itself (not by the edge in front of the Space)."""
    return response.headers.get("x-ml-intern-sandbox") == "1"


class SandboxClient:
    def __init__(self, url: str, token: str, edge_auth: EdgeAuth | None = None):
        self.url = url.rstrip("/")
        self._token = token
        self._edge_auth = edge_auth
        self._http = httpx.AsyncClient(base_url=self.url, timeout=httpx.Timeout(60, connect=15), follow_redirects=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _headers(self, refresh: bool = False) -> dict[str, str]:
        headers = {"X-Sandbox-Authorization": f"Bearer {self._token}"}
        edge = await self._edge_auth(refresh) if self._edge_auth is not None else None
        if edge:
            headers["Authorization"] = f"Bearer {edge}"
        return headers

    async def _send(self, method: str, path: str, timeout: float, refresh: bool, **kw: Any) -> httpx.Response:
        headers = await self._headers(refresh=refresh)
        return await self._http.request(method, path, headers=headers, timeout=timeout, **kw)

    async def request(self, method: str, path: str, *, timeout: float = 60, **kw: Any) -> httpx.Response:
        """One call; a refusal by the edge (not by our server) is retried once with a fresh edge credential."""
        try:
            response = await self._send(method, path, timeout, refresh=False, **kw)
            if response.status_code in (401, 403) and not _ours(response):
                response = await self._send(method, path, timeout, refresh=True, **kw)
        except httpx.HTTPError as exc:
            raise ToolError(f"the sandbox at {self.url} did not answer ({type(exc).__name__}: {exc})".rstrip()) from exc
        if response.status_code >= 400:
            try:
                message = response.json().get("error") or response.text
            except ValueError:
                message = response.text[:300]
            raise ToolError(f"the sandbox refused {path} ({response.status_code}): {message}")
        return response

    async def call(self, path: str, payload: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
        response = await self.request("POST", path, json=payload, timeout=timeout)
        try:
            return response.json()
        except ValueError:
            raise ToolError(
                f"the sandbox answered {path} with something that is not JSON: {response.text[:200]}"
            ) from None

    async def healthy(self) -> bool:
        try:
            response = await self._http.get("/", headers=await self._headers(), timeout=10)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and _ours(response)

    async def wait_healthy(self, deadline: float) -> None:
        while not await self.healthy():
            if time.monotonic() >= deadline:
                raise ToolError(f"the sandbox server at {self.url} never answered")
            await asyncio.sleep(_HEALTH_POLL_S)

    async def upload(self, path: str, data: bytes) -> dict[str, Any]:
        return (await self.request("PUT", "/files", params={"path": path}, content=data, timeout=600)).json()

    async def download(self, path: str) -> bytes:
        return (await self.request("GET", "/files", params={"path": path}, timeout=600)).content
