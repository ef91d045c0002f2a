"""glob and grep: .gitignore respected (git repo and plain folder), ripgrep and the Python
fallback agree, results capped with a note, paths confined to the workspace."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from configs.schema import AgentConfig
from tools import search
from tools.base import ToolContext, ToolError

HAVE_RG = shutil.which("rg") is not None


@pytest.fixture(params=["ripgrep", "python"])
def engine(request, monkeypatch):
    """Run with ripgrep (when installed) and with the git / directory-walk / Python fallbacks."""
    if request.param == "ripgrep" and not HAVE_RG:
        pytest.skip("ripgrep not installed")
    if request.param == "python":
        monkeypatch.setattr(search, "_ripgrep", lambda: None)
    return request.param


def _tree(ws: Path) -> None:
    files = {
        ".gitignore": "build/\n*.log\n/secret.txt\n",
        "train.py": "import torch\nLEARNING_RATE = 3e-4\n",
        "src/model.py": "class Model:\n    learning_rate = 0.1\n",
        "src/data/loader.py": "def load():\n    return []\n",
        "src/data/.gitignore": "cache.py\n",
        "src/data/cache.py": "learning_rate = 'ignored by nested gitignore'\n",
        "configs/base.yaml": "learning_rate: 0.001\n",
        "build/out.py": "learning_rate = 'ignored'\n",
        "run.log": "learning_rate=1\n",
        "secret.txt": "learning_rate\n",
        "docs/secret.txt": "learning_rate in docs\n",
        ".venv/lib/site.py": "learning_rate = 'venv'\n",
        "node_modules/x/index.py": "learning_rate = 'node'\n",
        ".github/workflows/ci.yaml": "name: ci\n",
    }
    for rel, text in files.items():
        path = ws / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (ws / "weights.bin").write_bytes(b"\x00learning_rate\x00")


@pytest.fixture(params=["git", "plain"])
def ctx(request, tool_ctx) -> ToolContext:
    ctx = tool_ctx()
    ws = ctx.workspace
    _tree(ws)
    if request.param == "git":
        subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
        subprocess.run(["git", "add", "train.py", "src/model.py"], cwd=ws, check=True)  # the rest is untracked
    return ctx


async def call(ctx: ToolContext, name: str, **args) -> str:
    tool = {t.name: t for t in search.tools(ctx.settings)}[name]
    return await tool.handler(tool.args_model(**args), ctx)


VISIBLE_PY = ["src/data/loader.py", "src/model.py", "train.py"]


async def test_glob_skips_ignored_files(ctx, engine):
    out = await call(ctx, "glob", pattern="**/*.py")
    assert sorted(out.splitlines()) == VISIBLE_PY
    assert sorted((await call(ctx, "glob", pattern="*.py")).splitlines()) == VISIBLE_PY  # any depth
    assert (await call(ctx, "glob", pattern="*.py", path="src/data")).splitlines() == ["src/data/loader.py"]
    yaml = sorted((await call(ctx, "glob", pattern="*.{yaml,yml}")).splitlines())
    assert yaml == [".github/workflows/ci.yaml", "configs/base.yaml"]  # hidden but not ignored: listed
    assert (await call(ctx, "glob", pattern="docs/*.txt")).splitlines() == ["docs/secret.txt"]
    assert "No files match" in await call(ctx, "glob", pattern="**/*.rs")


async def test_glob_lists_newest_first(ctx, engine):
    import os

    os.utime(ctx.workspace / "src/model.py", (1, 2_000_000_000))
    assert (await call(ctx, "glob", pattern="**/*.py")).splitlines()[0] == "src/model.py"


async def test_grep_finds_matches_outside_ignored_files(ctx, engine):
    out = await call(ctx, "grep", pattern="learning_rate", ignore_case=True)
    assert sorted(out.splitlines()) == [
        "configs/base.yaml:1:learning_rate: 0.001",
        "docs/secret.txt:1:learning_rate in docs",
        "src/model.py:2:    learning_rate = 0.1",
        "train.py:2:LEARNING_RATE = 3e-4",
    ]
    case_sensitive = await call(ctx, "grep", pattern="LEARNING_RATE")
    assert case_sensitive.splitlines() == ["train.py:2:LEARNING_RATE = 3e-4"]


async def test_grep_never_reads_through_a_link_that_leads_out(ctx, engine, tmp_path):
    (tmp_path / "token").write_text("hf_SECRET_TOKEN_VALUE\n")
    (ctx.workspace / "link.txt").symlink_to(tmp_path / "token")
    assert "TOKEN_VALUE" not in await call(ctx, "grep", pattern="SECRET")


async def test_grep_filters_by_path_and_glob(ctx, engine):
    assert (await call(ctx, "grep", pattern=r"learning_rate\s*=", glob="*.py")).splitlines() == [
        "src/model.py:2:    learning_rate = 0.1"
    ]
    assert (await call(ctx, "grep", pattern="def \\w+", path="src")).splitlines() == [
        "src/data/loader.py:1:def load():"
    ]
    assert (await call(ctx, "grep", pattern="import", path="train.py")).splitlines() == ["train.py:1:import torch"]
    assert "No matches" in await call(ctx, "grep", pattern="nothing_like_this")


async def test_grep_caps_results_with_a_note(ctx, engine):
    (ctx.workspace / "many.txt").write_text("hit\n" * 50)
    out = (await call(ctx, "grep", pattern="^hit$", max_results=10)).splitlines()
    assert out[:10] == [f"many.txt:{i}:hit" for i in range(1, 11)]
    assert out[10].startswith("(results capped at 10 lines")
    assert len(out) == 11


async def test_grep_reports_a_bad_regex(ctx, engine):
    with pytest.raises(ToolError, match=r"(?i)regex|regular expression|unclosed|parse"):
        await call(ctx, "grep", pattern="(unclosed")


async def test_search_paths_are_confined(ctx, tmp_path, engine):
    (tmp_path / "outside.txt").write_text("learning_rate\n")
    for name, args in [("grep", {"pattern": "x", "path": ".."}), ("glob", {"pattern": "*", "path": "/etc"})]:
        with pytest.raises(ToolError, match="outside the workspace"):
            await call(ctx, name, **args)


def test_glob_patterns():
    assert search.glob_matches("**/*.py", "a/b/c.py") and search.glob_matches("**/*.py", "c.py")
    assert search.glob_matches("src/*.py", "src/a.py") and not search.glob_matches("src/*.py", "src/x/a.py")
    assert search.glob_matches("src/**", "src/x/y.txt")
    assert search.glob_matches("test_?.py", "tests/test_1.py")
    assert not search.glob_matches("*.py", "a.pyc")


def test_tools_are_read_only():
    assert {t.name: t.risk.value for t in search.tools(AgentConfig())} == {"glob": "read_only", "grep": "read_only"}
