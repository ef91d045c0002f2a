"""A sandbox on a Hugging Face Space: created, waited for and deleted through HfApi; prices per hour.

Creating one: a record first (tools.sandbox.records, so a crash never loses track of it), then a private
Docker Space with the chosen hardware and the sandbox's own bearer token as its only secret
(`SANDBOX_TOKEN`: never the user's HF token), then the template (Dockerfile, README, the server), then wait
for the stage RUNNING and for the server to answer. Paid hardware also gets the idle timeout as its Space
sleep time, so it stops billing even if nobody is left to delete it. Any failure or cancellation on the
way deletes the Space again.

The user's HF token goes to the Hub only. The Space's host gets the sandbox token and, for the Hugging Face
edge in front of a private Space, a short-lived token for that one Space from the Hub (`/api/spaces/<id>/jwt`);
only when the Hub gives none does the HF token itself go there, to that host alone.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.base import ToolError
from tools.hub.auth import hf_endpoint, hf_token, hub_api, require_token
from tools.hub.errors import hub_call
from tools.hub.jobs import PRICES_PER_HOUR
from tools.sandbox import records

HERE = Path(__file__).parent
TEMPLATE = {"Dockerfile": HERE / "template" / "Dockerfile", "README.md": HERE / "template" / "README.md"}
SERVER = HERE / "server.py"
SECRET = "SANDBOX_TOKEN"
NAME_PREFIX = "ml-intern-sandbox-"
FREE = "cpu-basic"
# USD per hour, Hugging Face list prices for Spaces (cpu-basic is free, but a Docker Space on it needs PRO);
# checked against the Hub's live list before anything is created, and replaced by it from then on.
PRICES = {**PRICES_PER_HOUR, FREE: 0.0, "a100x4": 10.0, "a100x8": 20.0}
FAILED_STAGES = {"BUILD_ERROR", "RUNTIME_ERROR", "CONFIG_ERROR", "PAUSED", "STOPPED", "DELETING"}
_POLL_FIRST_S, _POLL_MAX_S = 0.25, 10.0
_JWT_MAX_AGE_S = 600.0

Log = Callable[[str], None]


_live_prices: dict[str, float] = {}  # from the Hub's list, once fetched: what the next approval shows


def price_per_hour(hardware: str) -> float | None:
    return _live_prices.get(hardware, PRICES.get(hardware))


@dataclass
class Created:
    space_id: str
    url: str
    token: str  # the sandbox's own bearer token: memory only
    hardware: str
    price_per_hour: float | None


def _hourly(flavor: Any) -> float:
    cost = float(getattr(flavor, "unit_cost_usd", 0) or 0)
    return round(cost * (60 if getattr(flavor, "unit_label", "hour") == "minute" else 1), 4)


async def _checked_price(api: Any, hardware: str) -> float:
    """The live price, refused when it is above the one the user approved (the built-in table's)."""
    flavors = await hub_call("Listing Spaces hardware", api.list_spaces_hardware)
    live = {f.name: f for f in flavors}
    if hardware not in live:
        raise ToolError(f"unknown Space hardware '{hardware}': choose one of {', '.join(sorted(live))}")
    approved = price_per_hour(hardware)  # what the user saw
    _live_prices.update({name: _hourly(flavor) for name, flavor in live.items()})
    price = _live_prices[hardware]
    if approved is None or price > approved + 1e-9:
        shown = "an unknown price" if approved is None else f"${approved:.2f}/h"
        raise ToolError(
            f"{hardware} costs ${price:.2f}/h on the Hub, not {shown} as shown for approval: nothing was created; "
            "call sandbox_create again to ask the user at that price"
        )
    return price


async def create(
    settings: Any, *, session: str, hardware: str, log: Log, on_record: Callable[[str], None] = lambda s: None
) -> Created:
    """Create, start and reach a sandbox Space; deleted again if anything fails or the call is cancelled."""
    config = settings.sandbox.space
    token = require_token("Creating a sandbox Space")
    api = hub_api(settings, token)
    price = await _checked_price(api, hardware)
    namespace = config.namespace or (await hub_call("Looking up your Hugging Face user", api.whoami))["name"]
    space_id = f"{namespace}/{NAME_PREFIX}{secrets.token_hex(4)}"
    sandbox_token = secrets.token_urlsafe(32)
    records.new_record(space_id, hf_endpoint(settings), session, hardware, price)
    on_record(space_id)
    deadline = time.monotonic() + float(config.start_timeout_s)
    try:
        await _create_space(api, space_id, hardware, sandbox_token, int(config.idle_timeout_s))
        log(f"created the private Space {space_id} on {hardware}; waiting for it to build and start")
        url = await _wait_running(api, space_id, deadline, log)
        from tools.sandbox.client import SandboxClient

        client = SandboxClient(url, sandbox_token, edge_auth(settings, space_id))
        try:
            await client.wait_healthy(deadline)
        finally:
            await client.aclose()
    except BaseException:
        await asyncio.shield(_delete_quietly(settings, space_id))
        raise
    record = records.load_or_none(space_id)
    if record is not None:
        record.status, record.url = "running", url
        records.save(record)
    return Created(space_id, url, sandbox_token, hardware, price)


async def _create_space(api: Any, space_id: str, hardware: str, sandbox_token: str, idle_s: int) -> None:
    from huggingface_hub import CommitOperationAdd

    secret = {"key": SECRET, "value": sandbox_token, "description": "ml-intern sandbox API token"}
    await hub_call(
        f"Creating the Space {space_id}",
        api.create_repo,
        space_id,
        repo_type="space",
        space_sdk="docker",
        private=True,
        space_hardware=hardware,
        space_secrets=[secret],
        space_sleep_time=None if hardware == FREE else idle_s,
    )
    files = {**TEMPLATE, "server.py": SERVER}
    operations = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(path)) for name, path in files.items()]
    await hub_call(
        f"Uploading the sandbox server to {space_id}",
        api.create_commit,
        space_id,
        repo_type="space",
        operations=operations,
        commit_message="ml-intern sandbox server",
    )


async def _wait_running(api: Any, space_id: str, deadline: float, log: Log) -> str:
    """Poll the runtime until RUNNING; the Space's host. A failed stage or the deadline is a ToolError."""
    delay, last, started = _POLL_FIRST_S, None, time.monotonic()
    while True:
        runtime = await hub_call(f"Checking the Space {space_id}", api.get_space_runtime, space_id)
        stage = str(runtime.stage)
        if stage == "RUNNING":
            break
        if stage in FAILED_STAGES:
            why = (runtime.raw or {}).get("errorMessage") or "no message"
            raise ToolError(f"the sandbox Space {space_id} stopped at {stage} ({why}); it was deleted")
        if stage != last:
            log(f"{space_id}: {stage} ({time.monotonic() - started:.0f} s)")
            last = stage
        if time.monotonic() >= deadline:
            raise ToolError(
                f"the sandbox Space {space_id} was not running after {time.monotonic() - started:.0f} s "
                f"(stage {stage}); it was deleted. Raise sandbox.space.start_timeout_s or try other hardware"
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, _POLL_MAX_S)
    info = await hub_call(f"Reading the Space {space_id}", api.space_info, space_id)
    host = info.host or (f"https://{info.subdomain}.hf.space" if info.subdomain else None)
    if not host:
        raise ToolError(f"the Hub gave no host for the sandbox Space {space_id}; it was deleted")
    return host


def edge_auth(settings: Any, space_id: str):
    """What the Hugging Face edge wants in front of a private Space: a Space token from the Hub, cached."""
    cache: dict[str, Any] = {}

    def fetch() -> str | None:
        from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

        token = hf_token()
        if not token:
            return None
        response = get_session().get(
            f"{hf_endpoint(settings)}/api/spaces/{space_id}/jwt", headers=build_hf_headers(token=token), timeout=30
        )
        try:
            hf_raise_for_status(response)
            return str(response.json()["token"])
        except Exception:  # no Space token from this Hub: the edge takes the HF token itself
            return token

    async def get(refresh: bool) -> str | None:
        if refresh or "value" not in cache or time.monotonic() - cache["at"] > _JWT_MAX_AGE_S:
            cache["value"] = await hub_call(f"Getting an access token for {space_id}", fetch)
            cache["at"] = time.monotonic()
        return cache["value"]

    return get


async def delete(settings: Any, space_id: str) -> None:
    """Delete the Space (gone already is fine) and its record; on failure the record says so and stays."""
    record = records.load_or_none(space_id)
    if record is not None:
        record.status = "deleting"
        records.save(record)
    try:
        api = hub_api(settings, require_token(f"Deleting the sandbox Space {space_id}"))
        await hub_call(
            f"Deleting the sandbox Space {space_id}", api.delete_repo, space_id, repo_type="space", missing_ok=True
        )
    except ToolError as exc:
        if record is not None:
            record.status, record.error = "delete_failed", str(exc)
            records.save(record)
        raise
    records.remove(space_id)


async def _delete_quietly(settings: Any, space_id: str) -> None:
    try:
        await delete(settings, space_id)
    except ToolError:
        pass  # the record says delete_failed: the reaper or `ml-intern sandboxes delete` retries


async def reap(settings: Any) -> list[str]:
    """Delete the sandboxes of dead owners (and failed deletions) on this Hub; one line per sandbox."""
    found = records.orphans(hf_endpoint(settings))
    if not found:
        return []
    if not hf_token():
        return [
            f"{len(found)} sandbox Space(s) left by ended sessions could not be deleted without a Hugging Face "
            "token: set HF_TOKEN, then run `ml-intern sandboxes delete --orphans`"
        ]
    lines = []
    for record in found:
        try:
            await delete(settings, record.space_id)
        except ToolError as exc:
            lines.append(f"could not delete the orphaned sandbox Space {record.space_id}: {exc}")
            continue
        lines.append(f"deleted the orphaned sandbox Space {record.space_id} (left by session {record.session})")
    return lines
