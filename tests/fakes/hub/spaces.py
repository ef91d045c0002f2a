"""Spaces: creation (through /api/repos/create, see repos.py) and duplication, hardware and its prices, the
runtime with its stage transitions, secrets, sleep time, Space tokens (`/jwt`), and deleting any repo.

A Space's state lives in `hub.spaces[repo_id]` (a `Space`). Its stage moves when its runtime is read, as a
client polling it would see: NO_APP_FILE until a Dockerfile is committed, then BUILDING for
`hub.space_build_polls` reads, then APP_STARTING, then RUNNING. On the way to RUNNING the fake calls
`hub.run_space(space_id, secrets, files)` if a test set it: it starts whatever the Space would run (the
files are the repo's) and returns the URL the Space's `host` reports. `hub.stop_space(space_id)` is called
when the Space is deleted. `hub.space_failures` (a list of (stage, message)) makes the next builds fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fakes.hub.accounts import ORGS, USER, need_user
from fakes.hub.jobs import HARDWARE
from fakes.hub.repos import Repo
from fakes.hub.server import Reply, Request, error_reply, json_reply, now_iso

if TYPE_CHECKING:
    from fakes.hub.hub import FakeHub

# The Spaces list prices: as Jobs', except that cpu-basic is free; and a flavor ml-intern has no built-in price for.
SPACE_HARDWARE = [
    *({**h, "unitCostMicroUSD": 0, "unitCostUSD": 0.0} if h["name"] == "cpu-basic" else h for h in HARDWARE),
    {
        "name": "rtx-pro-6000",
        "prettyName": "RTX PRO 6000",
        "cpu": "8 vCPU",
        "ram": "64 GB",
        "accelerator": {
            "type": "gpu",
            "model": "RTX PRO 6000",
            "quantity": "1",
            "vram": "96 GB",
            "manufacturer": "Nvidia",
        },
        "unitCostMicroUSD": 45833,
        "unitCostUSD": 0.045833,
        "unitLabel": "minute",
    },
]
SPACE_RE = r"(?P<space>[^/]+/[^/]+)"


@dataclass
class Space:
    space_id: str
    hardware: str = "cpu-basic"  # requested
    current: str | None = None  # running on
    stage: str = "NO_APP_FILE"
    sleep_time: int | None = None
    secrets: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    host: str | None = None
    polls_left: int = 0
    error: str | None = None

    def runtime(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "stage": self.stage,
            "hardware": {"current": self.current, "requested": self.hardware},
            "gcTimeout": self.sleep_time,
            "storage": None,
        }
        if self.error:
            data["errorMessage"] = self.error
        return data


def new_space(hub: FakeHub, space_id: str, body: dict[str, Any]) -> Space:
    """A Space created by /api/repos/create or a duplication, with the hardware, sleep time and secrets asked for."""
    space = Space(space_id, hardware=body.get("hardware") or "cpu-basic", sleep_time=body.get("sleepTimeSeconds"))
    space.secrets = {s["key"]: s["value"] for s in body.get("secrets") or []}
    space.variables = {v["key"]: v["value"] for v in body.get("variables") or []}
    hub.spaces[space_id] = space
    return space


def _space(hub: FakeHub, req: Request, write: bool = False) -> Space | Reply:
    user = need_user(hub, req)
    if isinstance(user, Reply):
        return user
    space = hub.spaces.get(req.group("space"))
    if space is None:
        return error_reply(404, "Repository not found", "RepoNotFound")
    if write and space.space_id.split("/")[0] not in [USER, *ORGS]:
        return error_reply(403, "You don't have the rights to this Space")
    return space


def _advance(hub: FakeHub, space: Space) -> None:
    repo = hub.repos.get(("space", space.space_id))
    if space.stage == "NO_APP_FILE" and repo is not None and "Dockerfile" in repo.files:
        space.stage, space.polls_left = "BUILDING", hub.space_build_polls
    elif space.stage == "BUILDING":
        space.polls_left -= 1
        if space.polls_left <= 0:
            if hub.space_failures:
                space.stage, space.error = hub.space_failures.pop(0)
            else:
                space.stage = "APP_STARTING"
    elif space.stage == "APP_STARTING":
        files = dict(repo.files) if repo is not None else {}
        space.host = hub.run_space(space.space_id, dict(space.secrets), files) if hub.run_space else None
        space.stage, space.current = "RUNNING", space.hardware


def runtime(hub: FakeHub, req: Request) -> Reply:
    space = _space(hub, req)
    if isinstance(space, Reply):
        return space
    _advance(hub, space)
    return json_reply(space.runtime())


def info(hub: FakeHub, req: Request) -> Reply:
    space = _space(hub, req)
    if isinstance(space, Reply):
        return space
    repo = hub.repos.get(("space", space.space_id))
    author, name = space.space_id.split("/")
    return json_reply(
        {
            "id": space.space_id,
            "author": author,
            "private": bool(repo and repo.private),
            "sdk": "docker",
            "host": space.host,
            "subdomain": f"{author}-{name}",
            "runtime": space.runtime(),
            "siblings": [{"rfilename": p} for p in sorted(repo.files)] if repo else [],
            "tags": ["docker"],
            "lastModified": now_iso(),
        }
    )


def hardware(hub: FakeHub, req: Request) -> Reply:
    return json_reply(SPACE_HARDWARE)


def request_hardware(hub: FakeHub, req: Request) -> Reply:
    space = _space(hub, req, write=True)
    if isinstance(space, Reply):
        return space
    body = req.json()
    if body.get("flavor") not in {h["name"] for h in SPACE_HARDWARE}:
        return error_reply(400, f"Invalid flavor {body.get('flavor')}")
    space.hardware = body["flavor"]
    if body.get("sleepTimeSeconds") is not None:
        space.sleep_time = body["sleepTimeSeconds"]
    if space.stage == "RUNNING":  # new hardware: the Space restarts on it
        space.stage, space.polls_left = "BUILDING", hub.space_build_polls
    return json_reply(space.runtime())


def sleep_time(hub: FakeHub, req: Request) -> Reply:
    space = _space(hub, req, write=True)
    if isinstance(space, Reply):
        return space
    space.sleep_time = req.json()["seconds"]
    return json_reply(space.runtime())


def add_secret(hub: FakeHub, req: Request) -> Reply:
    space = _space(hub, req, write=True)
    if isinstance(space, Reply):
        return space
    body = req.json()
    space.secrets[body["key"]] = body["value"]
    return json_reply({})


def delete_secret(hub: FakeHub, req: Request) -> Reply:
    space = _space(hub, req, write=True)
    if isinstance(space, Reply):
        return space
    space.secrets.pop(req.json()["key"], None)
    return json_reply({})


def list_secrets(hub: FakeHub, req: Request) -> Reply:  # values are write-only
    space = _space(hub, req, write=True)
    if isinstance(space, Reply):
        return space
    return json_reply({key: {"updatedAt": now_iso()} for key in space.secrets})


def duplicate(hub: FakeHub, req: Request) -> Reply:
    source = _space(hub, req)
    if isinstance(source, Reply):
        return source
    body = req.json()
    target = body["repository"]
    if target.split("/")[0] not in [USER, *ORGS]:
        return error_reply(403, f"You don't have the rights to create a repo under {target.split('/')[0]}")
    if ("space", target) in hub.repos:
        return error_reply(409, "You already created this repo")
    origin = hub.repos[("space", source.space_id)]
    private = bool(body.get("private")) or body.get("visibility") == "private"
    hub.repos[("space", target)] = Repo("space", target, dict(origin.files), private=private)
    new_space(hub, target, body)
    return json_reply({"url": f"{hub.url}/spaces/{target}"})


def restart(hub: FakeHub, req: Request) -> Reply:
    space = _space(hub, req, write=True)
    if isinstance(space, Reply):
        return space
    if hub.stop_space and space.host:
        hub.stop_space(space.space_id)
    space.stage, space.polls_left, space.host, space.error = "BUILDING", hub.space_build_polls, None, None
    return json_reply(space.runtime())


def pause(hub: FakeHub, req: Request) -> Reply:
    space = _space(hub, req, write=True)
    if isinstance(space, Reply):
        return space
    if hub.stop_space and space.host:
        hub.stop_space(space.space_id)
    space.stage, space.current, space.host = "PAUSED", None, None
    return json_reply(space.runtime())


def jwt(hub: FakeHub, req: Request) -> Reply:
    """A short-lived token for reaching a private Space through the edge (what the Hub's /jwt hands out)."""
    space = _space(hub, req)
    if isinstance(space, Reply):
        return space
    token = f"fake-space-jwt-{space.space_id.replace('/', '-')}-{hub.next_number()}"
    hub.space_jwts.append(token)
    return json_reply({"token": token, "accessToken": token, "exp": 3600})


def delete_repo(hub: FakeHub, req: Request) -> Reply:  # HfApi.delete_repo: any repo type
    user = need_user(hub, req)
    if isinstance(user, Reply):
        return user
    body = req.json()
    namespace = body.get("organization") or USER
    repo_id, rtype = f"{namespace}/{body['name']}", body.get("type") or "model"
    if namespace not in [USER, *ORGS]:
        return error_reply(403, f"You don't have the rights to delete {repo_id}")
    if hub.repos.pop((rtype, repo_id), None) is None:
        return error_reply(404, "Repository not found", "RepoNotFound")
    space = hub.spaces.get(repo_id) if rtype == "space" else None
    if space is not None and hub.stop_space:
        hub.stop_space(repo_id)
    hub.spaces.pop(repo_id, None)
    hub.deleted.append((rtype, repo_id))
    return json_reply({})


ROUTES = [
    ("GET", r"/api/spaces/hardware", hardware),
    ("GET", rf"/api/spaces/{SPACE_RE}", info),
    ("GET", rf"/api/spaces/{SPACE_RE}/runtime", runtime),
    ("POST", rf"/api/spaces/{SPACE_RE}/hardware", request_hardware),
    ("POST", rf"/api/spaces/{SPACE_RE}/sleeptime", sleep_time),
    ("POST", rf"/api/spaces/{SPACE_RE}/secrets", add_secret),
    ("DELETE", rf"/api/spaces/{SPACE_RE}/secrets", delete_secret),
    ("GET", rf"/api/spaces/{SPACE_RE}/secrets", list_secrets),
    ("POST", rf"/api/spaces/{SPACE_RE}/duplicate", duplicate),
    ("POST", rf"/api/spaces/{SPACE_RE}/restart", restart),
    ("POST", rf"/api/spaces/{SPACE_RE}/pause", pause),
    ("GET", rf"/api/spaces/{SPACE_RE}/jwt", jwt),
    ("DELETE", r"/api/repos/delete", delete_repo),
]
