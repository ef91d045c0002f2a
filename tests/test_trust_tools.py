"""Tools under hostile input: special files, foreign encodings, model-chosen ids, huge outputs and arguments,
and Hub calls side by side with the endpoint unreachable."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from helpers import call, collect, open_agent, run_turn
from langchain_core.messages import ToolMessage

from configs.schema import AgentConfig
from tools.base import Risk, Tool, ToolContext, ToolError
from tools.registry import builtin_tools


def _echo() -> Tool:
    async def handler(args, ctx):
        return args["text"] * args.get("times", 1)

    return Tool(
        name="echo",
        description="echo",
        risk=Risk.READ_ONLY,
        handler=handler,
        parameters={"type": "object", "properties": {"text": {"type": "string"}, "times": {"type": "integer"}}},
    )


async def _run_tool(name: str, ctx: ToolContext, **args):
    tool = builtin_tools(ctx.settings).get(name)
    return await tool.handler(tool.args_model(**args), ctx)


def test_a_call_id_never_leads_a_spilled_output_out_of_its_folder_and_the_model_can_read_it_back(
    replay, workspace, tmp_path
):
    model = replay(
        [
            {"tool_calls": [call("echo", {"text": "NEEDLE line\n", "times": 400}, "../../../escaped")]},
            {"content": "done"},
        ]
    )
    _, messages, session = run_turn(model, workspace, tools=[_echo()], settings={"tool_output_cap": 1000})
    result = next(m for m in messages if isinstance(m, ToolMessage))
    outputs = session.dir / "outputs"
    spilled = list(outputs.iterdir())
    assert len(spilled) == 1 and spilled[0].read_text() == "NEEDLE line\n" * 400
    assert not any(p.name.startswith("escaped") for p in tmp_path.rglob("*") if outputs not in p.parents)
    assert str(spilled[0]) in result.content

    ctx = ToolContext(workspace=workspace, session_dir=session.dir, call_id="c", settings=AgentConfig())
    read = asyncio.run(_run_tool("read", ctx, path=str(spilled[0]), offset=399, limit=5))
    assert "NEEDLE line" in read.content and "400" in read.content
    found = asyncio.run(_run_tool("grep", ctx, pattern="NEEDLE", path=str(spilled[0]), max_results=3))
    assert "NEEDLE line" in found
    # nothing else of the session folder, and no writing into the outputs
    (session.dir / "notes.txt").write_text("private\n")
    for path in (str(session.dir / "notes.txt"), str(outputs / ".." / "notes.txt")):
        with pytest.raises(ToolError, match="outside the workspace"):
            asyncio.run(_run_tool("read", ctx, path=path))
    with pytest.raises(ToolError, match="outside the workspace"):
        asyncio.run(_run_tool("write", ctx, path=str(outputs / "new.txt"), content="x"))
