"""The HF/GitHub/web tools are registered, their schemas are valid, and importing them stays cheap."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import ROOT

from configs.schema import AgentConfig
from tools.registry import BUILTIN_TOOL_MODULES, builtin_tools

HF_MODULES = [m for m in BUILTIN_TOOL_MODULES if m.startswith(("tools.hub.", "tools.web."))]
EXPECTED = {
    "hf_repo_files",
    "hf_repo_git",
    "hf_inspect_dataset",
    "hf_papers",
    "explore_hf_docs",
    "fetch_hf_docs",
    "hf_jobs",
    "github_find_examples",
    "github_list_repos",
    "github_read_file",
    "web_search",
}


def test_all_tools_are_registered_with_model_ready_schemas():
    registry = builtin_tools(AgentConfig(), modules=HF_MODULES)
    assert set(registry.names) == EXPECTED
    for schema in registry.schemas():
        function = schema["function"]
        assert function["description"] and len(function["description"]) < 800
        params = function["parameters"]
        assert params["type"] == "object" and params["properties"]
        json.dumps(schema)  # serializable for any provider


def test_importing_the_tool_modules_does_not_load_heavy_clients():
    code = (
        "import sys; import " + ", ".join(HF_MODULES) + "; "
        "heavy = [m for m in ('huggingface_hub', 'httpx', 'httpx2') if m in sys.modules]; print(heavy)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
