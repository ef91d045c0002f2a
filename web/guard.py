"""What every request passes before the app sees it: a size limit, the origin of state-changing requests,
and, without sign-in, the host it was sent to.

- Bodies above `max_bytes` are refused (413), by Content-Length and by counting what arrives.
- A POST, PUT, PATCH or DELETE must come from our own page: its Origin (or Referer) must be this server.
  The X-CSRF-Token header (web.identity.csrf_token) is checked per route on top of this.
- Without OAuth the app serves one local user: the Host header must be a loopback name unless
  `allow_remote`, so a web page elsewhere cannot reach it through DNS rebinding.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class TooLarge(Exception):
    pass


def _host_only(host: str) -> str:
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class RequestGuard:
    def __init__(self, app, max_bytes: int, local_only: bool):
        self.app = app
        self.max_bytes = max_bytes
        self.local_only = local_only

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        host = headers.get("host", "")
        if self.local_only and _host_only(host).lower() not in LOOPBACK_HOSTS:
            return await _refuse(send, 403, "this server only answers on loopback (start it with --allow-remote)")
        method = scope.get("method", "GET")
        if method in UNSAFE:
            origin = headers.get("origin") or headers.get("referer")
            if not origin or urlsplit(origin).netloc.lower() != host.lower():
                return await _refuse(send, 403, "cross-origin request refused: use the page this server serves")
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await _refuse(send, 413, f"request body above {self.max_bytes} bytes")
        seen = 0
        started = False

        async def counted_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise TooLarge
            return message

        async def tracked_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except TooLarge:
            if not started:
                await _refuse(send, 413, f"request body above {self.max_bytes} bytes")


async def _refuse(send, status: int, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
