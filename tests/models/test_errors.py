"""Provider errors classified: a local server that refuses the connection is not retried for a minute."""

from __future__ import annotations

import socket

import httpx

from models.errors import RETRYABLE, ErrorKind, classify


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _error_from(url: str) -> BaseException:
    try:
        httpx.post(url, json={}, timeout=2)
    except httpx.HTTPError as e:
        return e
    raise AssertionError("the request should have failed")


def test_a_refused_local_server_stops_at_once_and_names_the_url():
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    error = classify(_error_from(url + "/chat/completions"))
    assert error.kind == ErrorKind.SERVER_DOWN and error.kind not in RETRYABLE
    assert f"nothing answers at {url} (connection refused)" in str(error)


def test_localhost_by_name_is_local_too():
    error = classify(_error_from(f"http://localhost:{_closed_port()}/v1/chat/completions"))
    assert error.kind == ErrorKind.SERVER_DOWN


def test_other_connection_failures_are_still_retried():
    request = httpx.Request("POST", "http://203.0.113.7:8000/v1/chat/completions")
    remote = httpx.ConnectError("[Errno 111] Connection refused", request=request)  # a host that may come back
    assert classify(remote).kind == ErrorKind.TRANSIENT
    dropped = httpx.ReadTimeout("timed out", request=httpx.Request("POST", "http://127.0.0.1:1/v1"))
    assert classify(dropped).kind == ErrorKind.TRANSIENT  # a busy local server: worth another try
