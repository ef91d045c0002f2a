"""web_search through httpx against fake DuckDuckGo-HTML and SearXNG endpoints."""

from __future__ import annotations

import pytest

from tools.base import ToolError
from tools.web import search as web_search

pytest_plugins = ["hf_fake_server"]  # the hf_env fixture
TOOL = web_search.tools(None)[0]
RESULTS = [
    {"title": "LoRA guide", "url": "https://huggingface.co/docs/peft/lora", "content": "Use <b>LoRA</b> adapters."},
    {"title": "LoRA on GitHub", "url": "https://github.com/microsoft/LoRA", "content": "Reference implementation."},
    {"title": "Spam", "url": "https://www.spam.example/lora", "content": "Buy now."},
    {"title": "Blog", "url": "https://blog.spam.example/lora", "content": "Also spam."},
]


async def search(env, **kwargs):
    return await TOOL.handler(web_search.WebSearchArgs(**kwargs), env.ctx())


async def test_duckduckgo_html_results_are_parsed_and_ads_skipped(hf_env):
    hf_env.web.search_results += RESULTS
    out = await search(hf_env, query="lora fine-tuning")
    assert "1. LoRA guide\n   https://huggingface.co/docs/peft/lora\n   Use LoRA adapters." in out
    assert "https://github.com/microsoft/LoRA" in out
    assert "ads.example" not in out and ". Ad\n" not in out  # the sponsored block is dropped
    request = hf_env.web.seen("POST", r"^/ddg/html/$")[0]
    assert request.body == b"q=lora+fine-tuning" and "authorization" not in request.headers


async def test_domain_filters(hf_env):
    hf_env.web.search_results += RESULTS
    only = await search(hf_env, query="lora", allowed_domains=["github.com"])
    assert "microsoft/LoRA" in only and "huggingface.co" not in only
    assert hf_env.web.requests[-1].body == b"q=lora+site%3Agithub.com"
    blocked = await search(hf_env, query="lora", blocked_domains=["spam.example"])
    assert "spam" not in blocked.lower() and "LoRA guide" in blocked
    assert await search(hf_env, query="lora", allowed_domains=["arxiv.org"]) == "No results for 'lora' on arxiv.org."


async def test_searxng_backend_when_configured(hf_env):
    hf_env.web.search_results += RESULTS
    hf_env.configure(searxng_url=f"{hf_env.web.url}/searx")
    out = await search(hf_env, query="lora", max_results=2)
    assert "1. LoRA guide" in out and "2. LoRA on GitHub" in out and "3." not in out
    request = hf_env.web.seen("GET", r"^/searx/search$")[0]
    assert request.query["format"] == ["json"] and request.query["q"] == ["lora"]


async def test_bot_check_is_explained(hf_env):
    hf_env.web.fail("POST", r"^/ddg/html/$", 202)
    with pytest.raises(ToolError, match="SEARXNG_URL"):
        await search(hf_env, query="lora")
