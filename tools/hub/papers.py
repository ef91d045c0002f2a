"""hf_papers: find papers, read them section by section, and see what on the Hub builds on them.

Search, details and daily/trending papers come from the Hub (HfApi.list_papers, paper_info,
list_daily_papers). Reading uses arXiv's HTML rendering (base URL: endpoints.arxiv_html_url in the config,
env ARXIV_HTML_URL, default https://arxiv.org/html), split into sections at its headings, so the
model reads the table of contents first and then only the sections it needs; when arXiv has no
HTML version it falls back to the Hub's markdown of the paper page. Citations are the models,
datasets and Spaces tagged arxiv:<id>. No token is ever sent to arXiv.
"""

from __future__ import annotations

import asyncio
import re
from itertools import islice
from typing import Any, Literal

from pydantic import BaseModel, Field

from configs.schema import AgentConfig
from tools.base import Risk, Tool, ToolContext, ToolError
from tools.endpoints import configured, endpoints
from tools.hub.auth import hf_endpoint, hf_token, hub_api
from tools.hub.errors import hub_call, status_line
from tools.output import cap_lines, cap_text, one_line
from tools.web.fetch import fetch
from tools.web.html_text import Section, parse_html

DEFAULT_ARXIV_HTML = "https://arxiv.org/html"
SECTION_CHARS = 20_000
ARXIV_ID = re.compile(r"(\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)")


class PapersArgs(BaseModel):
    operation: Literal["search", "details", "trending", "read", "citations"]
    query: str | None = Field(None, description="search: words to look for.")
    paper_id: str | None = Field(None, description="arXiv id (e.g. '2305.18290') or an arXiv / HF papers URL.")
    section: str | None = Field(
        None,
        description="read: a section's number (e.g. '3' or '3.2') or words of its title; omit to get the "
        "abstract and the table of contents.",
    )
    date: str | None = Field(None, description="trending: day YYYY-MM-DD (default: latest).")
    limit: int = Field(10, ge=1, le=50)


def normalize_id(raw: str | None) -> str:
    if not raw:
        raise ToolError("Give paper_id: an arXiv id like '2305.18290' or a paper URL.")
    match = ARXIV_ID.search(raw.strip())
    if not match:
        raise ToolError(f"'{raw}' does not look like an arXiv id (e.g. 2305.18290).")
    return match.group(1)


def _bare(paper_id: str) -> str:
    return re.sub(r"v\d+$", "", paper_id)


def _paper_line(p: Any) -> str:
    upvotes = f", {p.upvotes} upvotes" if p.upvotes else ""
    date = f", {p.published_at:%Y-%m-%d}" if p.published_at else ""
    summary = one_line(p.ai_summary or p.summary or "", 220)
    return f"{p.id}: {p.title}{date}{upvotes}\n    {summary}" if summary else f"{p.id}: {p.title}{date}{upvotes}"


# -- reading -----------------------------------------------------------------------------------
def parse_markdown(md: str) -> tuple[str, list[Section]]:
    title, sections = "", [Section(1, "(front matter)")]
    for line in md.splitlines(keepends=True):
        heading = re.match(r"(#{1,6})\s+(.*)", line)
        if heading:
            level, text = len(heading.group(1)), heading.group(2).strip()
            if level == 1 and not title:
                title = text
            else:
                sections.append(Section(level, text))
        else:
            sections[-1].parts.append(line)
    return title, [s for s in sections if s.text or s.level > 1]


def pick_section(sections: list[Section], wanted: str) -> list[Section]:
    """The chosen section plus its sub-sections. `wanted`: a TOC number, a heading number, or title words."""
    wanted = wanted.strip()
    index = None
    if wanted.isdigit() and 1 <= int(wanted) <= len(sections):
        numbered = [i for i, s in enumerate(sections) if re.match(rf"{re.escape(wanted)}\b(?!\.)", s.title)]
        index = numbered[0] if numbered else int(wanted) - 1
    if index is None:
        lowered = wanted.lower()
        for i, s in enumerate(sections):
            if re.match(rf"{re.escape(lowered)}\b", s.title.lower()) or lowered in s.title.lower():
                index = i
                break
    if index is None:
        raise ToolError(f"No section '{wanted}'; call read without section to see the contents.")
    chosen = [sections[index]]
    for s in sections[index + 1 :]:
        if s.level <= sections[index].level:
            break
        chosen.append(s)
    return chosen


async def _load_paper(paper_id: str, settings: AgentConfig) -> tuple[str, list[Section], str]:
    base = configured(endpoints(settings).arxiv_html_url, "ARXIV_HTML_URL", DEFAULT_ARXIV_HTML)
    resp = await fetch(f"{base}/{paper_id}", timeout=60, max_bytes=20_000_000)  # no token_for: arXiv gets none
    if resp.ok:
        title, sections = parse_html(resp.text)
        if sections:
            return title, sections, resp.url
    elif resp.status != 404:
        raise ToolError(
            status_line("arXiv", resp.status, resp.error_detail(), resp.headers, subject=f"for the HTML of {paper_id}")
        )
    api = hub_api(settings, hf_token())
    md = await hub_call(f"Reading paper {paper_id}", api.read_paper, _bare(paper_id))
    title, sections = parse_markdown(md)
    return title, sections, f"{hf_endpoint(settings)}/papers/{_bare(paper_id)}"


async def _read(args: PapersArgs, settings: AgentConfig) -> str:
    paper_id = normalize_id(args.paper_id)
    title, sections, source = await _load_paper(paper_id, settings)
    if args.section:
        chosen = pick_section(sections, args.section)
        body = "\n\n".join(f"{'#' * min(s.level, 6)} {s.title}\n{s.text}" for s in chosen)
        return cap_text(body, SECTION_CHARS, "read a sub-section (e.g. '3.2') to see the rest")
    abstract = next((s for s in sections if s.title.lower().startswith("abstract")), None)
    toc = [f"{'  ' * max(0, s.level - 2)}{s.title} ({len(s.text):,} chars)" for s in sections]
    out = [f"{title or paper_id} ({source})"]
    if abstract:
        out.append(f"Abstract: {cap_text(abstract.text, 3000)}")
    out.append("Contents (read one with section='<its number or title words>'):\n" + cap_lines(toc, 150, "sections"))
    return "\n\n".join(out)


# -- Hub calls ------------------------------------------------------------------------------------
async def _details(args: PapersArgs, settings: AgentConfig) -> str:
    paper_id = _bare(normalize_id(args.paper_id))
    api = hub_api(settings, hf_token())
    p = await hub_call(f"Looking up paper {paper_id}", api.paper_info, paper_id)
    authors = [a.name for a in (p.authors or [])]
    lines = [f"{p.title} (arXiv {p.id})"]
    if authors:
        more = f" and {len(authors) - 20} more" if len(authors) > 20 else ""
        lines.append("Authors: " + ", ".join(authors[:20]) + more)
    if p.published_at:
        lines.append(f"Published: {p.published_at:%Y-%m-%d}")
    if p.upvotes:
        lines.append(f"Upvotes on Hugging Face: {p.upvotes}")
    if p.summary:
        lines.append(f"Abstract: {cap_text(one_line(p.summary, 10_000), 3000)}")
    if p.ai_summary:
        lines.append(f"AI summary: {one_line(p.ai_summary, 1000)}")
    if p.ai_keywords:
        lines.append("Keywords: " + ", ".join(p.ai_keywords[:20]))
    if p.github_repo:
        stars = f" ({p.github_stars} stars)" if p.github_stars else ""
        lines.append(f"Code: {p.github_repo}{stars}")
    if p.project_page:
        lines.append(f"Project page: {p.project_page}")
    counts = [f"{n} {kind}" for n, kind in ((p.num_total_models, "models"), (p.num_total_datasets, "datasets")) if n]
    if counts or p.linked_spaces:
        spaces = f"{len(p.linked_spaces)} Spaces" if p.linked_spaces else ""
        lines.append("On the Hub: " + ", ".join(counts + ([spaces] if spaces else [])) + " (operation=citations)")
    lines.append(f"Links: https://arxiv.org/abs/{p.id} | {hf_endpoint(settings)}/papers/{p.id}")
    return "\n".join(lines)


async def _search(args: PapersArgs, settings: AgentConfig) -> str:
    if not args.query:
        raise ToolError("search needs query.")
    api = hub_api(settings, hf_token())
    found = await hub_call(
        "Searching papers", lambda: list(islice(api.list_papers(query=args.query, limit=args.limit), args.limit))
    )
    if not found:
        return f"No papers found for '{args.query}'."
    return f"{len(found)} papers for '{args.query}':\n" + "\n".join(_paper_line(p) for p in found)


async def _trending(args: PapersArgs, settings: AgentConfig) -> str:
    api = hub_api(settings, hf_token())
    found = await hub_call(
        "Listing daily papers",
        lambda: list(islice(api.list_daily_papers(date=args.date, sort="trending", limit=args.limit), args.limit)),
    )
    day = args.date or "the latest day"
    if not found:
        return f"No daily papers for {day}."
    return f"Trending papers ({day}):\n" + "\n".join(_paper_line(p) for p in found)


async def _citations(args: PapersArgs, settings: AgentConfig) -> str:
    paper_id = _bare(normalize_id(args.paper_id))
    api = hub_api(settings, hf_token())
    tag = f"arxiv:{paper_id}"
    limit = args.limit
    models, datasets, spaces = await asyncio.gather(
        hub_call(
            "Listing models citing the paper",
            lambda: list(islice(api.list_models(filter=tag, sort="downloads", limit=limit), limit)),
        ),
        hub_call(
            "Listing datasets citing the paper",
            lambda: list(islice(api.list_datasets(filter=tag, sort="downloads", limit=limit), limit)),
        ),
        hub_call(
            "Listing Spaces citing the paper",
            lambda: list(islice(api.list_spaces(filter=tag, sort="likes", limit=limit), limit)),
        ),
    )
    out = [f"Hub repos citing arXiv {paper_id} (top {limit} each):"]
    for kind, items in (("Models", models), ("Datasets", datasets), ("Spaces", spaces)):
        if not items:
            out.append(f"{kind}: none")
            continue
        rows = []
        for item in items:
            downloads, likes = getattr(item, "downloads", None), getattr(item, "likes", None)  # spaces: no downloads
            stats = [f"{downloads:,} downloads" if downloads else "", f"{likes} likes" if likes else ""]
            extra = ", ".join(s for s in stats if s)
            rows.append(f"  {item.id}" + (f" ({extra})" if extra else ""))
        out.append(f"{kind}:\n" + "\n".join(rows))
    return "\n".join(out)


async def _run(args: PapersArgs, ctx: ToolContext) -> str:
    handlers = {"search": _search, "details": _details, "trending": _trending, "read": _read, "citations": _citations}
    return await handlers[args.operation](args, ctx.settings)


def tools(settings: AgentConfig | None) -> list[Tool]:
    return [
        Tool(
            name="hf_papers",
            description=(
                "Research papers via Hugging Face and arXiv. operation: search (query), trending (daily papers, "
                "optional date), details (paper_id: authors, abstract, code, links), read (paper_id: abstract and "
                "table of contents; then section='3' or a title to read that section), citations (paper_id: "
                "models, datasets and Spaces on the Hub that cite it)."
            ),
            risk=Risk.READ_ONLY,
            handler=_run,
            args_model=PapersArgs,
        )
    ]
