"""FakeWeb: a NON-Hugging-Face host: GitHub REST under /github, arXiv HTML under /arxiv, DuckDuckGo HTML under
/ddg/html/, SearXNG JSON under /searx/search, and /page (any text). Tests check the HF token never reaches it."""

from __future__ import annotations

import base64
import time
from functools import partial
from typing import Any
from urllib.parse import parse_qs, quote

from fakes.hub.accounts import GITHUB_TOKEN
from fakes.hub.server import FakeServer, Reply, Request, json_reply, text_reply


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
        for method, pattern, handler in ROUTES:
            self.route(method, pattern)(partial(handler, self))


def gh_guard(web: FakeWeb, req: Request, needs_auth: bool = False) -> Reply | None:
    auth = req.headers.get("authorization")
    if auth is not None and auth != f"Bearer {web.github_token}":
        return json_reply({"message": "Bad credentials"}, 401)
    if web.rate_limited:
        reset = web.rate_limit_reset or int(time.time()) + 600
        return json_reply(
            {"message": "API rate limit exceeded for 127.0.0.1."},
            web.rate_limit_status,
            {"x-ratelimit-remaining": "0", "x-ratelimit-limit": "60", "x-ratelimit-reset": str(reset)},
        )
    if needs_auth and auth is None:
        return json_reply({"message": "Requires authentication"}, 401)
    return None


def code(web: FakeWeb, req: Request) -> Reply:
    if (denied := gh_guard(web, req, needs_auth=True)) is not None:
        return denied
    q = (req.arg("q") or "").lower()
    words = [w for w in q.split() if ":" not in w]
    hits = [c for c in web.gh_code if all(w in (c["path"] + c["_text"]).lower() for w in words)]
    per_page = int(req.arg("per_page") or 30)
    items = [
        {k: v for k, v in c.items() if k != "_text"}
        | {"text_matches": [{"fragment": c["_text"][:200], "property": "content"}]}
        for c in hits[:per_page]
    ]
    return json_reply({"total_count": len(hits), "incomplete_results": False, "items": items})


def repos_search(web: FakeWeb, req: Request) -> Reply:
    if (denied := gh_guard(web, req)) is not None:
        return denied
    q = (req.arg("q") or "").lower()
    words = [w for w in q.split() if ":" not in w]
    all_repos = [repo for repos in web.gh_repos.values() for repo in repos]
    hits = [x for x in all_repos if all(w in (x["full_name"] + (x["description"] or "")).lower() for w in words)]
    return json_reply(
        {"total_count": len(hits), "incomplete_results": False, "items": hits[: int(req.arg("per_page") or 30)]}
    )


def list_repos(web: FakeWeb, req: Request) -> Reply:
    if (denied := gh_guard(web, req)) is not None:
        return denied
    repos = web.gh_repos.get(req.group("owner"))
    if repos is None:
        return json_reply({"message": "Not Found"}, 404)
    return json_reply(repos[: int(req.arg("per_page") or 30)])


def contents(web: FakeWeb, req: Request) -> Reply:
    if (denied := gh_guard(web, req)) is not None:
        return denied
    found = web.gh_files.get((req.group("repo"), req.group("path")))
    if found is None:
        return json_reply({"message": "Not Found"}, 404)
    if isinstance(found, list):
        return json_reply(found)
    if "raw" in req.headers.get("accept", ""):
        return Reply(200, found, {"Content-Type": "application/vnd.gitweb.raw"})
    return json_reply(
        {"type": "file", "encoding": "base64", "size": len(found), "content": base64.b64encode(found).decode()}
    )


def arxiv(web: FakeWeb, req: Request) -> Reply:
    found = web.arxiv.get(req.group("id"))
    return text_reply(found, "text/html; charset=utf-8") if found else text_reply("Not found", status=404)


def searx(web: FakeWeb, req: Request) -> Reply:
    return json_reply({"query": req.arg("q"), "results": web.search_results})


def ddg(web: FakeWeb, req: Request) -> Reply:
    q = req.arg("q") or parse_qs(req.body.decode()).get("q", [""])[0]
    blocks = []
    for item in web.search_results:
        href = "//duckduckgo.com/l/?uddg=" + quote(item["url"], safe="") + "&amp;rut=abc"
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


def page(web: FakeWeb, req: Request) -> Reply:
    return text_reply(web.pages.get(req.path, "a page that is not on Hugging Face"))


ROUTES = [
    ("GET", r"/github/search/code", code),
    ("GET", r"/github/search/repositories", repos_search),
    ("GET", r"/github/(?:users|orgs)/(?P<owner>[^/]+)/repos", list_repos),
    ("GET", r"/github/repos/(?P<repo>[^/]+/[^/]+)/contents(?:/(?P<path>.*))?", contents),
    ("GET", r"/arxiv/html/(?P<id>.+)", arxiv),
    ("GET", r"/searx/search", searx),
    ("GET", r"/ddg/html/", ddg),
    ("POST", r"/ddg/html/", ddg),
    ("GET", r"/page(?P<rest>/.*)?", page),
]
