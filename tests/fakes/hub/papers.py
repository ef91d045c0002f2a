"""Papers: search, a paper's page, daily papers, and a paper's markdown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakes.hub.server import Reply, Request, error_reply, json_reply, text_reply

if TYPE_CHECKING:
    from fakes.hub.hub import FakeHub


def paper_search(hub: FakeHub, req: Request) -> Reply:
    q = (req.arg("q") or "").lower()
    hits = [
        {"paper": p, "title": p["title"], "numComments": 0}
        for p in hub.papers.values()
        if q in (p["title"] + p.get("summary", "")).lower()
    ]
    return json_reply(hits[: int(req.arg("limit") or 50)])


def paper(hub: FakeHub, req: Request) -> Reply:
    found = hub.papers.get(req.group("id"))
    if found is None:
        return error_reply(404, "Paper not found")
    return json_reply(found)


def daily(hub: FakeHub, req: Request) -> Reply:
    items = hub.daily
    if req.arg("date"):
        items = [d for d in items if d.get("publishedAt", "").startswith(req.arg("date"))]
    return json_reply(items[: int(req.arg("limit") or 50)])


def paper_md(hub: FakeHub, req: Request) -> Reply:
    found = hub.paper_md.get(req.group("id"))
    return text_reply(found, "text/markdown") if found else error_reply(404, "Paper not found")


ROUTES = [
    ("GET", r"/api/papers/search", paper_search),
    ("GET", r"/api/papers/(?P<id>[^/]+)", paper),
    ("GET", r"/api/daily_papers", daily),
    ("GET", r"/papers/(?P<id>[^/]+)\.md", paper_md),
]
