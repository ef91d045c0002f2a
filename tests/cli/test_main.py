"""Start-up stays light: the CLI entry imports neither litellm nor LangGraph until a turn needs them."""

from __future__ import annotations

import subprocess
import sys


def test_cli_entry_imports_nothing_heavy():
    code = (
        "import sys, cli.main; heavy = [m for m in ('litellm', 'langgraph', 'langchain_core', "
        "'huggingface_hub', 'httpx') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_help_lists_the_options(cli):
    result = cli("--help")
    assert result.returncode == 0
    for option in [
        "--model",
        "--max-iterations",
        "--no-stream",
        "--output-format",
        "--approval",
        "--yolo",
        "--workspace",
        "--resume",
        "--continue",
        "--config",
        "--approve",
        "--reject",
    ]:
        assert option in result.stdout
