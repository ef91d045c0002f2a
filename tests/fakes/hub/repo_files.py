"""A repo's files: tree listings, downloads (resolve, with Range), uploads and deletions (preupload + commit,
optionally as a PR), and the model card metadata check."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from typing import TYPE_CHECKING

from fakes.hub.accounts import user_of
from fakes.hub.repo_git import new_discussion
from fakes.hub.repos import REPO_RE, files_at, repo_for, sha
from fakes.hub.server import Reply, Request, error_reply, json_reply

if TYPE_CHECKING:
    from fakes.hub.hub import FakeHub


def tree(hub: FakeHub, req: Request) -> Reply:
    repo = repo_for(hub, req)
    if isinstance(repo, Reply):
        return repo
    rev = req.group("rev")
    files = files_at(repo, rev)
    if files is None:
        return error_reply(404, "Invalid rev id", "RevisionNotFound")
    prefix = req.group("path").strip("/")
    recursive = req.arg("recursive", "False").lower() == "true"
    entries, dirs = [], set()
    base = f"{prefix}/" if prefix else ""
    if prefix and prefix in files:
        return error_reply(404, "Not a directory", "EntryNotFound")
    for path in sorted(files):
        if not path.startswith(base):
            continue
        rest = path[len(base) :]
        if "/" in rest and not recursive:
            dirs.add(base + rest.split("/")[0])
            continue
        if recursive:
            parts = rest.split("/")[:-1]
            for i in range(len(parts)):
                dirs.add(base + "/".join(parts[: i + 1]))
        data = files[path]
        entry = {"type": "file", "oid": sha(data), "size": len(data), "path": path}
        if len(data) > 10_000_000 or path.endswith((".bin", ".safetensors")):
            entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        entries.append(entry)
    if prefix and not entries and not dirs:
        return error_reply(404, f"{prefix} does not exist", "EntryNotFound")
    entries += [{"type": "directory", "oid": sha(d), "size": 0, "path": d} for d in sorted(dirs)]
    return json_reply(entries)


def resolve(hub: FakeHub, req: Request) -> Reply:
    rtype = req.group("prefix").rstrip("/").rstrip("s") or "model"
    repo = hub.repos.get((rtype, req.group("repo")))
    user = user_of(hub, req)
    if isinstance(user, Reply):
        return user
    if repo is None or (repo.private and user is None):
        return error_reply(401 if user is None else 404, "Repository not found", "RepoNotFound")
    if repo.gated and user is None:
        return error_reply(401, "Access to this repo is restricted", "GatedRepo")
    files = files_at(repo, req.group("rev"))
    if files is None:
        return error_reply(404, "Invalid rev id", "RevisionNotFound")
    data = files.get(req.group("path"))
    if data is None:
        return error_reply(404, "Entry not found", "EntryNotFound")
    headers = {
        "X-Repo-Commit": repo.branches.get("main", ""),
        "ETag": f'"{sha(data)}"',
        "Content-Type": "application/octet-stream",
        "Accept-Ranges": "bytes",
    }
    match = re.fullmatch(r"bytes=(\d+)-(\d*)", req.headers.get("range", ""))
    if match and req.method == "GET":
        start = int(match.group(1))
        end = min(int(match.group(2)) if match.group(2) else len(data) - 1, len(data) - 1)
        if start >= len(data):
            return Reply(416, b"", {"Content-Range": f"bytes */{len(data)}"})
        headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        return Reply(206, data[start : end + 1], headers)
    return Reply(200, data, headers)


def preupload(hub: FakeHub, req: Request) -> Reply:
    repo = repo_for(hub, req, write=True)
    if isinstance(repo, Reply):
        return repo
    files = req.json()["files"]
    return json_reply(
        {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None} for f in files]}
    )


def commit(hub: FakeHub, req: Request) -> Reply:
    repo = repo_for(hub, req, write=True)
    if isinstance(repo, Reply):
        return repo
    rev = req.group("rev")
    lines = [json.loads(line) for line in req.body.splitlines() if line.strip()]
    header = lines[0]["value"]
    create_pr = req.arg("create_pr") == "1"
    if create_pr:
        num = new_discussion(hub, repo, header["summary"], header.get("description", ""), True)
        target = repo.pr_files.setdefault(num, dict(repo.files))
    else:
        target = files_at(repo, rev)
        if target is None:
            return error_reply(404, "Invalid rev id", "RevisionNotFound")
    for op in lines[1:]:
        value = op["value"]
        if op["key"] == "file":
            target[value["path"]] = base64.b64decode(value["content"])
        elif op["key"] == "deletedFile":
            if value["path"] not in target:
                return error_reply(404, "A file with this name doesn't exist", "EntryNotFound")
            del target[value["path"]]
        elif op["key"] == "deletedFolder":
            prefix = value["path"].rstrip("/") + "/"
            for path in [p for p in target if p.startswith(prefix)]:
                del target[path]
    oid = sha(f"{time.time()}{len(lines)}{hub.next_number()}")
    if not create_pr:
        repo.branches[rev if rev in repo.branches else "main"] = oid
    prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
    url = f"{hub.url}/{prefix}{repo.repo_id}"
    return json_reply(
        {
            "success": True,
            "commitOid": oid,
            "commitUrl": f"{url}/commit/{oid}",
            "pullRequestUrl": f"{url}/discussions/{num}" if create_pr else None,
        }
    )


def validate_yaml(hub: FakeHub, req: Request) -> Reply:  # model card metadata check before a README.md commit
    content = req.json()["content"]
    if re.search(r"(?m)^license:\s*bogus\s*$", content):
        return json_reply(
            {"errors": [{"message": '"license" must be one of [apache-2.0, mit, ...]'}], "warnings": []}, 400
        )
    return json_reply({"errors": [], "warnings": []})


ROUTES = [
    ("GET", rf"/api/{REPO_RE}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", tree),
    ("GET", r"/(?P<prefix>(?:datasets/|spaces/)?)(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)", resolve),
    ("POST", rf"/api/{REPO_RE}/preupload/(?P<rev>[^/]+)", preupload),
    ("POST", rf"/api/{REPO_RE}/commit/(?P<rev>[^/]+)", commit),
    ("POST", r"/api/validate-yaml", validate_yaml),
]
