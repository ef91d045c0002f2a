"""Local fakes of the Hugging Face services (and of GitHub, arXiv and web search) for offline tests.

Real clients (huggingface_hub's HfApi with endpoint=..., httpx) talk to these servers over real HTTP
on 127.0.0.1, so tests exercise the request paths, headers and payloads the libraries really send
(checked against huggingface_hub 2.4's source).

    from hf_fake_server import FakeHub, FakeWeb, TOKEN, settings_for

    with FakeHub() as hub, FakeWeb() as web:
        settings = settings_for(hub, web)          # AgentConfig pointing every tool at the fakes

    or, in pytest, `pytest_plugins = ["hf_fake_server"]` and the `hf_env` fixture (servers started,
    HF_TOKEN set, no stored login, settings ready, and a teardown check that the HF token never
    reached the non-Hugging-Face server). Avoid importing this module in the test file itself, or
    pytest cannot rewrite its asserts: use hf_env.hub.token, hf_env.web.github_token, hf_env.configure().
        ...call a tool...
        hub.requests[-1].path, hub.requests[-1].headers["authorization"]
        hub.fail("GET", r"^/api/papers/search", 429, headers={"RateLimit": '"api";r=0;t=30'})

- `FakeServer`: the generic part: a threaded http.server, a route table (`route(method, regex)`),
  one-shot failure injection (`fail`), and a record of every request (`requests`, `auth_headers()`).
- `FakeHub`: the Hub API (whoami, repos, tree, resolve with Range, preupload/commit, refs, branches,
  tags, discussions/PRs, repo create/settings, model/dataset/space listings, papers, daily papers,
  docs search and pages, Jobs and scheduled Jobs incl. SSE logs) and the datasets viewer under
  `/datasets-server`. State is plain dicts you can seed or inspect (`hub.repos`, `hub.jobs`...).
  The valid token is `TOKEN` (user "alice", member of org "acme").
  Jobs a test has to name before they exist (a replay script that follows a job it submits): put
  ids in `hub.next_job_ids` (handed out in order by the next submissions) and seed `job_logs`,
  `more_logs` or `finish_after_polls` under those ids; a submission keeps logs seeded for its id.
- `FakeWeb`: a NON-Hugging-Face host: GitHub REST under `/github`, arXiv HTML under `/arxiv`,
  DuckDuckGo HTML under `/ddg/html/`, SearXNG JSON under `/searx/search`, and `/page` (any text).
  Tests assert the HF token never shows up here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

TOKEN = "hf_fake_token_for_tests_0123456789"
GITHUB_TOKEN = "ghp_fake_github_token_for_tests"
USER = "alice"
ORGS = ["acme"]


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


# ------------------------------------------------------------------------------------------
# The Hub
# ------------------------------------------------------------------------------------------
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
HARDWARE = [
    {
        "name": "cpu-basic",
        "prettyName": "CPU Basic",
        "cpu": "2 vCPU",
        "ram": "16 GB",
        "accelerator": None,
        "unitCostMicroUSD": 167,
        "unitCostUSD": 0.000167,
        "unitLabel": "minute",
    },
    {
        "name": "cpu-upgrade",
        "prettyName": "CPU Upgrade",
        "cpu": "8 vCPU",
        "ram": "32 GB",
        "accelerator": None,
        "unitCostMicroUSD": 500,
        "unitCostUSD": 0.0005,
        "unitLabel": "minute",
    },
    {
        "name": "t4-small",
        "prettyName": "Nvidia T4 - small",
        "cpu": "4 vCPU",
        "ram": "15 GB",
        "accelerator": {"type": "gpu", "model": "T4", "quantity": "1", "vram": "16 GB", "manufacturer": "Nvidia"},
        "unitCostMicroUSD": 6667,
        "unitCostUSD": 0.006667,
        "unitLabel": "minute",
    },
    {
        "name": "a10g-small",
        "prettyName": "Nvidia A10G - small",
        "cpu": "4 vCPU",
        "ram": "15 GB",
        "accelerator": {"type": "gpu", "model": "A10G", "quantity": "1", "vram": "24 GB", "manufacturer": "Nvidia"},
        "unitCostMicroUSD": 16667,
        "unitCostUSD": 0.016667,
        "unitLabel": "minute",
    },
    {
        "name": "a100-large",
        "prettyName": "Nvidia A100 - large",
        "cpu": "12 vCPU",
        "ram": "142 GB",
        "accelerator": {"type": "gpu", "model": "A100", "quantity": "1", "vram": "80 GB", "manufacturer": "Nvidia"},
        "unitCostMicroUSD": 41667,
        "unitCostUSD": 0.041667,
        "unitLabel": "minute",
    },
]


class FakeHub(FakeServer):
    """The Hub API + Jobs + docs + papers, and the datasets viewer under /datasets-server."""

    def __init__(self) -> None:
        super().__init__()
        self.token = TOKEN
        self.repos: dict[tuple[str, str], Repo] = {}
        self.listings: dict[str, list[dict[str, Any]]] = {"models": [], "datasets": [], "spaces": []}
        self.papers: dict[str, dict[str, Any]] = {}
        self.daily: list[dict[str, Any]] = []
        self.paper_md: dict[str, str] = {}
        self.docs_results: list[dict[str, Any]] = []
        self.docs_pages: dict[str, tuple[str, str]] = {}  # path -> (body, content-type)
        self.redirects: dict[str, str] = {}  # path -> absolute Location
        self.jobs: dict[str, dict[str, Any]] = {}
        self.job_specs: dict[str, dict[str, Any]] = {}
        self.job_logs: dict[str, list[str]] = {}
        self.finish_after_polls: dict[str, int] = {}  # job id -> inspections before it COMPLETES
        self.more_logs: dict[str, list[str]] = {}  # job id -> lines appended one per inspection
        self.scheduled: dict[str, dict[str, Any]] = {}
        self.next_job_ids: list[str] = []  # ids for the next submitted jobs, in order (else job0001...)
        self.viewer: dict[str, dict[str, Any]] = {}  # dataset -> {"configs": {cfg: {split: {...}}}, "gated": bool}
        self._counter = 0
        self._register()

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    # -- helpers ----------------------------------------------------------------------------
    def user_of(self, req: Request) -> str | Reply | None:
        auth = req.headers.get("authorization")
        if not auth:
            return None
        if auth != f"Bearer {self.token}":
            return error_reply(401, "Invalid credentials in Authorization header")
        return USER

    def need_user(self, req: Request) -> str | Reply:
        user = self.user_of(req)
        if user is None:
            return error_reply(401, "You must be authenticated to access this endpoint.")
        return user

    def add_repo(
        self, repo_id: str, files: dict[str, bytes | str] | None = None, repo_type: str = "model", **kw: Any
    ) -> Repo:
        repo = Repo(
            repo_type, repo_id, {k: v.encode() if isinstance(v, str) else v for k, v in (files or {}).items()}, **kw
        )
        self.repos[(repo_type, repo_id)] = repo
        return repo

    def repo_for(self, req: Request, write: bool = False) -> Repo | Reply:
        rtype = req.group("rtype").rstrip("s")
        repo = self.repos.get((rtype, req.group("repo")))
        user = self.user_of(req)
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

    def add_job(
        self,
        job_id: str,
        stage: str = "RUNNING",
        logs: list[str] | None = None,
        namespace: str = USER,
        flavor: str = "cpu-basic",
    ) -> dict[str, Any]:
        job = {
            "id": job_id,
            "createdAt": now_iso(),
            "dockerImage": "python:3.12",
            "command": ["python", "x.py"],
            "arguments": [],
            "environment": {},
            "flavor": flavor,
            "status": {"stage": stage, "message": None},
            "owner": {"id": "u1", "name": namespace, "type": "user"},
            "labels": {},
        }
        self.jobs[job_id] = job
        self.job_logs[job_id] = list(logs or [])
        return job

    # -- routes -----------------------------------------------------------------------------
    def _register(self) -> None:
        r = self.route

        @r("GET", r"/api/whoami-v2")
        def whoami(req: Request) -> Reply:
            user = self.need_user(req)
            if isinstance(user, Reply):
                return user
            return json_reply(
                {
                    "type": "user",
                    "name": USER,
                    "orgs": [{"name": o} for o in ORGS],
                    "auth": {"accessToken": {"role": "write"}},
                }
            )

        @r("GET", rf"/api/{REPO_RE}")
        def repo_info(req: Request) -> Reply:  # HfApi.repo_info / model_info / dataset_info (no revision)
            repo = self.repo_for(req)
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

        # ---- files
        @r("GET", rf"/api/{REPO_RE}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?")
        def tree(req: Request) -> Reply:
            repo = self.repo_for(req)
            if isinstance(repo, Reply):
                return repo
            rev = req.group("rev")
            files = self._files_at(repo, rev)
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

        @r("GET", r"/(?P<prefix>(?:datasets/|spaces/)?)(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)")
        def resolve(req: Request) -> Reply:
            rtype = req.group("prefix").rstrip("/").rstrip("s") or "model"
            repo = self.repos.get((rtype, req.group("repo")))
            user = self.user_of(req)
            if isinstance(user, Reply):
                return user
            if repo is None or (repo.private and user is None):
                return error_reply(401 if user is None else 404, "Repository not found", "RepoNotFound")
            if repo.gated and user is None:
                return error_reply(401, "Access to this repo is restricted", "GatedRepo")
            files = self._files_at(repo, req.group("rev"))
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

        @r("POST", rf"/api/{REPO_RE}/preupload/(?P<rev>[^/]+)")
        def preupload(req: Request) -> Reply:
            repo = self.repo_for(req, write=True)
            if isinstance(repo, Reply):
                return repo
            files = req.json()["files"]
            return json_reply(
                {
                    "files": [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None} for f in files
                    ]
                }
            )

        @r("POST", rf"/api/{REPO_RE}/commit/(?P<rev>[^/]+)")
        def commit(req: Request) -> Reply:
            repo = self.repo_for(req, write=True)
            if isinstance(repo, Reply):
                return repo
            rev = req.group("rev")
            lines = [json.loads(line) for line in req.body.splitlines() if line.strip()]
            header = lines[0]["value"]
            create_pr = req.arg("create_pr") == "1"
            if create_pr:
                num = self._open_discussion(repo, header["summary"], header.get("description", ""), True)
                target = repo.pr_files.setdefault(num, dict(repo.files))
            else:
                target = self._files_at(repo, rev)
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
            oid = sha(f"{time.time()}{len(lines)}{self._next()}")
            if not create_pr:
                repo.branches[rev if rev in repo.branches else "main"] = oid
            prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
            url = f"{self.url}/{prefix}{repo.repo_id}"
            return json_reply(
                {
                    "success": True,
                    "commitOid": oid,
                    "commitUrl": f"{url}/commit/{oid}",
                    "pullRequestUrl": f"{url}/discussions/{num}" if create_pr else None,
                }
            )

        @r("POST", r"/api/validate-yaml")
        def validate_yaml(req: Request) -> Reply:  # model card metadata check before a README.md commit
            content = req.json()["content"]
            if re.search(r"(?m)^license:\s*bogus\s*$", content):
                return json_reply(
                    {"errors": [{"message": '"license" must be one of [apache-2.0, mit, ...]'}], "warnings": []}, 400
                )
            return json_reply({"errors": [], "warnings": []})

        # ---- refs
        @r("GET", rf"/api/{REPO_RE}/refs")
        def refs(req: Request) -> Reply:
            repo = self.repo_for(req)
            if isinstance(repo, Reply):
                return repo
            prs = [
                {"name": f"refs/pr/{d['num']}", "ref": f"refs/pr/{d['num']}", "targetCommit": sha(str(d["num"]))}
                for d in repo.discussions
                if d["isPullRequest"]
            ]
            return json_reply(
                {
                    "branches": [
                        {"name": n, "ref": f"refs/heads/{n}", "targetCommit": c} for n, c in repo.branches.items()
                    ],
                    "tags": [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": c} for n, c in repo.tags.items()],
                    "converts": [],
                    "pullRequests": prs,
                }
            )

        @r("POST", rf"/api/{REPO_RE}/branch/(?P<branch>[^/]+)")
        def create_branch(req: Request) -> Reply:
            repo = self.repo_for(req, write=True)
            if isinstance(repo, Reply):
                return repo
            branch = req.group("branch")
            if branch in repo.branches:
                return error_reply(409, "Reference already exists")
            start = (req.json() or {}).get("startingPoint") or "main"
            repo.branches[branch] = repo.branches.get(start) or repo.tags.get(start) or start
            return json_reply({})

        @r("DELETE", rf"/api/{REPO_RE}/branch/(?P<branch>[^/]+)")
        def delete_branch(req: Request) -> Reply:
            repo = self.repo_for(req, write=True)
            if isinstance(repo, Reply):
                return repo
            if repo.branches.pop(req.group("branch"), None) is None:
                return error_reply(404, "Invalid rev id", "RevisionNotFound")
            return json_reply({})

        @r("POST", rf"/api/{REPO_RE}/tag/(?P<rev>[^/]+)")
        def create_tag(req: Request) -> Reply:
            repo = self.repo_for(req, write=True)
            if isinstance(repo, Reply):
                return repo
            tag = req.json()["tag"]
            if tag in repo.tags:
                return error_reply(409, "Tag already exists")
            rev = req.group("rev")
            repo.tags[tag] = repo.branches.get(rev, rev)
            return json_reply({})

        @r("DELETE", rf"/api/{REPO_RE}/tag/(?P<tag>[^/]+)")
        def delete_tag(req: Request) -> Reply:
            repo = self.repo_for(req, write=True)
            if isinstance(repo, Reply):
                return repo
            if repo.tags.pop(req.group("tag"), None) is None:
                return error_reply(404, "Invalid rev id", "RevisionNotFound")
            return json_reply({})

        # ---- discussions / PRs
        @r("GET", rf"/api/{REPO_RE}/discussions")
        def discussions(req: Request) -> Reply:
            repo = self.repo_for(req)
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

        @r("POST", rf"/api/{REPO_RE}/discussions")
        def open_discussion(req: Request) -> Reply:
            repo = self.repo_for(req, write=True)
            if isinstance(repo, Reply):
                return repo
            body = req.json()
            num = self._open_discussion(repo, body["title"], body["description"], body["pullRequest"])
            return json_reply({"num": num, "pullRequest": body["pullRequest"]})

        @r("GET", rf"/api/{REPO_RE}/discussions/(?P<num>\d+)")
        def discussion(req: Request) -> Reply:
            repo = self.repo_for(req)
            if isinstance(repo, Reply):
                return repo
            found = self._discussion(repo, int(req.group("num")))
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

        @r("POST", rf"/api/{REPO_RE}/discussions/(?P<num>\d+)/(?P<action>merge|status|comment)")
        def discussion_change(req: Request) -> Reply:
            repo = self.repo_for(req, write=True)
            if isinstance(repo, Reply):
                return repo
            found = self._discussion(repo, int(req.group("num")))
            if found is None:
                return error_reply(404, "Discussion not found")
            action, body = req.group("action"), req.json() or {}
            event = {"id": f"e{self._next()}", "createdAt": now_iso(), "author": {"name": USER}}
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

        # ---- repos
        @r("POST", r"/api/repos/create")
        def create_repo(req: Request) -> Reply:
            user = self.need_user(req)
            if isinstance(user, Reply):
                return user
            body = req.json()
            namespace = body.get("organization") or USER
            if namespace not in [USER, *ORGS]:
                return error_reply(403, f"You don't have the rights to create a repo under {namespace}")
            rtype = body.get("type") or "model"
            repo_id = f"{namespace}/{body['name']}"
            prefix = "" if rtype == "model" else f"{rtype}s/"
            url = f"{self.url}/{prefix}{repo_id}"
            if (rtype, repo_id) in self.repos:  # the Hub's 409 names the repo's url: create_repo(exist_ok) reads it
                return json_reply(
                    {"error": "You already created this repo", "url": url},
                    409,
                    {"X-Error-Message": "You already created this repo"},
                )
            self.add_repo(repo_id, repo_type=rtype, private=body.get("visibility") == "private")
            return json_reply({"url": url, "name": repo_id})

        @r("PUT", rf"/api/{REPO_RE}/settings")
        def repo_settings(req: Request) -> Reply:
            repo = self.repo_for(req, write=True)
            if isinstance(repo, Reply):
                return repo
            body = req.json()
            if "visibility" in body:
                repo.private = body["visibility"] == "private"
            if "gated" in body:
                repo.gated = body["gated"]
            return json_reply({})

        @r("GET", r"/api/(?P<kind>models|datasets|spaces)")
        def listing(req: Request) -> Reply:
            items = list(self.listings[req.group("kind")])
            for tag in req.query.get("filter", []):
                items = [i for i in items if tag in i.get("tags", [])]
            if req.arg("search"):
                items = [i for i in items if req.arg("search").lower() in i["id"].lower()]
            if req.arg("author"):
                items = [i for i in items if i["id"].split("/")[0] == req.arg("author")]
            limit = int(req.arg("limit") or 1000)
            return json_reply(items[:limit])

        # ---- papers
        @r("GET", r"/api/papers/search")
        def paper_search(req: Request) -> Reply:
            q = (req.arg("q") or "").lower()
            hits = [
                {"paper": p, "title": p["title"], "numComments": 0}
                for p in self.papers.values()
                if q in (p["title"] + p.get("summary", "")).lower()
            ]
            return json_reply(hits[: int(req.arg("limit") or 50)])

        @r("GET", r"/api/papers/(?P<id>[^/]+)")
        def paper(req: Request) -> Reply:
            found = self.papers.get(req.group("id"))
            if found is None:
                return error_reply(404, "Paper not found")
            return json_reply(found)

        @r("GET", r"/api/daily_papers")
        def daily(req: Request) -> Reply:
            items = self.daily
            if req.arg("date"):
                items = [d for d in items if d.get("publishedAt", "").startswith(req.arg("date"))]
            return json_reply(items[: int(req.arg("limit") or 50)])

        @r("GET", r"/papers/(?P<id>[^/]+)\.md")
        def paper_md(req: Request) -> Reply:
            found = self.paper_md.get(req.group("id"))
            return text_reply(found, "text/markdown") if found else error_reply(404, "Paper not found")

        # ---- docs
        @r("GET", r"/api/docs/search")
        def docs_search(req: Request) -> Reply:
            q = (req.arg("q") or "").lower()
            hits = [
                d for d in self.docs_results if any(word in (d["text"] + d["heading1"]).lower() for word in q.split())
            ]
            if req.arg("product"):
                hits = [d for d in hits if d["product"] == req.arg("product")]
            return json_reply(hits[: int(req.arg("limit") or 50)])

        @r("GET", r"/docs/(?P<path>.*)")
        def docs_page(req: Request) -> Reply:
            path = "/docs/" + req.group("path")
            if path in self.redirects:
                return Reply(302, b"", {"Location": self.redirects[path]})
            found = self.docs_pages.get(path)
            return text_reply(*found) if found else error_reply(404, "Page not found")

        # ---- jobs
        @r("GET", r"/api/jobs/hardware")
        def hardware(req: Request) -> Reply:
            return json_reply(HARDWARE)

        def namespace_check(req: Request) -> Reply | None:
            user = self.need_user(req)
            if isinstance(user, Reply):
                return user
            if req.group("ns") not in [USER, *ORGS]:
                return error_reply(403, f"You are not a member of {req.group('ns')}")
            return None

        @r("POST", r"/api/jobs/(?P<ns>[^/]+)")
        def run_job(req: Request) -> Reply:
            if (denied := namespace_check(req)) is not None:
                return denied
            spec = req.json()
            job_id = self.next_job_ids.pop(0) if self.next_job_ids else f"job{self._next():04d}"
            job = self.add_job(
                job_id,
                stage="SCHEDULING",
                namespace=req.group("ns"),
                flavor=spec["flavor"],
                logs=self.job_logs.get(job_id),
            )
            job.update(
                dockerImage=spec.get("dockerImage"),
                spaceId=spec.get("spaceId"),
                command=spec["command"],
                environment=spec.get("environment", {}),
                labels=spec.get("labels", {}),
                secrets={k: None for k in spec.get("secrets", {})},
            )
            self.job_specs[job_id] = spec
            return json_reply(job)

        @r("GET", r"/api/jobs/(?P<ns>[^/]+)")
        def list_jobs(req: Request) -> Reply:
            if (denied := namespace_check(req)) is not None:
                return denied
            return json_reply([j for j in self.jobs.values() if j["owner"]["name"] == req.group("ns")])

        @r("GET", r"/api/jobs/(?P<ns>[^/]+)/(?P<job>[^/]+)")
        def inspect_job(req: Request) -> Reply:
            if (denied := namespace_check(req)) is not None:
                return denied
            job = self.jobs.get(req.group("job"))
            if job is None:
                return error_reply(404, "Job not found")
            if self.more_logs.get(job["id"]):
                self.job_logs[job["id"]].append(self.more_logs[job["id"]].pop(0))
            left = self.finish_after_polls.get(job["id"])
            if left is not None:
                if left <= 1:
                    job["status"]["stage"] = "COMPLETED"
                    self.finish_after_polls.pop(job["id"])
                else:
                    self.finish_after_polls[job["id"]] = left - 1
            return json_reply(job)

        @r("GET", r"/api/jobs/(?P<ns>[^/]+)/(?P<job>[^/]+)/logs")
        def job_logs(req: Request) -> Reply:
            if (denied := namespace_check(req)) is not None:
                return denied
            if req.group("job") not in self.jobs:
                return error_reply(404, "Job not found")
            lines = self.job_logs.get(req.group("job"), [])
            if req.arg("tail"):
                lines = lines[-int(req.arg("tail")) :]
            stamp = "2025-01-01T00:00:00.000Z"
            events = [{"data": "===== Job started at 2025-01-01 =====", "timestamp": stamp}]
            events += [{"data": line, "timestamp": stamp} for line in lines]
            body = "".join(f"data: {json.dumps(e)}\n\n" for e in events)
            return Reply(200, body.encode(), {"Content-Type": "text/event-stream"})

        @r("POST", r"/api/jobs/(?P<ns>[^/]+)/(?P<job>[^/]+)/cancel")
        def cancel_job(req: Request) -> Reply:
            if (denied := namespace_check(req)) is not None:
                return denied
            job = self.jobs.get(req.group("job"))
            if job is None:
                return error_reply(404, "Job not found")
            job["status"]["stage"] = "CANCELED"
            return json_reply({})

        @r("POST", r"/api/scheduled-jobs/(?P<ns>[^/]+)")
        def create_scheduled(req: Request) -> Reply:
            if (denied := namespace_check(req)) is not None:
                return denied
            body = req.json()
            sid = f"sched{self._next():04d}"
            self.scheduled[sid] = {
                "id": sid,
                "createdAt": now_iso(),
                "jobSpec": body["jobSpec"],
                "schedule": body["schedule"],
                "suspend": bool(body.get("suspend", False)),
                "concurrency": False,
                "status": {"lastJob": None, "nextJobRunAt": None},
                "owner": {"id": "u1", "name": req.group("ns"), "type": "user"},
            }
            return json_reply(self.scheduled[sid])

        @r("GET", r"/api/scheduled-jobs/(?P<ns>[^/]+)")
        def list_scheduled(req: Request) -> Reply:
            if (denied := namespace_check(req)) is not None:
                return denied
            return json_reply([s for s in self.scheduled.values() if s["owner"]["name"] == req.group("ns")])

        @r("GET", r"/api/scheduled-jobs/(?P<ns>[^/]+)/(?P<sid>[^/]+)")
        def inspect_scheduled(req: Request) -> Reply:
            if (denied := namespace_check(req)) is not None:
                return denied
            found = self.scheduled.get(req.group("sid"))
            return json_reply(found) if found else error_reply(404, "Scheduled job not found")

        @r("DELETE", r"/api/scheduled-jobs/(?P<ns>[^/]+)/(?P<sid>[^/]+)")
        def delete_scheduled(req: Request) -> Reply:
            if (denied := namespace_check(req)) is not None:
                return denied
            if self.scheduled.pop(req.group("sid"), None) is None:
                return error_reply(404, "Scheduled job not found")
            return json_reply({})

        @r("POST", r"/api/scheduled-jobs/(?P<ns>[^/]+)/(?P<sid>[^/]+)/(?P<action>suspend|resume)")
        def toggle_scheduled(req: Request) -> Reply:
            if (denied := namespace_check(req)) is not None:
                return denied
            found = self.scheduled.get(req.group("sid"))
            if found is None:
                return error_reply(404, "Scheduled job not found")
            found["suspend"] = req.group("action") == "suspend"
            return json_reply({})

        # ---- datasets viewer (datasets-server), mounted under /datasets-server
        def viewer_dataset(req: Request) -> dict[str, Any] | Reply:
            name = req.arg("dataset") or ""
            found = self.viewer.get(name)
            user = self.user_of(req)
            if isinstance(user, Reply):
                return user
            if found is None or (found.get("gated") and user is None):
                return error_reply(
                    404,
                    "The dataset does not exist, or is not accessible without authentication "
                    "(private or gated). Please check the spelling of the dataset name or retry "
                    "with authentication.",
                    "DatasetNotFoundError",
                )
            return found

        def viewer_split(req: Request) -> tuple[dict[str, Any], dict[str, Any]] | Reply:
            found = viewer_dataset(req)
            if isinstance(found, Reply):
                return found
            split = found["configs"].get(req.arg("config") or "", {}).get(req.arg("split") or "")
            if split is None:
                return error_reply(404, "Not found.", "ResponseNotFound")
            return found, split

        @r("GET", r"/datasets-server/is-valid")
        def is_valid(req: Request) -> Reply:
            found = viewer_dataset(req)
            if isinstance(found, Reply):
                return found
            return json_reply({"viewer": True, "preview": True, "search": True, "filter": True, "statistics": True})

        @r("GET", r"/datasets-server/splits")
        def splits(req: Request) -> Reply:
            found = viewer_dataset(req)
            if isinstance(found, Reply):
                return found
            name = req.arg("dataset")
            return json_reply(
                {
                    "splits": [
                        {"dataset": name, "config": c, "split": s} for c, ss in found["configs"].items() for s in ss
                    ],
                    "pending": [],
                    "failed": [],
                }
            )

        @r("GET", r"/datasets-server/info")
        def info(req: Request) -> Reply:
            found = viewer_dataset(req)
            if isinstance(found, Reply):
                return found
            config = req.arg("config") or next(iter(found["configs"]))
            splits_ = found["configs"].get(config)
            if splits_ is None:
                return error_reply(404, "Not found.", "ResponseNotFound")
            first = next(iter(splits_.values()))
            features = {f["name"]: f["type"] for f in first["features"]}
            return json_reply(
                {
                    "dataset_info": {
                        "description": found.get("description", ""),
                        "features": features,
                        "config_name": config,
                        "splits": {
                            s: {"name": s, "num_examples": v["num_rows"], "num_bytes": v["num_rows"] * 100}
                            for s, v in splits_.items()
                        },
                    },
                    "partial": False,
                }
            )

        @r("GET", r"/datasets-server/first-rows")
        def first_rows(req: Request) -> Reply:
            found = viewer_split(req)
            if isinstance(found, Reply):
                return found
            _, split = found
            return json_reply(
                {
                    "dataset": req.arg("dataset"),
                    "config": req.arg("config"),
                    "split": req.arg("split"),
                    "features": [{"feature_idx": i, **f} for i, f in enumerate(split["features"])],
                    "rows": [
                        {"row_idx": i, "row": row, "truncated_cells": []} for i, row in enumerate(split["rows"][:100])
                    ],
                    "truncated": False,
                }
            )

        @r("GET", r"/datasets-server/statistics")
        def statistics(req: Request) -> Reply:
            found = viewer_split(req)
            if isinstance(found, Reply):
                return found
            _, split = found
            return json_reply(
                {"num_examples": split["num_rows"], "statistics": split.get("statistics", []), "partial": False}
            )

        @r("GET", r"/datasets-server/size")
        def size(req: Request) -> Reply:
            found = viewer_dataset(req)
            if isinstance(found, Reply):
                return found
            name = req.arg("dataset")
            splits_ = [
                {
                    "dataset": name,
                    "config": c,
                    "split": s,
                    "num_rows": v["num_rows"],
                    "num_columns": len(v["features"]),
                    "num_bytes_parquet_files": v["num_rows"] * 50,
                    "num_bytes_memory": v["num_rows"] * 100,
                }
                for c, ss in found["configs"].items()
                for s, v in ss.items()
            ]
            total = sum(s["num_rows"] for s in splits_)
            return json_reply(
                {
                    "size": {
                        "dataset": {
                            "dataset": name,
                            "num_rows": total,
                            "num_bytes_parquet_files": total * 50,
                            "num_bytes_memory": total * 100,
                        },
                        "configs": [],
                        "splits": splits_,
                    },
                    "pending": [],
                    "failed": [],
                    "partial": False,
                }
            )

    def _files_at(self, repo: Repo, rev: str) -> dict[str, bytes] | None:
        rev = unquote(rev)
        if rev.startswith("refs/pr/"):
            return repo.pr_files.get(int(rev.rsplit("/", 1)[1]))
        if rev in repo.branches or rev in repo.tags or rev == "main":
            return repo.files  # one tree per repo is enough for these tests
        return None

    def _open_discussion(self, repo: Repo, title: str, description: str, is_pr: bool) -> int:
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
                        "id": f"e{self._next()}",
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

    def _discussion(self, repo: Repo, num: int) -> dict[str, Any] | None:
        return next((d for d in repo.discussions if d["num"] == num), None)


# ------------------------------------------------------------------------------------------
# A non-Hugging-Face host: GitHub, arXiv, web search
# ------------------------------------------------------------------------------------------
class FakeWeb(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.github_token = GITHUB_TOKEN
        self.rate_limited = False
        self.rate_limit_status = 403  # GitHub answers 403 (primary limit) or 429
        self.rate_limit_reset: int | None = None  # epoch seconds in x-ratelimit-reset (default: now + 10 min)
        self.gh_repos: dict[str, list[dict[str, Any]]] = {}  # owner -> repos
        self.gh_files: dict[tuple[str, str], bytes | list[dict[str, Any]]] = {}  # (repo, path) -> bytes | listing
        self.gh_code: list[dict[str, Any]] = []
        self.arxiv: dict[str, str] = {}  # id -> html
        self.search_results: list[dict[str, str]] = []  # {"title", "url", "content"}
        self.pages: dict[str, str] = {}
        self._register()

    def _register(self) -> None:
        r = self.route

        def gh_guard(req: Request, needs_auth: bool = False) -> Reply | None:
            auth = req.headers.get("authorization")
            if auth is not None and auth != f"Bearer {self.github_token}":
                return json_reply({"message": "Bad credentials"}, 401)
            if self.rate_limited:
                reset = self.rate_limit_reset or int(time.time()) + 600
                return json_reply(
                    {"message": "API rate limit exceeded for 127.0.0.1."},
                    self.rate_limit_status,
                    {"x-ratelimit-remaining": "0", "x-ratelimit-limit": "60", "x-ratelimit-reset": str(reset)},
                )
            if needs_auth and auth is None:
                return json_reply({"message": "Requires authentication"}, 401)
            return None

        @r("GET", r"/github/search/code")
        def code(req: Request) -> Reply:
            if (denied := gh_guard(req, needs_auth=True)) is not None:
                return denied
            q = (req.arg("q") or "").lower()
            words = [w for w in q.split() if ":" not in w]
            hits = [c for c in self.gh_code if all(w in (c["path"] + c["_text"]).lower() for w in words)]
            per_page = int(req.arg("per_page") or 30)
            items = [
                {k: v for k, v in c.items() if k != "_text"}
                | {"text_matches": [{"fragment": c["_text"][:200], "property": "content"}]}
                for c in hits[:per_page]
            ]
            return json_reply({"total_count": len(hits), "incomplete_results": False, "items": items})

        @r("GET", r"/github/search/repositories")
        def repos_search(req: Request) -> Reply:
            if (denied := gh_guard(req)) is not None:
                return denied
            q = (req.arg("q") or "").lower()
            words = [w for w in q.split() if ":" not in w]
            all_repos = [repo for repos in self.gh_repos.values() for repo in repos]
            hits = [
                x for x in all_repos if all(w in (x["full_name"] + (x["description"] or "")).lower() for w in words)
            ]
            return json_reply(
                {"total_count": len(hits), "incomplete_results": False, "items": hits[: int(req.arg("per_page") or 30)]}
            )

        @r("GET", r"/github/(?:users|orgs)/(?P<owner>[^/]+)/repos")
        def list_repos(req: Request) -> Reply:
            if (denied := gh_guard(req)) is not None:
                return denied
            repos = self.gh_repos.get(req.group("owner"))
            if repos is None:
                return json_reply({"message": "Not Found"}, 404)
            return json_reply(repos[: int(req.arg("per_page") or 30)])

        @r("GET", r"/github/repos/(?P<repo>[^/]+/[^/]+)/contents(?:/(?P<path>.*))?")
        def contents(req: Request) -> Reply:
            if (denied := gh_guard(req)) is not None:
                return denied
            found = self.gh_files.get((req.group("repo"), req.group("path")))
            if found is None:
                return json_reply({"message": "Not Found"}, 404)
            if isinstance(found, list):
                return json_reply(found)
            if "raw" in req.headers.get("accept", ""):
                return Reply(200, found, {"Content-Type": "application/vnd.github.raw"})
            return json_reply(
                {"type": "file", "encoding": "base64", "size": len(found), "content": base64.b64encode(found).decode()}
            )

        @r("GET", r"/arxiv/html/(?P<id>.+)")
        def arxiv(req: Request) -> Reply:
            found = self.arxiv.get(req.group("id"))
            return text_reply(found, "text/html; charset=utf-8") if found else text_reply("Not found", status=404)

        @r("GET", r"/searx/search")
        def searx(req: Request) -> Reply:
            return json_reply({"query": req.arg("q"), "results": self.search_results})

        def ddg(req: Request) -> Reply:
            q = req.arg("q") or parse_qs(req.body.decode()).get("q", [""])[0]
            blocks = []
            for item in self.search_results:
                href = "//duckduckgo.com/l/?uddg=" + _quote(item["url"]) + "&amp;rut=abc"
                blocks.append(
                    '<div class="result results_links results_links_deep web-result">'
                    f'<h2 class="result__title"><a rel="nofollow" class="result__a" href="{href}">'
                    f"{item['title']}</a></h2>"
                    f'<a class="result__snippet" href="{href}">{item["content"]}</a></div>'
                )
            ad = (
                '<div class="result result--ad"><a class="result__a" href="https://ads.example/x">Ad</a>'
                '<a class="result__snippet">buy now</a></div>'
            )
            return text_reply(f"<html><body><p>{q}</p>{ad}{''.join(blocks)}</body></html>", "text/html")

        self.route("GET", r"/ddg/html/")(ddg)
        self.route("POST", r"/ddg/html/")(ddg)

        @r("GET", r"/page(?P<rest>/.*)?")
        def page(req: Request) -> Reply:
            return text_reply(self.pages.get(req.path, "a page that is not on Hugging Face"))


def _quote(url: str) -> str:
    from urllib.parse import quote

    return quote(url, safe="")


def settings_for(hub: FakeHub, web: FakeWeb | None = None, **extra: Any):
    """An AgentConfig whose `extra` points every HF tool at the fakes (HF endpoint = the hub)."""
    from configs.schema import AgentConfig

    values: dict[str, Any] = {"hf_endpoint": hub.url, "datasets_server_url": f"{hub.url}/datasets-server"}
    if web is not None:
        values.update(
            github_api_url=f"{web.url}/github",
            arxiv_html_url=f"{web.url}/arxiv/html",
            duckduckgo_url=f"{web.url}/ddg/html/",
        )
    values.update(extra)
    return AgentConfig(extra=values)


# ------------------------------------------------------------------------------------------
# pytest fixture: load this module as a plugin in a test module: `pytest_plugins = ["hf_fake_server"]`
# ------------------------------------------------------------------------------------------
@dataclass
class HfEnv:
    hub: FakeHub
    web: FakeWeb
    settings: Any
    workspace: Any
    logs: list[str] = field(default_factory=list)

    def configure(self, **extra: Any) -> None:
        """Point the settings at the fakes again, with extra `settings.extra` values."""
        self.settings = settings_for(self.hub, self.web, **extra)

    def ctx(self, call_id: str = "c1"):
        from tools.base import ToolContext

        def emit(event: Any) -> None:
            line = getattr(event, "line", None)
            if line is not None:
                self.logs.append(line)

        return ToolContext(
            workspace=self.workspace,
            session_dir=self.workspace / "s",
            call_id=call_id,
            settings=self.settings,
            emit=emit,
        )


try:
    import pytest
except ImportError:  # the module is also usable without pytest
    pytest = None

if pytest is not None:

    @pytest.fixture
    def hf_env(tmp_path, monkeypatch):
        """Started FakeHub + FakeWeb, HF_TOKEN=TOKEN, no stored login, no GitHub token, settings pointing at both.

        On teardown it asserts the HF token never reached the non-Hugging-Face server, in any header or body.
        """
        import huggingface_hub.constants as hf_constants

        for var in (
            "HF_ENDPOINT",
            "GITHUB_TOKEN",
            "GITHUB_API_URL",
            "HF_DATASETS_SERVER",
            "SEARXNG_URL",
            "HUGGING_FACE_HUB_TOKEN",
            "HF_HUB_OFFLINE",
            "HF_OIDC_RESOURCE",
        ):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "no-stored-token"))
        workspace = tmp_path / "ws"
        workspace.mkdir(exist_ok=True)  # the same folder as conftest's `workspace` (and `cli`) fixture
        with FakeHub() as hub, FakeWeb() as web:
            yield HfEnv(hub, web, settings_for(hub, web), workspace)
            leaked = [r for r in web.requests if TOKEN in " ".join(r.headers.values()) or TOKEN.encode() in r.body]
            assert not leaked, f"HF token reached a non-HF host: {[(r.method, r.path) for r in leaked]}"
