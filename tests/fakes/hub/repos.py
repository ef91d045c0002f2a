"""Repositories: the Repo record every repo route reads, access checks, and the routes about a repo as a whole
(info, creation, settings, the model/dataset/Space listings)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from fakes.hub.accounts import ORGS, USER, need_user, user_of
from fakes.hub.server import Reply, Request, error_reply, json_reply

if TYPE_CHECKING:
    from fakes.hub.hub import FakeHub


def sha(data: bytes | str) -> str:
    return hashlib.sha1(data if isinstance(data, bytes) else data.encode()).hexdigest()


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    files: dict[str, bytes] = field(default_factory=dict)
    private: bool = False
    gated: Any = False
    branches: dict[str, str] = field(default_factory=lambda: {"main": sha("initial")})
    tags: dict[str, str] = field(default_factory=dict)
    discussions: list[dict[str, Any]] = field(default_factory=list)
    pr_files: dict[int, dict[str, bytes]] = field(default_factory=dict)


REPO_RE = r"(?P<rtype>models|datasets|spaces)/(?P<repo>[^/]+/[^/]+)"


def repo_for(hub: FakeHub, req: Request, write: bool = False) -> Repo | Reply:
    """The repo a route's REPO_RE names, or the Hub's error for a missing, private or read-only one."""
    rtype = req.group("rtype").rstrip("s")
    repo = hub.repos.get((rtype, req.group("repo")))
    user = user_of(hub, req)
    if isinstance(user, Reply):
        return user
    if repo is None or (repo.private and user is None):
        return error_reply(401 if user is None else 404, "Repository not found", "RepoNotFound")
    if write:
        if user is None:
            return error_reply(401, "You must be authenticated to write.")
        if repo.repo_id.split("/")[0] not in [USER, *ORGS]:
            return error_reply(403, "You don't have the rights to write to this repo")
    return repo


def files_at(repo: Repo, rev: str) -> dict[str, bytes] | None:
    rev = unquote(rev)
    if rev.startswith("refs/pr/"):
        return repo.pr_files.get(int(rev.rsplit("/", 1)[1]))
    if rev in repo.branches or rev in repo.tags or rev == "main":
        return repo.files  # one tree per repo is enough for these tests
    return None


def repo_info(hub: FakeHub, req: Request) -> Reply:  # HfApi.repo_info / model_info / dataset_info (no revision)
    repo = repo_for(hub, req)
    if isinstance(repo, Reply):
        return repo
    return json_reply(
        {
            "id": repo.repo_id,
            "private": repo.private,
            "gated": repo.gated,
            "sha": repo.branches.get("main"),
            "siblings": [{"rfilename": path} for path in sorted(repo.files)],
        }
    )


def create_repo(hub: FakeHub, req: Request) -> Reply:
    user = need_user(hub, req)
    if isinstance(user, Reply):
        return user
    body = req.json()
    namespace = body.get("organization") or USER
    if namespace not in [USER, *ORGS]:
        return error_reply(403, f"You don't have the rights to create a repo under {namespace}")
    rtype = body.get("type") or "model"
    repo_id = f"{namespace}/{body['name']}"
    prefix = "" if rtype == "model" else f"{rtype}s/"
    url = f"{hub.url}/{prefix}{repo_id}"
    if (rtype, repo_id) in hub.repos:  # the Hub's 409 names the repo's url: create_repo(exist_ok) reads it
        return json_reply(
            {"error": "You already created this repo", "url": url},
            409,
            {"X-Error-Message": "You already created this repo"},
        )
    hub.add_repo(repo_id, repo_type=rtype, private=body.get("visibility") == "private")
    if rtype == "space":  # its runtime, hardware and secrets: spaces.py
        from fakes.hub.spaces import new_space

        new_space(hub, repo_id, body)
    return json_reply({"url": url, "name": repo_id})


def repo_settings(hub: FakeHub, req: Request) -> Reply:
    repo = repo_for(hub, req, write=True)
    if isinstance(repo, Reply):
        return repo
    body = req.json()
    if "visibility" in body:
        repo.private = body["visibility"] == "private"
    if "gated" in body:
        repo.gated = body["gated"]
    return json_reply({})


def listing(hub: FakeHub, req: Request) -> Reply:
    items = list(hub.listings[req.group("kind")])
    for tag in req.query.get("filter", []):
        items = [i for i in items if tag in i.get("tags", [])]
    if req.arg("search"):
        items = [i for i in items if req.arg("search").lower() in i["id"].lower()]
    if req.arg("author"):
        items = [i for i in items if i["id"].split("/")[0] == req.arg("author")]
    limit = int(req.arg("limit") or 1000)
    return json_reply(items[:limit])


ROUTES = [
    ("GET", rf"/api/{REPO_RE}", repo_info),
    ("POST", r"/api/repos/create", create_repo),
    ("PUT", rf"/api/{REPO_RE}/settings", repo_settings),
    ("GET", r"/api/(?P<kind>models|datasets|spaces)", listing),
]
