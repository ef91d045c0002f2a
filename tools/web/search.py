"""web_search: titles, URLs and snippets from a web search, with allowed/blocked domains.

Backends, both plain HTTP without an API key:
- SearXNG (JSON API) when a URL is configured: endpoints.searxng_url in the config or env SEARXNG_URL,
  e.g. a self-hosted instance (its settings must enable the json format).
- DuckDuckGo's HTML endpoint otherwise: endpoints.duckduckgo_url, env DUCKDUCKGO_HTML_URL,
  default https://html.duckduckgo.com/html/ (parsed with the stdlib html.parser; ads skipped).
Domain filters are added to the query (site: / -site:) and enforced on the results. No token is sent.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, Field

from configs.schema import AgentConfig
from tools.base import Risk, Tool, ToolContext, ToolError
from tools.endpoints import configured, endpoints
from tools.hub.errors import status_line
from tools.output import one_line
from tools.web.fetch import fetch

DEFAULT_DDG = "https://html.duckduckgo.com/html/"


class WebSearchArgs(BaseModel):
    query: str = Field(min_length=2, description="Search query.")
    allowed_domains: list[str] = Field(
        default_factory=list, description="Only results from these domains (and subdomains)."
    )
    blocked_domains: list[str] = Field(default_factory=list, description="Never results from these domains.")
    max_results: int = Field(8, ge=1, le=20)


def _domain(value: str) -> str:
    value = value.strip().lower()
    host = urlsplit(value if "://" in value else f"//{value}").hostname or value
    return host.removeprefix("www.")


def _matches(url: str, domains: list[str]) -> bool:
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    return any(host == d or host.endswith("." + d) for d in domains)


class _DuckDuckGoParser(HTMLParser):
    """Results of html.duckduckgo.com: <a class="result__a"> (title, link) and *result__snippet*, ads skipped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.results: list[dict[str, str]] = []
        self._divs: list[bool] = []  # per open div: is it an ad?
        self._field: str | None = None
        self._field_tag = ""
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "div":
            self._divs.append("result--ad" in classes)
        if self._field is not None:
            self._depth += tag == self._field_tag
            return
        if any(self._divs):
            return
        if tag == "a" and "result__a" in classes:
            self.results.append({"title": "", "url": _ddg_target(dict(attrs).get("href") or ""), "snippet": ""})
            self._field, self._field_tag, self._depth = "title", tag, 1
        elif "result__snippet" in classes and self.results:
            self._field, self._field_tag, self._depth = "snippet", tag, 1

    def handle_endtag(self, tag: str) -> None:
        if self._field is not None and tag == self._field_tag:
            self._depth -= 1
            if self._depth == 0:
                self._field = None
        if tag == "div" and self._divs:
            self._divs.pop()

    def handle_data(self, data: str) -> None:
        if self._field is not None:
            self.results[-1][self._field] += data


def _ddg_target(href: str) -> str:
    """DuckDuckGo wraps links as //duckduckgo.com/l/?uddg=<url>; unwrap them."""
    parts = urlsplit(href if "://" in href else f"https:{href}" if href.startswith("//") else href)
    target = parse_qs(parts.query).get("uddg")
    return target[0] if target else href


async def _duckduckgo(query: str, settings: AgentConfig) -> list[dict[str, str]]:
    base = configured(endpoints(settings).duckduckgo_url, "DUCKDUCKGO_HTML_URL", DEFAULT_DDG, base_url=False)
    resp = await fetch(
        base,
        method="POST",
        data={"q": query},
        timeout=20,
        headers={"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"},
    )
    if resp.status == 202 or not resp.ok:
        reason = "it answered with a bot check (HTTP 202)" if resp.status == 202 else f"HTTP {resp.status}"
        raise ToolError(
            f"DuckDuckGo refused the search ({reason}): retry later, or configure a SearXNG instance "
            "with endpoints.searxng_url in the config or SEARXNG_URL."
        )
    parser = _DuckDuckGoParser()
    parser.feed(resp.text)
    return [r for r in parser.results if r["url"].startswith(("http://", "https://"))]


async def _searxng(base: str, query: str) -> list[dict[str, str]]:
    resp = await fetch(
        f"{base}/search",
        params={"q": query, "format": "json", "safesearch": 1},
        timeout=20,
        headers={"Accept": "application/json"},
    )
    if resp.status == 403:
        raise ToolError(
            f"SearXNG at {base} refused JSON output (403): enable 'json' under search.formats in its settings.yml."
        )
    if not resp.ok:
        raise ToolError(status_line("SearXNG", resp.status, resp.error_detail(), resp.headers))
    return [
        {"title": r.get("title", ""), "url": r.get("url", ""), "snippet": r.get("content") or ""}
        for r in resp.json().get("results", [])
        if r.get("url")
    ]


async def _search(args: WebSearchArgs, ctx: ToolContext) -> str:
    allowed = [_domain(d) for d in args.allowed_domains if d.strip()]
    blocked = [_domain(d) for d in args.blocked_domains if d.strip()]
    terms = [args.query]
    if len(allowed) == 1:
        terms.append(f"site:{allowed[0]}")
    terms += [f"-site:{d}" for d in blocked]
    query = " ".join(terms)
    searxng = configured(endpoints(ctx.settings).searxng_url, "SEARXNG_URL", "")
    results = await (_searxng(searxng, query) if searxng else _duckduckgo(query, ctx.settings))
    seen, kept = set(), []
    for r in results:
        url = r["url"]
        if url in seen or (allowed and not _matches(url, allowed)) or (blocked and _matches(url, blocked)):
            continue
        seen.add(url)
        kept.append(r)
    kept = kept[: args.max_results]
    if not kept:
        scope = f" on {', '.join(allowed)}" if allowed else ""
        return f"No results for '{args.query}'{scope}."
    lines = [f"Results for '{args.query}':"]
    for i, r in enumerate(kept, 1):
        lines.append(f"{i}. {one_line(r['title'], 150)}\n   {r['url']}\n   {one_line(r['snippet'], 300)}")
    return "\n".join(lines)


def tools(settings: AgentConfig | None) -> list[Tool]:
    return [
        Tool(
            name="web_search",
            description=(
                "Search the web: returns titles, URLs and snippets. Restrict with allowed_domains (e.g. "
                "['github.com']) or exclude with blocked_domains. For Hugging Face docs prefer explore_hf_docs, "
                "for papers hf_papers."
            ),
            risk=Risk.READ_ONLY,
            handler=_search,
            args_model=WebSearchArgs,
        )
    ]
