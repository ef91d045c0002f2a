"""The web app in process, for tests: `app_client(options)` -> an httpx client on the ASGI app (its lifespan
run) whose requests carry the page's origin; `sign` reads /api/me and sends its CSRF token from then on, as
the page does; `follow` reads the events of a session's current turn until it ends."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from typing import Any

import httpx
from helpers import ROOT


@asynccontextmanager
async def app_client(options, base_url: str = "http://127.0.0.1:7860"):
    from web.app import create_app

    app = create_app(options)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url, headers={"Origin": base_url}) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def sign(client: httpx.AsyncClient) -> dict[str, Any]:
    """Read /api/me and send its CSRF token with every later request, as the page does."""
    me = (await client.get("/api/me")).json()
    if me.get("csrf"):
        client.headers["X-CSRF-Token"] = me["csrf"]
    return me


async def follow(client: httpx.AsyncClient, session_id: str, after: int = 0) -> list[dict[str, Any]]:
    """The events of the session's current turn after `after`, until the turn ends (SSE with ?once=1)."""
    response = await client.get(f"/api/sessions/{session_id}/events", params={"after": after, "once": 1})
    assert response.status_code == 200
    events = []
    for block in response.text.split("\n\n"):
        data = [line[6:] for line in block.splitlines() if line.startswith("data: ")]
        if data:
            events.append(json.loads("\n".join(data)))
    return events


def dockerfile_cmd() -> list[str]:
    """The command line the Dockerfile runs (its last CMD, exec form)."""
    import re

    text = (ROOT / "Dockerfile").read_text()
    return json.loads(re.findall(r"^CMD (\[.*\])$", text, re.M)[-1])
