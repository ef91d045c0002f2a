"""Each Hub call gets its own HTTP client, and an unreachable endpoint fails at once.

huggingface_hub shares one httpx client between all threads and its retry loop closes that client when
a connection fails: a Hub call running beside it then fails with "Cannot send a request, as the client
has been closed". `install()` gives huggingface_hub (through its public set_client_factory) a client that
hands every request to a client of the calling thread; `own_client()` scopes one to a hub_call, which
runs in its own thread, and closes it afterwards. So no call can close a client another call uses.

In a hub_call, a connection that cannot be made (refused, unknown host, TLS failure) is not retried: the
library would wait 1+2+4+8+8 s and log each attempt on stderr, where one clear line is what the model
and user need. (Outside hub_call, e.g. a download that may fall back to the local cache, the library's
behaviour is kept.)
The library's retry warnings (5xx, 429) are silenced for the same reason: hub_call reports the outcome.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_local = threading.local()
_install_lock = threading.Lock()
_installed = False
DEFAULT_TIMEOUT_S = 60.0  # between bytes, not for a whole transfer; the library's default is none at all


class HubUnreachable(Exception):
    """No connection could be made to the endpoint (not retried)."""


def _new_client(fail_fast: bool) -> Any:
    import httpx2
    from huggingface_hub.utils._http import hf_request_event_hook

    class FailFastTransport(httpx2.HTTPTransport):
        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            try:
                return super().handle_request(request)
            except httpx2.ConnectError as exc:  # the library retries these for ~23 s: say it now
                raise HubUnreachable(str(exc) or type(exc).__name__) from exc

    return httpx2.Client(
        event_hooks={"request": [hf_request_event_hook]},
        follow_redirects=True,
        timeout=httpx2.Timeout(DEFAULT_TIMEOUT_S, connect=10.0),
        transport=FailFastTransport() if fail_fast else httpx2.HTTPTransport(),
    )


def _thread_client() -> Any:
    client = getattr(_local, "client", None)
    if client is None or client.is_closed:
        client = _local.client = _new_client(fail_fast=False)  # outside hub_call: the library's own ways
    return client


class _PerThreadClient:
    """What huggingface_hub's get_session() returns: every attribute is the calling thread's client's,
    and close() (the library's close_session) closes only that one."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_thread_client(), name)

    def close(self) -> None:
        client = getattr(_local, "client", None)
        _local.client = None
        if client is not None:
            client.close()

    def __enter__(self) -> _PerThreadClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def install() -> None:
    """Route huggingface_hub's HTTP through per-thread clients (once per process)."""
    global _installed
    if _installed:
        return
    with _install_lock:
        if _installed:
            return
        from huggingface_hub.utils import logging as hf_logging
        from huggingface_hub.utils import set_client_factory

        # a stand-in for httpx.Client: it forwards every attribute to the calling thread's client
        set_client_factory(_PerThreadClient)  # pyright: ignore[reportArgumentType]
        hf_logging.set_verbosity_error()
        _installed = True


@contextmanager
def own_client() -> Iterator[None]:
    """The calling thread gets a fresh client for the duration (one Hub call), closed at the end."""
    install()
    previous = getattr(_local, "client", None)
    _local.client = _new_client(fail_fast=True)
    try:
        yield
    finally:
        client, _local.client = _local.client, previous
        if client is not None:
            client.close()
