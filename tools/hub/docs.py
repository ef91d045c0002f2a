"""explore_hf_docs / fetch_hf_docs: search and read the Hugging Face documentation.

Search uses the Hub's docs search API ({endpoint}/api/docs/search). Fetching is restricted to
Hugging Face hosts (huggingface.co, hf.co and subdomains, or the configured endpoint): any other URL,
or a redirect to one, is refused, and the user's token is attached only to those hosts. Pages are
asked for as markdown; HTML answers are turned into text. Long pages are read in chunks (offset).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from configs.schema import AgentConfig
from tools.base import Risk, Tool, ToolContext, ToolError
from tools.hub.auth import hf_endpoint, is_hf_url, token_for_hf
from tools.hub.errors import status_line
from tools.output import cap_text, one_line
from tools.web.fetch import fetch
from tools.web.html_text import parse_html, to_markdown

PRODUCTS = (
    "transformers, datasets, trl, peft, accelerate, hub, huggingface_hub, diffusers, tokenizers, "
    "evaluate, optimum, sentence_transformers, text-generation-inference, inference-endpoints, "
    "dataset-viewer, smolagents, lerobot, safetensors, bitsandbytes, kernels"
)
EXCERPT_CHARS = 400
_CACHE: OrderedDict[str, tuple[float, str]] = OrderedDict()  # url -> (fetched at, text): paging re-reads
_CACHE_SIZE, _CACHE_TTL = 16, 600.0


class ExploreDocsArgs(BaseModel):
    query: str = Field(min_length=2, description="What you want to know, e.g. 'DPOTrainer beta parameter'.")
    product: str | None = Field(None, description=f"Restrict to one library: {PRODUCTS}.")
    limit: int = Field(10, ge=1, le=30)


class FetchDocsArgs(BaseModel):
    url: str = Field(description="A Hugging Face docs URL (https://huggingface.co/docs/...) or a path '/docs/...'.")
    offset: int = Field(0, ge=0, description="Character offset, to continue a long page.")
    max_chars: int = Field(20_000, ge=1000, le=60_000)


async def _explore(args: ExploreDocsArgs, ctx: ToolContext) -> str:
    endpoint = hf_endpoint(ctx.settings)
    resp = await fetch(
        f"{endpoint}/api/docs/search",
        params={"q": args.query, "product": args.product, "limit": args.limit},
        token_for=token_for_hf(ctx.settings),
        allow=lambda u: is_hf_url(u, ctx.settings),
    )
    if not resp.ok:
        raise ToolError(status_line("Hugging Face docs search", resp.status, resp.error_detail(), resp.headers))
    hits = resp.json()
    if not isinstance(hits, list) or not hits:
        scope = f" in {args.product}" if args.product else ""
        return f"No documentation found for '{args.query}'{scope}. Try other words or another product."
    pages: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
    for hit in hits[: args.limit]:
        url = (hit.get("source_page_url") or hit.get("url") or "").split("#")[0]
        pages.setdefault(url, []).append(hit)
    out = [f"Docs results for '{args.query}'" + (f" in {args.product}" if args.product else "") + ":"]
    for url, page_hits in pages.items():
        first = page_hits[0]
        title = first.get("heading1") or first.get("source_page_title") or url
        out.append(f"\n[{first.get('product', '?')}] {title} - {url}")
        for hit in page_hits:
            section = hit.get("heading2")
            excerpt = one_line(hit.get("text", ""), EXCERPT_CHARS)
            out.append(f"  {'§ ' + section + ': ' if section else ''}{excerpt}")
    out.append("\nRead a page with fetch_hf_docs(url).")
    return "\n".join(out)


def _absolute(url: str, settings: AgentConfig) -> str:
    url = url.strip()
    if url.startswith("docs/"):
        url = "/" + url
    if url.startswith("/"):
        return hf_endpoint(settings) + url
    if "://" not in url and url.split("/")[0] in ("huggingface.co", "hf.co"):
        return "https://" + url
    return url


async def _page_text(url: str, settings: AgentConfig) -> str:
    cached = _CACHE.get(url)
    if cached and time.monotonic() - cached[0] < _CACHE_TTL:
        _CACHE.move_to_end(url)
        return cached[1]
    resp = await fetch(
        url,
        headers={"Accept": "text/markdown, text/plain;q=0.9, text/html;q=0.8"},
        token_for=token_for_hf(settings),
        allow=lambda u: is_hf_url(u, settings),
        refused="it is not a Hugging Face host, and the docs fetcher only reads Hugging Face "
        "documentation (use web_search for other sites)",
    )
    if resp.status == 404:
        raise ToolError(f"No docs page at {url} (404): find the right URL with explore_hf_docs.")
    if not resp.ok:
        raise ToolError(
            status_line("Hugging Face docs", resp.status, resp.error_detail(), resp.headers, subject=f"for {url}")
        )
    kind = resp.headers.get("content-type", "")
    text = resp.text
    if "html" in kind:
        text = to_markdown(*parse_html(text))
    _CACHE[url] = (time.monotonic(), text)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return text


async def _fetch(args: FetchDocsArgs, ctx: ToolContext) -> str:
    url = _absolute(args.url, ctx.settings)
    if urlsplit(url).scheme not in ("http", "https") or not is_hf_url(url, ctx.settings):
        raise ToolError(
            f"Refused to fetch {args.url}: fetch_hf_docs only reads Hugging Face documentation "
            "(https://huggingface.co/docs/...); use web_search for other sites."
        )
    text = await _page_text(url, ctx.settings)
    if args.offset >= len(text) > 0:
        return f"Offset {args.offset} is past the end of {url} ({len(text):,} characters)."
    chunk = text[args.offset : args.offset + args.max_chars]
    end = args.offset + len(chunk)
    prefix = f"[{url}, characters {args.offset:,}-{end:,} of {len(text):,}]\n" if args.offset else ""
    more = ""
    if end < len(text):
        more = f"\n[... {len(text) - end:,} more characters; call fetch_hf_docs with offset={end}]"
    return prefix + cap_text(chunk, args.max_chars) + more


def tools(settings: AgentConfig | None) -> list[Tool]:
    return [
        Tool(
            name="explore_hf_docs",
            description=(
                "Search the Hugging Face documentation (transformers, datasets, trl, peft, accelerate, hub, ...). "
                "Returns matching pages with excerpts; read a page with fetch_hf_docs. Check the docs before "
                "using an API you are not sure about: libraries change fast."
            ),
            risk=Risk.READ_ONLY,
            handler=_explore,
            args_model=ExploreDocsArgs,
        ),
        Tool(
            name="fetch_hf_docs",
            description=(
                "Read a Hugging Face documentation page as markdown (huggingface.co only). Long pages come in "
                "chunks: continue with the offset the answer gives."
            ),
            risk=Risk.READ_ONLY,
            handler=_fetch,
            args_model=FetchDocsArgs,
        ),
    ]
