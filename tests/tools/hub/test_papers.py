"""hf_papers: Hub paper calls through HfApi, arXiv HTML through httpx, all against local fakes."""

from __future__ import annotations

import pytest

from tools.base import ToolError
from tools.hub import papers

pytest_plugins = ["hf_fake_server"]  # the hf_env fixture
TOOL = papers.tools(None)[0]

DPO = {
    "id": "2305.18290",
    "title": "Direct Preference Optimization",
    "publishedAt": "2023-05-29T00:00:00.000Z",
    "summary": "We propose DPO, a stable way to fine-tune language models from preferences.",
    "upvotes": 42,
    "authors": [{"name": "Rafael Rafailov"}, {"name": "Archit Sharma"}],
    "ai_summary": "DPO optimizes a classification loss instead of RL.",
    "ai_keywords": ["RLHF", "preferences"],
    "githubRepo": "https://github.com/eric-mitchell/direct-preference-optimization",
    "githubStars": 2000,
    "numTotalModels": 3,
    "numTotalDatasets": 1,
}
LORA = {
    "id": "2106.09685",
    "title": "LoRA: Low-Rank Adaptation",
    "publishedAt": "2021-06-17T00:00:00.000Z",
    "summary": "Low-rank adapters for efficient fine-tuning.",
    "upvotes": 7,
    "authors": [{"name": "Edward Hu"}],
}

ARXIV_HTML = """<html><head><title>t</title><style>.x{color:red}</style></head><body>
<nav class="ltx_page_navbar">NAVIGATION JUNK</nav>
<article class="ltx_document">
<h1 class="ltx_title ltx_title_document">Direct Preference Optimization</h1>
<div class="ltx_abstract"><h6 class="ltx_title ltx_title_abstract">Abstract</h6>
<p class="ltx_p">We propose DPO, a stable algorithm.</p></div>
<section class="ltx_section" id="S1">
<h2 class="ltx_title ltx_title_section"><span class="ltx_tag">1 </span>Introduction</h2>
<div class="ltx_para"><p>A policy <math alttext="\\pi_{\\theta}" display="inline"><semantics><mi>π</mi>
<annotation encoding="application/x-tex">\\pi_{\\theta}</annotation></semantics></math> is trained.</p></div></section>
<section id="S3"><h2><span>3 </span>Method</h2><p>Method overview.</p>
<section id="S3.SS1"><h3><span>3.1 </span>Loss</h3><p>The loss is a logistic loss.</p></section>
<section id="S3.SS2"><h3><span>3.2 </span>Training</h3><p>TRAINING_BODY</p></section></section>
<section id="S4"><h2><span>4 </span>Experiments</h2><p>Results are good.</p></section>
<section class="ltx_bibliography"><h2>References</h2><ul><li>Christiano et al. 2017</li></ul></section>
</article><footer>FOOTER JUNK</footer></body></html>"""


async def call(env, **kwargs):
    return await TOOL.handler(papers.PapersArgs(**kwargs), env.ctx())


def seed(hub, web, training_body="Train with beta=0.1."):
    hub.papers.update({DPO["id"]: DPO, LORA["id"]: LORA})
    hub.daily.extend(
        [
            {"paper": DPO, "title": DPO["title"], "publishedAt": "2025-03-01T10:00:00.000Z", "numComments": 3},
            {"paper": LORA, "title": LORA["title"], "publishedAt": "2025-03-02T10:00:00.000Z", "numComments": 0},
        ]
    )
    web.arxiv["2305.18290"] = ARXIV_HTML.replace("TRAINING_BODY", training_body)


async def test_search_and_details(hf_env):
    seed(hf_env.hub, hf_env.web)
    found = await call(hf_env, operation="search", query="preference")
    assert "2305.18290: Direct Preference Optimization, 2023-05-29, 42 upvotes" in found
    assert "LoRA" not in found
    assert hf_env.hub.seen("GET", r"^/api/papers/search$")[0].query["q"] == ["preference"]

    details = await call(hf_env, operation="details", paper_id="https://arxiv.org/abs/2305.18290v2")
    assert "Authors: Rafael Rafailov, Archit Sharma" in details
    assert "Code: https://github.com/eric-mitchell/direct-preference-optimization (2000 stars)" in details
    assert "3 models, 1 datasets" in details and "https://arxiv.org/abs/2305.18290" in details


async def test_trending_for_a_day(hf_env):
    seed(hf_env.hub, hf_env.web)
    out = await call(hf_env, operation="trending", date="2025-03-02")
    assert "LoRA" in out and "Direct Preference" not in out
    query = hf_env.hub.seen("GET", r"^/api/daily_papers$")[0].query
    assert query["date"] == ["2025-03-02"] and query["sort"] == ["trending"]


async def test_read_gives_contents_then_sections(hf_env):
    seed(hf_env.hub, hf_env.web)
    toc = await call(hf_env, operation="read", paper_id="2305.18290")
    assert toc.startswith("Direct Preference Optimization")
    assert "Abstract: We propose DPO, a stable algorithm." in toc
    assert "1 Introduction (" in toc and "\n  3.1 Loss (" in toc and "References (" in toc
    assert "NAVIGATION JUNK" not in toc and "FOOTER JUNK" not in toc

    method = await call(hf_env, operation="read", paper_id="2305.18290", section="3")
    assert "## 3 Method" in method and "### 3.1 Loss" in method and "Train with beta=0.1." in method
    assert "Experiments" not in method

    assert "Results are good." in await call(hf_env, operation="read", paper_id="2305.18290", section="experiments")
    intro = await call(hf_env, operation="read", paper_id="2305.18290", section="1")
    assert "$\\pi_{\\theta}$ is trained" in intro and "π" not in intro
    with pytest.raises(ToolError, match="No section 'ablations'"):
        await call(hf_env, operation="read", paper_id="2305.18290", section="ablations")
    assert not hf_env.web.auth_headers()  # arXiv never gets a token


async def test_long_sections_are_capped(hf_env):
    seed(hf_env.hub, hf_env.web, training_body="word " * 10_000)
    out = await call(hf_env, operation="read", paper_id="2305.18290", section="3.2")
    assert len(out) < 21_000 and "more characters not shown" in out


async def test_read_falls_back_to_the_hub_markdown_without_arxiv_html(hf_env):
    hf_env.hub.paper_md["2106.09685"] = "# LoRA\n\n## Abstract\nLow-rank.\n\n## Method\nAdapters everywhere.\n"
    toc = await call(hf_env, operation="read", paper_id="2106.09685")
    assert toc.startswith("LoRA (") and "Method (" in toc
    assert "Adapters everywhere." in await call(hf_env, operation="read", paper_id="2106.09685", section="method")


async def test_citations_list_models_datasets_and_spaces(hf_env):
    hub = hf_env.hub
    hub.listings["models"] += [
        {"id": "alice/dpo-model", "downloads": 1234, "likes": 5, "tags": ["arxiv:2305.18290"]},
        {"id": "bob/other", "downloads": 9, "tags": ["arxiv:1111.11111"]},
    ]
    hub.listings["datasets"] += [{"id": "alice/prefs", "downloads": 77, "tags": ["arxiv:2305.18290"]}]
    out = await call(hf_env, operation="citations", paper_id="2305.18290")
    assert "alice/dpo-model (1,234 downloads, 5 likes)" in out and "bob/other" not in out
    assert "alice/prefs" in out and "Spaces: none" in out
    assert hub.seen("GET", r"^/api/models$")[0].query["filter"] == ["arxiv:2305.18290"]


async def test_errors_are_one_clear_line(hf_env):
    with pytest.raises(ToolError, match=r"not found \(404\)"):
        await call(hf_env, operation="details", paper_id="2401.00001")
    hf_env.hub.fail("GET", r"^/api/papers/search$", 429, headers={"RateLimit": '"api";r=0;t=37'})
    with pytest.raises(ToolError) as err:
        await call(hf_env, operation="search", query="x")
    assert "rate limit" in str(err.value) and "retry in 37 s" in str(err.value)
    with pytest.raises(ToolError, match="arXiv id"):
        await call(hf_env, operation="read", paper_id="not a paper")
