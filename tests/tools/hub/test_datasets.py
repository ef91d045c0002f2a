"""hf_inspect_dataset through httpx against the fake datasets viewer."""

from __future__ import annotations

import pytest

from tools.base import ToolError
from tools.hub import datasets

pytest_plugins = ["hf_fake_server"]  # the hf_env fixture
TOOL = datasets.tools(None)[0]
FEATURES = [
    {"name": "text", "type": {"dtype": "string", "_type": "Value"}},
    {"name": "label", "type": {"names": ["neg", "pos"], "_type": "ClassLabel"}},
    {"name": "tokens", "type": {"feature": {"dtype": "int32", "_type": "Value"}, "_type": "List"}},
]


def seed(hub, name="stanfordnlp/imdb", gated=False, n_rows=25_000, text="I rented this movie"):
    split = {
        "num_rows": n_rows,
        "features": FEATURES,
        "rows": [{"text": f"{text} {i}", "label": i % 2, "tokens": [i, i + 1]} for i in range(20)],
        "statistics": [
            {
                "column_name": "label",
                "column_type": "class_label",
                "column_statistics": {
                    "nan_count": 0,
                    "nan_proportion": 0.0,
                    "no_label_count": 0,
                    "frequencies": {"neg": 12500, "pos": 12500},
                },
            },
            {
                "column_name": "text",
                "column_type": "string_text",
                "column_statistics": {
                    "nan_count": 0,
                    "nan_proportion": 0.0,
                    "min": 10,
                    "max": 13704,
                    "mean": 1325.06,
                    "median": 979.0,
                    "std": 1003.1,
                },
            },
        ],
    }
    hub.viewer[name] = {"gated": gated, "configs": {"plain_text": {"train": split, "test": dict(split)}}}


async def call(env, **kwargs):
    return await TOOL.handler(datasets.InspectDatasetArgs(**kwargs), env.ctx())


async def test_overview_shows_splits_features_size_and_rows(hf_env):
    seed(hf_env.hub)
    out = await call(hf_env, dataset="stanfordnlp/imdb", rows=3)
    assert "plain_text: train (25,000 rows), test (25,000 rows)" in out
    assert "label: ClassLabel[neg, pos]" in out and "tokens: list[int32]" in out
    assert "Size: 50,000 rows" in out
    assert "First 3 rows of plain_text/train" in out and '[2] {text: "I rented this movie 2", label: 0' in out
    assert "[3]" not in out
    assert "Statistics" not in out  # opt-in


async def test_statistics_on_request(hf_env):
    seed(hf_env.hub)
    out = await call(hf_env, dataset="stanfordnlp/imdb", split="test", include=["statistics"])
    assert "Statistics of plain_text/test (25,000 rows)" in out
    assert "label (class_label): frequencies neg: 12500, pos: 12500" in out
    assert "text (string_text) (lengths): min 10; max 13704; mean 1325" in out
    stats_calls = hf_env.hub.seen("GET", r"/datasets-server/statistics$")
    assert stats_calls[0].query == {"dataset": ["stanfordnlp/imdb"], "config": ["plain_text"], "split": ["test"]}


async def test_long_cells_are_cut(hf_env):
    seed(hf_env.hub, text="x" * 5000)
    out = await call(hf_env, dataset="stanfordnlp/imdb", include=["rows"], rows=1)
    assert "...(+" in out and len(out) < 1000


async def test_gated_dataset_without_token_says_what_to_do(hf_env, monkeypatch):
    seed(hf_env.hub, name="meta/gated", gated=True)
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(ToolError) as err:
        await call(hf_env, dataset="meta/gated")
    message = str(err.value)
    assert "not found, or private/gated" in message and f"{hf_env.hub.url}/datasets/meta/gated" in message
    assert "set HF_TOKEN or run `hf auth login`" in message
    monkeypatch.setenv("HF_TOKEN", hf_env.hub.token)
    assert "plain_text" in await call(hf_env, dataset="meta/gated")  # the token unlocks it


async def test_unknown_config_lists_the_real_ones(hf_env):
    seed(hf_env.hub)
    with pytest.raises(ToolError, match="configs: plain_text"):
        await call(hf_env, dataset="stanfordnlp/imdb", config="nope")


async def test_token_goes_to_an_hf_viewer_but_not_to_another_host(hf_env):
    seed(hf_env.hub)
    await call(hf_env, dataset="stanfordnlp/imdb", include=["splits"])
    viewer_calls = hf_env.hub.seen("GET", r"^/datasets-server/")
    assert viewer_calls and all(r.headers.get("authorization") == f"Bearer {hf_env.hub.token}" for r in viewer_calls)

    # Point the viewer at a non-Hugging-Face host: it gets no token (hf_env asserts that at teardown too).
    hf_env.configure(datasets_server_url=f"{hf_env.web.url}/datasets-server")
    with pytest.raises(ToolError):
        await call(hf_env, dataset="stanfordnlp/imdb")
    assert hf_env.web.seen("GET", r"^/datasets-server/is-valid$")
    assert not hf_env.web.auth_headers()


async def test_rate_limit_is_one_line_with_retry_time(hf_env):
    seed(hf_env.hub)
    hf_env.hub.fail("GET", r"/datasets-server/is-valid", 429, "Too many requests", headers={"Retry-After": "42"})
    with pytest.raises(ToolError) as err:
        await call(hf_env, dataset="stanfordnlp/imdb")
    assert "rate limit" in str(err.value) and "retry in 42 s" in str(err.value)
