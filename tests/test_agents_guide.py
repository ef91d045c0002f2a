"""The worked examples in AGENTS.md run: the example tool module with its test, and the MCP server test."""

from __future__ import annotations

import re
import sys
import types

from helpers import ROOT


def example(path: str) -> types.ModuleType:
    """The ```python block of AGENTS.md that starts with `# <path>`, loaded as if it were that file."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "AGENTS.md").read_text(), re.S)
    code = next(block for block in blocks if block.startswith(f"# {path}\n"))
    module = types.ModuleType(path.removesuffix(".py").replace("/", "."))
    module.__file__ = str(ROOT / path)
    exec(compile(code, f"AGENTS.md ({path})", "exec"), module.__dict__)
    return module


async def test_the_example_tool_and_its_test(replay, workspace, monkeypatch):
    monkeypatch.setitem(sys.modules, "tools.word_count", example("tools/word_count.py"))
    test = example("tests/tools/test_word_count.py")
    await test.test_word_count_answers_the_model_and_stays_in_the_workspace(replay, workspace)


def test_the_mcp_server_example(cli, replay, tmp_path):
    test = example("tests/e2e/test_mcp_notes.py")
    test.test_a_note_is_kept_without_asking_when_a_rule_allows_it(cli, replay, tmp_path)
