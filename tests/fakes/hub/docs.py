"""Documentation: the docs search API and the pages (with redirects) under /docs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakes.hub.server import Reply, Request, error_reply, json_reply, text_reply

if TYPE_CHECKING:
    from fakes.hub.hub import FakeHub


def docs_search(hub: FakeHub, req: Request) -> Reply:
    q = (req.arg("q") or "").lower()
    hits = [d for d in hub.docs_results if any(word in (d["text"] + d["heading1"]).lower() for word in q.split())]
    if req.arg("product"):
        hits = [d for d in hits if d["product"] == req.arg("product")]
    return json_reply(hits[: int(req.arg("limit") or 50)])


def docs_page(hub: FakeHub, req: Request) -> Reply:
    path = "/docs/" + req.group("path")
    if path in hub.redirects:
        return Reply(302, b"", {"Location": hub.redirects[path]})
    found = hub.docs_pages.get(path)
    return text_reply(*found) if found else error_reply(404, "Page not found")


ROUTES = [
    ("GET", r"/api/docs/search", docs_search),
    ("GET", r"/docs/(?P<path>.*)", docs_page),
]
