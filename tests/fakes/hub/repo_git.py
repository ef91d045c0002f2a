"""A repo's git side: refs, branches, tags, and discussions / pull requests (open, comment, change status, merge)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fakes.hub.accounts import USER
from fakes.hub.repos import REPO_RE, Repo, repo_for, sha
from fakes.hub.server import Reply, Request, error_reply, json_reply, now_iso

if TYPE_CHECKING:
    from fakes.hub.hub import FakeHub


def new_discussion(hub: FakeHub, repo: Repo, title: str, description: str, is_pr: bool) -> int:
    num = len(repo.discussions) + 1
    repo.discussions.append(
        {
            "num": num,
            "title": title,
            "status": "open" if not is_pr else "draft",
            "isPullRequest": is_pr,
            "createdAt": now_iso(),
            "author": {"name": USER},
            "repo": {"name": repo.repo_id, "type": repo.repo_type},
            "events": [
                {
                    "id": f"e{hub.next_number()}",
                    "type": "comment",
                    "createdAt": now_iso(),
                    "author": {"name": USER},
                    "data": {
                        "edited": False,
                        "hidden": False,
                        "latest": {"raw": description, "html": description, "updatedAt": now_iso()},
                    },
                }
            ],
        }
    )
    if is_pr:
        repo.pr_files.setdefault(num, dict(repo.files))
        repo.discussions[-1]["status"] = "open"
    return num


def find_discussion(repo: Repo, num: int) -> dict[str, Any] | None:
    return next((d for d in repo.discussions if d["num"] == num), None)


def refs(hub: FakeHub, req: Request) -> Reply:
    repo = repo_for(hub, req)
    if isinstance(repo, Reply):
        return repo
    prs = [
        {"name": f"refs/pr/{d['num']}", "ref": f"refs/pr/{d['num']}", "targetCommit": sha(str(d["num"]))}
        for d in repo.discussions
        if d["isPullRequest"]
    ]
    return json_reply(
        {
            "branches": [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": c} for n, c in repo.branches.items()],
            "tags": [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": c} for n, c in repo.tags.items()],
            "converts": [],
            "pullRequests": prs,
        }
    )


def create_branch(hub: FakeHub, req: Request) -> Reply:
    repo = repo_for(hub, req, write=True)
    if isinstance(repo, Reply):
        return repo
    branch = req.group("branch")
    if branch in repo.branches:
        return error_reply(409, "Reference already exists")
    start = (req.json() or {}).get("startingPoint") or "main"
    repo.branches[branch] = repo.branches.get(start) or repo.tags.get(start) or start
    return json_reply({})


def delete_branch(hub: FakeHub, req: Request) -> Reply:
    repo = repo_for(hub, req, write=True)
    if isinstance(repo, Reply):
        return repo
    if repo.branches.pop(req.group("branch"), None) is None:
        return error_reply(404, "Invalid rev id", "RevisionNotFound")
    return json_reply({})


def create_tag(hub: FakeHub, req: Request) -> Reply:
    repo = repo_for(hub, req, write=True)
    if isinstance(repo, Reply):
        return repo
    tag = req.json()["tag"]
    if tag in repo.tags:
        return error_reply(409, "Tag already exists")
    rev = req.group("rev")
    repo.tags[tag] = repo.branches.get(rev, rev)
    return json_reply({})


def delete_tag(hub: FakeHub, req: Request) -> Reply:
    repo = repo_for(hub, req, write=True)
    if isinstance(repo, Reply):
        return repo
    if repo.tags.pop(req.group("tag"), None) is None:
        return error_reply(404, "Invalid rev id", "RevisionNotFound")
    return json_reply({})


def discussions(hub: FakeHub, req: Request) -> Reply:
    repo = repo_for(hub, req)
    if isinstance(repo, Reply):
        return repo
    items = list(reversed(repo.discussions))
    if req.arg("type") == "pull_request":
        items = [d for d in items if d["isPullRequest"]]
    if req.arg("status") in ("open", "closed"):
        wanted = req.arg("status")
        items = [d for d in items if (d["status"] == "open") == (wanted == "open")]
    page, size = int(req.arg("p", "0")), 50
    return json_reply(
        {
            "discussions": items[page * size : (page + 1) * size],
            "count": len(items),
            "start": page * size,
            "numClosedDiscussions": 0,
        }
    )


def open_discussion(hub: FakeHub, req: Request) -> Reply:
    repo = repo_for(hub, req, write=True)
    if isinstance(repo, Reply):
        return repo
    body = req.json()
    num = new_discussion(hub, repo, body["title"], body["description"], body["pullRequest"])
    return json_reply({"num": num, "pullRequest": body["pullRequest"]})


def discussion(hub: FakeHub, req: Request) -> Reply:
    repo = repo_for(hub, req)
    if isinstance(repo, Reply):
        return repo
    found = find_discussion(repo, int(req.group("num")))
    if found is None:
        return error_reply(404, "Discussion not found")
    details = {
        **found,
        "events": found["events"],
        "filesWithConflicts": [],
        "changes": {"base": "refs/heads/main"},
        "diff": "",
    }
    return json_reply(details)


def discussion_change(hub: FakeHub, req: Request) -> Reply:
    repo = repo_for(hub, req, write=True)
    if isinstance(repo, Reply):
        return repo
    found = find_discussion(repo, int(req.group("num")))
    if found is None:
        return error_reply(404, "Discussion not found")
    action, body = req.group("action"), req.json() or {}
    event = {"id": f"e{hub.next_number()}", "createdAt": now_iso(), "author": {"name": USER}}
    if action == "merge":
        if found["status"] != "open":
            return error_reply(400, "Pull request is not open")
        found["status"] = "merged"
        repo.files.update(repo.pr_files.get(found["num"], {}))
        return json_reply({})
    if action == "status":
        found["status"] = body["status"]
        event.update(type="status-change", data={"status": body["status"]})
        return json_reply({"newStatus": event})
    event.update(
        type="comment",
        data={
            "edited": False,
            "hidden": False,
            "latest": {"raw": body["comment"], "html": body["comment"], "updatedAt": now_iso()},
        },
    )
    found["events"].append(event)
    return json_reply({"newMessage": event})


ROUTES = [
    ("GET", rf"/api/{REPO_RE}/refs", refs),
    ("POST", rf"/api/{REPO_RE}/branch/(?P<branch>[^/]+)", create_branch),
    ("DELETE", rf"/api/{REPO_RE}/branch/(?P<branch>[^/]+)", delete_branch),
    ("POST", rf"/api/{REPO_RE}/tag/(?P<rev>[^/]+)", create_tag),
    ("DELETE", rf"/api/{REPO_RE}/tag/(?P<tag>[^/]+)", delete_tag),
    ("GET", rf"/api/{REPO_RE}/discussions", discussions),
    ("POST", rf"/api/{REPO_RE}/discussions", open_discussion),
    ("GET", rf"/api/{REPO_RE}/discussions/(?P<num>\d+)", discussion),
    ("POST", rf"/api/{REPO_RE}/discussions/(?P<num>\d+)/(?P<action>merge|status|comment)", discussion_change),
]
