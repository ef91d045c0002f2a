"""Local fakes of the Hugging Face services (and of GitHub, arXiv and web search) for offline tests.

Real clients (huggingface_hub's HfApi with endpoint=..., httpx) talk to these servers over real HTTP on
127.0.0.1, so tests exercise the request paths, headers and payloads the libraries really send (checked
against huggingface_hub 2.4's source).

    from fakes.hub import FakeHub, FakeWeb, TOKEN, settings_for

    with FakeHub() as hub, FakeWeb() as web:
        settings = settings_for(hub, web)          # AgentConfig pointing every tool at the fakes
        ...call a tool...
        hub.requests[-1].path, hub.requests[-1].headers["authorization"]
        hub.fail("GET", r"^/api/papers/search", 429, headers={"RateLimit": '"api";r=0;t=30'})

In pytest, `pytest_plugins = ["hf_fake_server"]` gives the `hf_env` fixture (tests/hf_fake_server.py).

- server.py: the generic part: a threaded http.server, a route table (`route(method, regex)`, first match
  wins), one-shot failure injection (`fail`), and a record of every request (`requests`, `seen`, `auth_headers()`).
- hub.py: `FakeHub`, the Hub's state as plain dicts a test seeds or inspects (`hub.repos`, `hub.jobs`...) and
  the route tables of its API areas, one module each: accounts.py (the valid token `TOKEN`, user "alice",
  member of org "acme"; whoami), repos.py (repo info, creation, settings, listings), repo_files.py (tree,
  resolve with Range, preupload/commit), repo_git.py (refs, branches, tags, discussions and PRs), papers.py,
  docs.py, jobs.py (Jobs and scheduled Jobs, SSE logs), spaces.py (Spaces: creation, hardware, runtime stages,
  secrets, Space tokens, deletion; `hub.run_space` starts what a Space runs) and datasets_viewer.py (under
  `/datasets-server`).
  A route is a function `(hub, request) -> Reply` listed in its module's ROUTES.
  Jobs a test has to name before they exist (a replay script that follows a job it submits): put ids in
  `hub.next_job_ids` (handed out in order by the next submissions) and seed `job_logs`, `more_logs` or
  `finish_after_polls` under those ids; a submission keeps logs seeded for its id.
- web.py: `FakeWeb`, a NON-Hugging-Face host: GitHub REST under `/github`, arXiv HTML under `/arxiv`,
  DuckDuckGo HTML under `/ddg/html/`, SearXNG JSON under `/searx/search`, and `/page` (any text).
  Tests assert the HF token never shows up there.
"""

from __future__ import annotations

from typing import Any

from fakes.hub.accounts import GITHUB_TOKEN, ORGS, TOKEN, USER
from fakes.hub.hub import FakeHub
from fakes.hub.repos import Repo
from fakes.hub.server import FakeServer, Reply, Request
from fakes.hub.web import FakeWeb

__all__ = [
    "GITHUB_TOKEN",
    "ORGS",
    "TOKEN",
    "USER",
    "FakeHub",
    "FakeServer",
    "FakeWeb",
    "Reply",
    "Repo",
    "Request",
    "settings_for",
]


def settings_for(hub: FakeHub, web: FakeWeb | None = None, hf_jobs_poll_s: float | None = None, **endpoints: Any):
    """An AgentConfig whose `endpoints` point every HF tool at the fakes (HF endpoint = the hub)."""
    from configs.schema import AgentConfig

    values: dict[str, Any] = {"hf_endpoint": hub.url, "datasets_server_url": f"{hub.url}/datasets-server"}
    if web is not None:
        values.update(
            github_api_url=f"{web.url}/github",
            arxiv_html_url=f"{web.url}/arxiv/html",
            duckduckgo_url=f"{web.url}/ddg/html/",
        )
    values.update(endpoints)
    jobs = {} if hf_jobs_poll_s is None else {"poll_s": hf_jobs_poll_s}
    return AgentConfig.model_validate({"endpoints": values, "hf_jobs": jobs})
