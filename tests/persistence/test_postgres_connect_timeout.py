"""A PostgreSQL host that accepts the connection and never answers: our own bound ends the wait with its
message (TimeoutError is an OSError on 3.11, so it must be caught before the generic connection failure)."""

from __future__ import annotations

import socket

import pytest

from persistence import postgres
from persistence.database import DatabaseError


async def test_a_silent_host_is_reported_as_no_answer(monkeypatch):
    # libpq's own connect_timeout=0 waits forever, so the asyncio bound (CONNECT_TIMEOUT_S + 1 s) fires
    monkeypatch.setattr(postgres, "CONNECT_TIMEOUT_S", 0)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        with pytest.raises(DatabaseError) as raised:
            await postgres._prepare(f"postgresql://intern:s3cret@127.0.0.1:{port}/sessions")
    message = str(raised.value)
    assert "no answer within 0 s" in message and f"127.0.0.1:{port}" in message and "s3cret" not in message
