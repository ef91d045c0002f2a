"""A step visits only the nodes with work on it: a plain step is llm_call -> execute_tools, and doom_loop_check,
approval and compaction still run, with their whole behaviour, whenever the state gives them something to do."""

from __future__ import annotations

from typing import Any

from helpers import call, collect, of_type, open_agent

from tools.base import Assessment, Risk, Tool


def counter(results: list[str] | None = None) -> Tool:
    """`poll`: answers each call with the next of `results` (the last one again when they run out)."""
    seen: list[str] = []

    async def handler(args: dict[str, Any], ctx) -> str:
        seen.append(args.get("q", ""))
        answers = results or [f"answer {len(seen)}"]
        return answers[min(len(seen), len(answers)) - 1]

    return Tool(
        name="poll",
        description="p",
        risk=Risk.READ_ONLY,
        handler=handler,
        parameters={"type": "object", "properties": {"q": {"type": "string"}}},
    )


async def turn_path(model: str, workspace, tools, **kw) -> tuple[list[str], list]:
    """The nodes one turn visited, in order, and its events (read back from the checkpoints it wrote)."""
    async with open_agent(model, workspace, extra_tools=tools, builtin=False, **kw) as agent:
        session = await agent.new_session()
        events = await collect(session.run("go"))
        history = [s async for s in session.graph.aget_state_history(session.config)]
    path = [node for snapshot in reversed(history) if snapshot.metadata["source"] == "loop" for node in snapshot.next]
    return path, events


async def test_a_plain_step_is_the_model_then_the_tools(replay, workspace):
    model = replay(
        [
            {"tool_calls": [call("poll", {"q": "a"}, "p1")]},
            {"tool_calls": [call("poll", {"q": "b"}, "p2"), call("poll", {"q": "c"}, "p3")]},
            {"content": "done"},
        ]
    )
    path, events = await turn_path(model, workspace, [counter()])
    assert path == ["llm_call", "execute_tools", "llm_call", "execute_tools", "llm_call"]
    assert [e.content for e in of_type(events, "tool_output")] == ["answer 1", "answer 2", "answer 3"]


async def test_approval_runs_for_the_step_whose_call_the_rules_refuse(replay, workspace):
    model = replay(
        [
            {"tool_calls": [call("poll", {"q": "a"}, "p1")]},
            {"tool_calls": [call("poll", {"q": "b"}, "p2"), call("banned", {}, "b1")]},
            {"content": "done"},
        ]
    )
    banned = Tool(name="banned", description="b", risk=Risk.READ_ONLY, handler=lambda a, c: "ran")
    path, events = await turn_path(
        model, workspace, [counter(), banned], settings={"approval": {"rules": {"banned": "deny"}}}
    )
    assert path == ["llm_call", "execute_tools", "llm_call", "approval", "execute_tools", "llm_call"]
    outputs = {e.tool_call_id: e.content for e in of_type(events, "tool_output")}
    assert outputs["p2"] == "answer 2" and outputs["b1"] == "Not run: the approval rules deny 'banned'."


async def test_the_doom_loop_check_runs_from_the_step_after_a_loop_appears_until_it_is_broken(replay, workspace):
    same = [{"tool_calls": [call("poll", {"q": "x"}, f"s{i}")]} for i in range(3)]
    other = [{"tool_calls": [call("poll", {"q": q}, q)]} for q in ("y", "z")]
    model = replay([*same, *other, {"content": "done"}])
    path, events = await turn_path(model, workspace, [counter(["same"])])
    # the third identical result makes a loop: the next step is checked (and warned about); the step after
    # is checked too (the streak warned about is followed until the check sees it broken)
    assert path == [
        *["llm_call", "execute_tools"] * 3,
        *["llm_call", "doom_loop_check", "execute_tools"] * 2,
        "llm_call",
    ]
    assert len(of_type(events, "doom_loop")) == 1


async def test_compaction_runs_only_after_the_step_that_crosses_the_threshold(replay, workspace):
    big = "word " * 800  # ~1,000 tokens per result
    model = replay(
        [
            {"tool_calls": [call("poll", {"q": "a"}, "p1")]},
            {"tool_calls": [call("poll", {"q": "b"}, "p2")]},
            {"content": "summary of the work so far"},  # the compaction's summary call
            {"content": "done"},
        ]
    )
    settings = {"compaction": {"threshold_tokens": 1800, "keep_recent_tokens": 1200}}
    path, events = await turn_path(model, workspace, [counter([big])], settings=settings)
    assert path == ["llm_call", "execute_tools", "llm_call", "execute_tools", "compaction", "llm_call"]
    assert len(of_type(events, "compacted")) == 1


async def test_an_allowed_call_on_paid_hardware_still_goes_through_approval_which_reserves_its_cost(replay, workspace):
    paid = Tool(
        name="gpu_job",
        description="g",
        risk=Risk.REMOTE_COMPUTE,
        handler=lambda a, c: "started",
        assess=lambda args: Assessment(Risk.REMOTE_COMPUTE, details={"estimated_max_cost_usd": 2.5}),
    )
    model = replay([{"tool_calls": [call("gpu_job", {}, "g1")]}, {"content": "done"}])
    settings = {"approval": {"rules": {"gpu_job": "allow"}}}
    async with open_agent(model, workspace, extra_tools=[paid], builtin=False, settings=settings) as agent:
        session = await agent.new_session()
        await collect(session.run("go"))
        history = [s async for s in session.graph.aget_state_history(session.config)]
        usage = (await session.state()).values["usage"]
    path = [node for snapshot in reversed(history) if snapshot.metadata["source"] == "loop" for node in snapshot.next]
    assert path == ["llm_call", "approval", "execute_tools", "llm_call"]
    assert usage["jobs_usd"] == 2.5  # held to the budget at its most, as approval does
