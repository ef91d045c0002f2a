"""The generic fake: a threaded HTTP server on 127.0.0.1:0 that dispatches to a route table, with one-shot
failure injection and a record of every request. FakeHub and FakeWeb are route tables on top of it."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Recorded:
    method: str
    path: str  # raw path, without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})})


def text_reply(text: str, content_type: str = "text/plain; charset=utf-8", status: int = 200) -> Reply:
    return Reply(status, text.encode(), {"Content-Type": content_type})


def error_reply(status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None) -> Reply:
    extra = {"X-Error-Message": message, **({"X-Error-Code": code} if code else {}), **(headers or {})}
    return json_reply({"error": message}, status, extra)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


Handler = Callable[["Request"], Reply]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    match: re.Match

    def arg(self, name: str, default: str | None = None) -> str | None:
        return self.query.get(name, [default])[0]

    def group(self, name: str) -> str:
        return unquote(self.match.group(name) or "")

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class FakeServer:
    """A threaded HTTP server on 127.0.0.1:0 with a route table, failure injection and a request log."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern, Handler]] = []
        self.failures: list[dict[str, Any]] = []
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeServer:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # headers and body leave in one segment (no 40 ms delayed-ACK stalls)
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                reply = server.dispatch(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # -- routing ---------------------------------------------------------------------------
    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append((method, re.compile(pattern), handler))
            return handler

        return register

    def fail(
        self,
        method: str,
        pattern: str,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int | None = 1,
    ) -> None:
        """Answer the next `times` matching requests (None: all) with `status` instead of the real route."""
        message = body if isinstance(body, str) else None
        payload = body if isinstance(body, (dict, list)) else {"error": message or f"fake {status}"}
        hdrs = {"X-Error-Message": message} if message else {}
        self.failures.append(
            {
                "method": method,
                "re": re.compile(pattern),
                "times": times,
                "reply": json_reply(payload, status, {**hdrs, **(headers or {})}),
            }
        )

    def dispatch(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query, keep_blank_values=True)
        with self._lock:
            self.requests.append(Recorded(method, parts.path, query, headers, body))
            for failure in self.failures:
                if failure["method"] in (method, "*") and failure["re"].search(parts.path) and failure["times"] != 0:
                    if failure["times"] is not None:
                        failure["times"] -= 1
                    return failure["reply"]
        for route_method, pattern, handler in self.routes:
            if route_method != method and not (route_method == "GET" and method == "HEAD"):
                continue
            match = pattern.fullmatch(parts.path)
            if match:
                try:
                    return handler(Request(method, parts.path, query, headers, body, match))
                except Exception as exc:  # a bug in a fake route shows up as a 500 with the reason
                    return error_reply(500, f"fake server error: {type(exc).__name__}: {exc}")
        return error_reply(404, f"no fake route for {method} {parts.path}")

    def auth_headers(self) -> list[str]:
        return [r.headers["authorization"] for r in self.requests if "authorization" in r.headers]

    def seen(self, method: str, pattern: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]
