"""FakeHub: the Hub's state (plain dicts a test seeds or inspects) and the route tables of every API area."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from fakes.hub import accounts, datasets_viewer, docs, jobs, papers, repo_files, repo_git, repos, spaces
from fakes.hub.accounts import TOKEN, USER
from fakes.hub.repos import Repo
from fakes.hub.server import FakeServer, now_iso

# In this order: the first route whose pattern matches a path answers it (/api/jobs/hardware before
# /api/jobs/<namespace>, /api/papers/search before /api/papers/<id>, a Space's info before any repo's).
AREAS = [accounts, spaces, repos, repo_files, repo_git, papers, docs, jobs, datasets_viewer]


class FakeHub(FakeServer):
    """The Hub API + Jobs + docs + papers, and the datasets viewer under /datasets-server."""

    def __init__(self) -> None:
        super().__init__()
        self.token = TOKEN
        # repos
        self.repos: dict[tuple[str, str], Repo] = {}
        self.listings: dict[str, list[dict[str, Any]]] = {"models": [], "datasets": [], "spaces": []}
        # papers and docs
        self.papers: dict[str, dict[str, Any]] = {}
        self.daily: list[dict[str, Any]] = []
        self.paper_md: dict[str, str] = {}
        self.docs_results: list[dict[str, Any]] = []
        self.docs_pages: dict[str, tuple[str, str]] = {}  # path -> (body, content-type)
        self.redirects: dict[str, str] = {}  # path -> absolute Location
        # jobs
        self.jobs: dict[str, dict[str, Any]] = {}
        self.job_specs: dict[str, dict[str, Any]] = {}
        self.job_logs: dict[str, list[str]] = {}
        self.finish_after_polls: dict[str, int] = {}  # job id -> inspections before it COMPLETES
        self.more_logs: dict[str, list[str]] = {}  # job id -> lines appended one per inspection
        self.scheduled: dict[str, dict[str, Any]] = {}
        self.next_job_ids: list[str] = []  # ids for the next submitted jobs, in order (else job0001...)
        # spaces (spaces.py says how a Space moves from NO_APP_FILE to RUNNING)
        self.spaces: dict[str, spaces.Space] = {}
        self.space_build_polls = 2
        self.space_failures: list[tuple[str, str]] = []  # (stage, message) for the next builds
        self.run_space: Callable[[str, dict[str, str], dict[str, bytes]], str | None] | None = None
        self.stop_space: Callable[[str], None] | None = None
        self.space_jwts: list[str] = []
        self.deleted: list[tuple[str, str]] = []  # (repo type, repo id) of every deleted repo
        # datasets viewer
        self.viewer: dict[str, dict[str, Any]] = {}  # dataset -> {"configs": {cfg: {split: {...}}}, "gated": bool}
        self._counter = 0
        for area in AREAS:
            for method, pattern, handler in area.ROUTES:
                self.route(method, pattern)(partial(handler, self))

    def next_number(self) -> int:
        """1, 2, 3...: commit, event, job and schedule ids."""
        self._counter += 1
        return self._counter

    # -- seeding ----------------------------------------------------------------------------
    def add_repo(
        self, repo_id: str, files: dict[str, bytes | str] | None = None, repo_type: str = "model", **kw: Any
    ) -> Repo:
        repo = Repo(
            repo_type, repo_id, {k: v.encode() if isinstance(v, str) else v for k, v in (files or {}).items()}, **kw
        )
        self.repos[(repo_type, repo_id)] = repo
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

    def _open_discussion(self, repo: Repo, title: str, description: str, is_pr: bool) -> int:
        return repo_git.new_discussion(self, repo, title, description, is_pr)
