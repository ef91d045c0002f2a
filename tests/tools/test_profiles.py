"""Tool profiles: a small window gets the core tools with short descriptions; the rest on request."""

from __future__ import annotations

import pytest

from configs.schema import AgentConfig
from models.tokens import estimate_schemas
from tools.profiles import CORE_TOOLS, UnknownTools, apply, choose
from tools.registry import builtin_tools


@pytest.fixture(scope="module")
def registry():
    return builtin_tools(AgentConfig())


def test_auto_is_core_under_16k_and_full_otherwise(registry):
    small = choose("auto", 8192, registry.names)
    assert small.name == "core" and small.tools == CORE_TOOLS
    assert choose("auto", 32768, registry.names).name == "full"
    assert choose("auto", None, registry.names).name == "full"  # unknown window: hosted models are large
    assert "8192-token window" in small.describe(8192) and "--tools full" in small.describe(8192)


def test_core_takes_a_quarter_of_the_tokens_and_keeps_the_argument_names(registry):
    core = apply(registry, choose("core", None, registry.names))
    full_cost, core_cost = estimate_schemas(registry.schemas()), estimate_schemas(core.schemas())
    assert core.names == list(CORE_TOOLS) and core_cost * 3 < full_cost
    bash = next(s for s in core.schemas() if s["function"]["name"] == "bash")["function"]
    assert bash["description"].count(".") <= 2 and "command" in bash["parameters"]["properties"]
    full_bash = next(s for s in registry.schemas() if s["function"]["name"] == "bash")["function"]
    assert bash["parameters"]["required"] == full_bash["parameters"]["required"]


def test_short_descriptions_end_at_a_sentence_not_at_an_abbreviation(registry):
    """A description cut at "e.g." told a small model that glob finds files "by name pattern (e.g."."""
    core = {
        s["function"]["name"]: s["function"] for s in apply(registry, choose("core", None, registry.names)).schemas()
    }
    texts = [
        core["glob"]["description"],
        core["plan_tool"]["parameters"]["$defs"]["Todo"]["properties"]["id"]["description"],
    ]
    texts += [
        p["description"]
        for f in core.values()
        for p in f["parameters"].get("properties", {}).values()
        if "description" in p
    ]
    for text in texts:
        assert not text.endswith(("e.g.", "i.e.")) and text.count("(") == text.count(")"), text
    assert core["glob"]["description"].startswith("Find files by name pattern (e.g.")


def test_named_tools_join_the_core_and_unknown_names_are_one_line(registry):
    profile = choose("core,hf_papers", 8192, registry.names)
    offered = apply(registry, profile)
    assert offered.names == [*CORE_TOOLS, "hf_papers"]
    papers = offered.get("hf_papers")
    assert papers is not None and papers.description == registry.get("hf_papers").description  # asked for: whole
    assert choose("bash,read", None, registry.names).tools == ("bash", "read")
    with pytest.raises(UnknownTools, match="no_such_tool"):
        choose("core,no_such_tool", None, registry.names)


def test_the_cli_says_which_profile_is_on(cli, replay):
    # sync: the real binary
    model = replay([{"content": "ok"}])
    result = cli("-m", model, "--tools", "core", "hi")
    assert result.returncode == 0 and "tool profile core" in result.stderr
    bad = cli("-m", model, "--tools", "core,nope", "hi")
    assert bad.returncode == 2 and "unknown tool(s) nope" in bad.stderr and "Traceback" not in bad.stderr


def test_a_small_local_window_turns_the_core_profile_on(cli, monkeypatch):
    # sync: the real binary against a fake vLLM whose model runs with an 8k window
    from fakes.openai_server import FakeOpenAI, reply

    with FakeOpenAI([reply("ok")], models=["qwen"], model_fields={"max_model_len": 8192}) as server:
        monkeypatch.setenv("VLLM_BASE_URL", server.base_url)
        result = cli("-m", "vllm/qwen", "hi")
    assert result.returncode == 0, result.stderr
    assert "tool profile core for a 8192-token window" in result.stderr
    offered = [t["function"]["name"] for t in server.requests[-1]["body"]["tools"]]
    assert offered[: len(CORE_TOOLS)] == list(CORE_TOOLS) and set(offered) - set(CORE_TOOLS) <= {"research"}
