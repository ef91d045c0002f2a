"""explore_hf_docs / fetch_hf_docs against the fake Hub; the token must never leave Hugging Face hosts."""

from __future__ import annotations

import pytest

from tools.base import ToolError
from tools.hub import docs
from tools.hub.auth import is_hf_url

pytest_plugins = ["hf_fake_server"]  # the hf_env fixture
EXPLORE, FETCH = docs.tools(None)


async def explore(env, **kwargs):
    return await EXPLORE.handler(docs.ExploreDocsArgs(**kwargs), env.ctx())


async def fetch_doc(env, **kwargs):
    return await FETCH.handler(docs.FetchDocsArgs(**kwargs), env.ctx())


def seed_search(hub):
    base = "https://huggingface.co/docs/trl/main/en"
    hub.docs_results += [
        {
            "text": "The beta parameter of DPOTrainer controls the KL penalty.",
            "product": "trl",
            "heading1": "DPO Trainer",
            "heading2": "Loss",
            "source_page_url": f"{base}/dpo_trainer#loss",
            "source_page_title": "DPO Trainer",
        },
        {
            "text": "Use DPOConfig to set beta and the learning rate.",
            "product": "trl",
            "heading1": "DPO Trainer",
            "heading2": "Config",
            "source_page_url": f"{base}/dpo_trainer#config",
            "source_page_title": "DPO Trainer",
        },
        {
            "text": "LoRA adapters reduce memory; beta is unrelated.",
            "product": "peft",
            "heading1": "LoRA",
            "source_page_url": "https://huggingface.co/docs/peft/main/en/lora",
            "source_page_title": "LoRA",
        },
    ]


async def test_search_groups_excerpts_by_page(hf_env):
    seed_search(hf_env.hub)
    out = await explore(hf_env, query="beta", product="trl")
    assert "[trl] DPO Trainer - https://huggingface.co/docs/trl/main/en/dpo_trainer" in out
    assert "§ Loss: The beta parameter" in out and "§ Config: Use DPOConfig" in out
    assert "LoRA" not in out
    request = hf_env.hub.seen("GET", r"^/api/docs/search$")[0]
    assert request.query["q"] == ["beta"] and request.query["product"] == ["trl"]
    assert "No documentation found" in await explore(hf_env, query="zzzz")


async def test_fetch_markdown_page_in_chunks(hf_env):
    page = "# DPO Trainer\n" + "".join(f"paragraph {i}\n" for i in range(5000))
    hf_env.hub.docs_pages["/docs/trl/dpo_trainer"] = (page, "text/markdown; charset=utf-8")
    first = await fetch_doc(hf_env, url="/docs/trl/dpo_trainer", max_chars=1000)
    assert first.startswith("# DPO Trainer") and "call fetch_hf_docs with offset=1000" in first
    second = await fetch_doc(hf_env, url="/docs/trl/dpo_trainer", offset=1000, max_chars=1000)
    assert second.startswith("[") and page[1000:1050] in second
    request = hf_env.hub.seen("GET", r"^/docs/trl/dpo_trainer$")[0]
    assert "text/markdown" in request.headers["accept"]
    assert request.headers["authorization"] == f"Bearer {hf_env.hub.token}"  # the configured HF endpoint may see it


async def test_fetch_html_page_becomes_text(hf_env):
    html = (
        "<html><head><title>x</title><script>var a=1;</script></head><body><nav>MENU</nav>"
        "<h1>PEFT</h1><p>Parameter-efficient fine-tuning.</p><h2>LoRA</h2><p>Low-rank adapters.</p></body></html>"
    )
    hf_env.hub.docs_pages["/docs/peft/index"] = (html, "text/html; charset=utf-8")
    out = await fetch_doc(hf_env, url="/docs/peft/index")
    assert out == "# PEFT\n\nParameter-efficient fine-tuning.\n\n## LoRA\nLow-rank adapters."


async def test_non_hf_urls_are_refused_without_any_request(hf_env):
    for url in (
        f"{hf_env.web.url}/page/docs",
        "https://evil.example/docs",
        "https://huggingface.co.evil.example/x",
        "https://evilhuggingface.co/docs",
        "http://huggingface.co/docs/x",
        "file:///etc/passwd",
        "https://huggingface.co@evil.example/docs",
    ):
        with pytest.raises(ToolError, match="Refused"):
            await fetch_doc(hf_env, url=url)
    assert not hf_env.web.requests and not hf_env.hub.requests


async def test_redirect_off_hugging_face_is_refused_and_carries_no_token(hf_env):
    hf_env.hub.redirects["/docs/moved"] = f"{hf_env.web.url}/page/stolen"
    with pytest.raises(ToolError, match="Refused to fetch .*not a Hugging Face host"):
        await fetch_doc(hf_env, url="/docs/moved")
    assert hf_env.hub.seen("GET", r"^/docs/moved$")[0].headers["authorization"] == f"Bearer {hf_env.hub.token}"
    assert not hf_env.web.requests  # the hop to the other host never happened


async def test_missing_page_points_to_search(hf_env):
    with pytest.raises(ToolError, match="explore_hf_docs"):
        await fetch_doc(hf_env, url="/docs/nope")


def test_host_allow_list(hf_env):
    settings = hf_env.settings
    assert is_hf_url("https://huggingface.co/docs/x", settings)
    assert is_hf_url("https://datasets-server.huggingface.co/splits", settings)
    assert is_hf_url("https://hf.co/docs", settings)
    assert is_hf_url(f"{hf_env.hub.url}/docs", settings)  # the configured endpoint's exact origin
    assert not is_hf_url(f"{hf_env.web.url}/docs", settings)  # same host, other port
    assert not is_hf_url("http://huggingface.co/docs", settings)  # plain http
    assert not is_hf_url("https://huggingface.co:8443/docs", settings)
    assert not is_hf_url("https://notthehuggingface.co/", settings)
