"""GitHub tools through httpx against the fake GitHub API (a non-Hugging-Face host)."""

from __future__ import annotations

import json
import time

import pytest

from tools.base import ToolError
from tools.web import github

pytest_plugins = ["hf_fake_server"]  # the hf_env fixture
FIND, LIST, READ = github.tools(None)


def seed(web):
    trl = {
        "full_name": "huggingface/trl",
        "description": "Train transformer language models with RL.",
        "stargazers_count": 15000,
        "language": "Python",
        "pushed_at": "2025-05-01T00:00:00Z",
    }
    peft = {
        "full_name": "huggingface/peft",
        "description": "Parameter-efficient fine-tuning.",
        "stargazers_count": 18000,
        "language": "Python",
        "pushed_at": "2025-04-01T00:00:00Z",
    }
    web.gh_repos["huggingface"] = [trl, peft]
    web.gh_code.append(
        {
            "name": "sft.py",
            "path": "examples/scripts/sft.py",
            "html_url": "https://github.com/x/sft.py",
            "repository": {"full_name": "huggingface/trl"},
            "_text": "trainer = SFTTrainer(model, peft_config=LoraConfig(r=16))",
        }
    )
    web.gh_files[("huggingface/trl", "examples/scripts/sft.py")] = b"from trl import SFTTrainer\n" + b"# pad\n" * 5000
    web.gh_files[("huggingface/trl", "examples")] = [
        {"name": "scripts", "type": "dir"},
        {"name": "README.md", "type": "file", "size": 2048},
    ]
    nb = {"cells": [{"cell_type": "code", "source": ["import trl\n", "print(trl.__version__)"], "outputs": []}]}
    web.gh_files[("huggingface/trl", "nb/demo.ipynb")] = json.dumps(nb).encode()


async def test_code_search_with_token_shows_matches(hf_env, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", hf_env.web.github_token)
    seed(hf_env.web)
    out = await FIND.handler(github.FindExamplesArgs(query="SFTTrainer LoraConfig"), hf_env.ctx())
    assert "huggingface/trl: examples/scripts/sft.py" in out and "peft_config=LoraConfig(r=16)" in out
    request = hf_env.web.seen("GET", r"^/github/search/code$")[0]
    assert request.query["q"] == ["SFTTrainer LoraConfig language:python"]
    assert request.headers["authorization"] == f"Bearer {hf_env.web.github_token}"


async def test_without_token_code_search_falls_back_to_repositories(hf_env):
    seed(hf_env.web)
    out = await FIND.handler(github.FindExamplesArgs(query="language models RL"), hf_env.ctx())
    assert out.startswith("(code search needs GITHUB_TOKEN")
    assert "huggingface/trl ★15,000 - Train transformer language models with RL." in out
    assert not hf_env.web.auth_headers()


async def test_list_repos_by_stars(hf_env):
    seed(hf_env.web)
    out = await LIST.handler(github.ListReposArgs(owner="huggingface", sort="stars"), hf_env.ctx())
    lines = out.splitlines()
    assert lines[1].startswith("huggingface/peft ★18,000") and lines[2].startswith("huggingface/trl ★15,000")
    with pytest.raises(ToolError, match="Not found on GitHub"):
        await LIST.handler(github.ListReposArgs(owner="nobody"), hf_env.ctx())


async def test_read_file_folder_notebook_and_url(hf_env):
    seed(hf_env.web)
    out = await READ.handler(github.ReadFileArgs(repo="huggingface/trl", path="examples/scripts/sft.py"), hf_env.ctx())
    assert out.startswith("from trl import SFTTrainer") and "call again with offset=20000" in out
    rest = await READ.handler(
        github.ReadFileArgs(repo="huggingface/trl", path="examples/scripts/sft.py", offset=20000), hf_env.ctx()
    )
    assert rest.startswith("[huggingface/trl/examples/scripts/sft.py, characters 20,000-")
    folder = await READ.handler(github.ReadFileArgs(repo="huggingface/trl", path="examples"), hf_env.ctx())
    assert "scripts/" in folder and "README.md  2.0 KB" in folder
    nb = await READ.handler(
        github.ReadFileArgs(repo="https://github.com/huggingface/trl/blob/main/nb/demo.ipynb"), hf_env.ctx()
    )
    assert "--- cell 1 (code) ---\nimport trl\nprint(trl.__version__)" in nb
    assert hf_env.web.seen("GET", r"/contents/nb/demo.ipynb$")[0].query == {"ref": ["main"]}


@pytest.mark.parametrize("status", [403, 429])
async def test_rate_limit_reports_the_reset_time(hf_env, status):
    hf_env.web.rate_limited, hf_env.web.rate_limit_status = True, status
    hf_env.web.rate_limit_reset = int(time.time()) + 600
    with pytest.raises(ToolError) as err:
        await LIST.handler(github.ListReposArgs(owner="huggingface"), hf_env.ctx())
    message = str(err.value)
    reset = time.strftime("%H:%M", time.gmtime(hf_env.web.rate_limit_reset))
    assert "GitHub rate limit reached (60 requests/hour)" in message and f"resets at {reset}" in message
    assert "Set GITHUB_TOKEN" in message


async def test_bad_github_token_is_named(hf_env, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_wrong")
    with pytest.raises(ToolError, match="GitHub rejected GITHUB_TOKEN"):
        await LIST.handler(github.ListReposArgs(owner="huggingface"), hf_env.ctx())


async def test_github_token_stays_on_the_github_api_host(hf_env, monkeypatch):
    """The GitHub token goes to the API origin only; the HF token never goes to GitHub (checked by hf_env too)."""
    monkeypatch.setenv("GITHUB_TOKEN", hf_env.web.github_token)
    seed(hf_env.web)
    await READ.handler(github.ReadFileArgs(repo="huggingface/trl", path="examples"), hf_env.ctx())
    assert hf_env.web.auth_headers() and all(
        h == f"Bearer {hf_env.web.github_token}" for h in hf_env.web.auth_headers()
    )
    assert hf_env.hub.token not in str([r.headers for r in hf_env.web.requests])
    assert not hf_env.hub.requests
