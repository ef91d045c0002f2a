"""The doom-loop guard and context compaction."""

from __future__ import annotations

from helpers import call, collect, of_type, open_agent, run_turn
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from nodes.doom_loop import find_loop
from tools.base import Risk, Tool


def counter_tool(values: list[str]) -> Tool:
    """Returns the next value of `values` each call (the last one forever)."""
    state = {"i": 0}

    async def handler(args, ctx):
        value = values[min(state["i"], len(values) - 1)]
        state["i"] += 1
        return value

    return Tool(
        name="poll",
        description="poll",
        risk=Risk.READ_ONLY,
        handler=handler,
        parameters={"type": "object", "properties": {"job": {"type": "string"}}},
    )


def injected(messages, kind):
    return [m for m in messages if isinstance(m, HumanMessage) and m.additional_kwargs.get("ml_intern") == kind]


def test_find_loop_patterns():
    assert find_loop(["a", "a", "a"], 3, 5) == ("a",)
    assert find_loop(["a", "a"], 3, 5) is None
    assert find_loop(["x", "a", "b", "a", "b"], 3, 5) == ("a", "b")
    assert find_loop(["b", "a", "b", "a"], 3, 5) == ("a", "b")  # rotation-independent streak identity
    assert find_loop(["a", "b", "c", "a", "b", "c"], 3, 5) == ("a", "b", "c")
    assert find_loop(["a", "b", "c", "d"], 3, 5) is None


async def test_identical_calls_warn_once_and_then_stop(replay, workspace):
    turns = [{"tool_calls": [call("poll", {"job": "1"}, f"p{i}")]} for i in range(12)]
    events, messages, _ = await run_turn(replay(turns), workspace, [counter_tool(["running"])])
    warnings = injected(messages, "doom_loop")
    assert len(warnings) == 1 and "loop" in warnings[0].content
    assert len(of_type(events, "doom_loop")) == 1
    assert of_type(events, "turn_complete")[-1].status == "doom_loop"
    assert "kept repeating" in of_type(events, "error")[-1].message
    # calls of the step that was stopped got a result, so the history stays valid
    last_ai = [m for m in messages if isinstance(m, AIMessage)][-1]
    assert isinstance(messages[-1], ToolMessage) and messages[-1].tool_call_id == last_ai.tool_calls[0]["id"]
    # warned after the 3rd identical result, stopped after 5 more
    polls = [m for m in messages if isinstance(m, ToolMessage) and m.content == "running"]
    assert len(polls) == 3 + 5


async def test_polling_with_changing_results_is_not_a_loop(replay, workspace):
    turns = [{"tool_calls": [call("poll", {"job": "1"}, f"p{i}")]} for i in range(8)] + [{"content": "done"}]
    values = [f"step {i}/8" for i in range(8)]
    events, messages, _ = await run_turn(replay(turns), workspace, [counter_tool(values)])
    assert injected(messages, "doom_loop") == [] and of_type(events, "doom_loop") == []
    assert of_type(events, "turn_complete")[-1].status == "done"


async def test_a_cycle_of_two_calls_is_detected(replay, workspace):
    turns = []
    for i in range(3):
        turns.append({"tool_calls": [call("poll", {"job": "a"}, f"a{i}")]})
        turns.append({"tool_calls": [call("poll", {"job": "b"}, f"b{i}")]})
    turns.append({"content": "I changed approach"})
    events, _messages, _ = await run_turn(replay(turns), workspace, [counter_tool(["same"])])
    assert len(of_type(events, "doom_loop")) == 1 and "poll -> poll" in of_type(events, "doom_loop")[0].pattern
    assert of_type(events, "turn_complete")[-1].status == "done"


def big_tool() -> Tool:
    async def handler(args, ctx):
        return f"{args.get('tag', '')} " + "x" * 4000

    return Tool(
        name="big",
        description="big",
        risk=Risk.READ_ONLY,
        handler=handler,
        parameters={"type": "object", "properties": {"tag": {"type": "string"}}},
    )


COMPACT_SETTINGS = {"compaction": {"threshold_tokens": 6000, "keep_recent_tokens": 2500}}


async def test_compaction_summarises_keeps_pairs_and_history(replay, workspace):
    todos = [{"id": "1", "content": "explore data", "status": "in_progress"}]
    turns = [{"tool_calls": [call("plan_tool", {"todos": todos}, "plan")]}]
    turns += [{"tool_calls": [call("big", {"tag": f"t{i}"}, f"b{i}")]} for i in range(6)]
    # each big result is ~1,000 tokens: the 6th pushes the context over 6,000 and the next line summarises
    turns += [{"content": "SUMMARY: explored six big outputs"}, {"content": "finished"}]
    from tools.plan import tools as plan_tools

    events, messages, session = await run_turn(
        replay(turns), workspace, [big_tool(), *plan_tools(None)], prompt="analyse it", settings=COMPACT_SETTINGS
    )
    compacted = of_type(events, "compacted")
    assert len(compacted) == 1 and compacted[0].new_tokens < compacted[0].old_tokens
    assert messages[0].content == "analyse it"
    summary = injected(messages, "summary")
    assert len(summary) == 1 and "explored six big outputs" in summary[0].content
    assert "explore data" in summary[0].content  # the plan survives compaction
    # no orphan tool results, no call without its result
    call_ids = {c["id"] for m in messages if isinstance(m, AIMessage) for c in m.tool_calls}
    result_ids = [m.tool_call_id for m in messages if isinstance(m, ToolMessage)]
    assert set(result_ids) == call_ids
    assert of_type(events, "turn_complete")[-1].final_response == "finished"
    # the history before compaction stays retrievable from the checkpoints
    assert await _with_agent(replay([{}]), workspace, session.id, longest_history) > len(messages)


async def _with_agent(model, workspace, session_id, fn):
    async with open_agent(model, workspace) as agent:
        session = await agent.load_session(session_id)
        return await fn(session)


async def longest_history(session):
    sizes = []
    async for snap in session.graph.aget_state_history(session.config):
        sizes.append(len(snap.values.get("messages", [])))
    return max(sizes)


async def test_compaction_that_cannot_fit_fails_clearly_without_looping(replay, workspace):
    turns = [
        {"tool_calls": [call("big", {"tag": "a"}, "b1")], "usage": {"input_tokens": 900}},
        {"content": "summary"},
        {"content": "never reached"},
    ]
    events, _messages, _ = await run_turn(
        replay(turns),
        workspace,
        [big_tool()],
        settings={"compaction": {"threshold_tokens": 500, "keep_recent_tokens": 100000}},
    )
    assert of_type(events, "turn_complete")[-1].status == "error:compaction"
    assert "threshold" in of_type(events, "error")[-1].message


async def test_context_overflow_triggers_one_compaction_and_one_retry(replay, workspace):
    turns = [{"tool_calls": [call("big", {"tag": f"t{i}"}, f"b{i}")]} for i in range(4)]
    turns += [{"error": "context_overflow"}, {"content": "summary of work"}, {"content": "after retry"}]
    events, _messages, _ = await run_turn(
        replay(turns), workspace, [big_tool()], settings={"compaction": {"keep_recent_tokens": 1200}}
    )
    assert len(of_type(events, "compacted")) == 1
    assert of_type(events, "turn_complete")[-1].final_response == "after retry"

    turns = [{"tool_calls": [call("big", {"tag": f"t{i}"}, f"b{i}")]} for i in range(4)]
    turns += [{"error": "context_overflow"}, {"content": "summary"}, {"error": "context_overflow"}, {"content": "x"}]
    events, _, _ = await run_turn(
        replay(turns), workspace, [big_tool()], settings={"compaction": {"keep_recent_tokens": 1200}}
    )
    assert of_type(events, "turn_complete")[-1].status == "error:provider"
    assert len(of_type(events, "compacted")) == 1  # one compaction, one retry, then stop

    events, _, _ = await run_turn(replay([{"error": "context_overflow"}, {"content": "x"}]), workspace, [])
    assert of_type(events, "turn_complete")[-1].status == "error:compaction"
    assert "no older history" in of_type(events, "error")[-1].message


async def test_manual_compaction_works_below_the_threshold(replay, workspace):
    turns = [{"tool_calls": [call("big", {"tag": f"t{i}"}, f"b{i}")]} for i in range(4)]
    turns += [{"content": "first turn done"}, {"content": "MANUAL SUMMARY"}]

    async with open_agent(
        replay(turns),
        workspace,
        extra_tools=[big_tool()],
        builtin=False,
        settings={"compaction": {"keep_recent_tokens": 1200}},
    ) as agent:
        session = await agent.new_session()
        await collect(session.run("work"))
        before = await session.messages()
        events = await collect(session.compact())
        after = await session.messages()
    assert len(of_type(events, "compacted")) == 1
    assert len(after) < len(before)
    assert "MANUAL SUMMARY" in injected(after, "summary")[0].content
    assert after[0].content == "work"


def test_a_huge_single_message_is_truncated_in_place(replay, workspace):
    from langchain_core.messages import ToolMessage as TM

    from nodes.compaction import truncate_in_place

    message = TM(content="y" * 100_000, tool_call_id="x")
    short = truncate_in_place(message, 1000)
    assert len(short.content) < 5000 and "removed to fit" in short.content and short.tool_call_id == "x"


async def test_overflow_recovers_even_when_the_whole_history_is_recent(replay, workspace):
    # ~6k tokens of history: all of it inside keep_recent_tokens (20k), as on a small local model
    turns = [{"content": "first done"}]
    turns += [{"tool_calls": [call("big", {"tag": f"t{i}"}, f"b{i}")]} for i in range(6)]
    turns += [{"error": "context_overflow"}, {"content": "summary of the big outputs"}, {"content": "recovered"}]

    async with open_agent(replay(turns), workspace, extra_tools=[big_tool()], builtin=False) as agent:
        session = await agent.new_session()
        await collect(session.run("first task"))
        events = await collect(session.run("second task: look at the big outputs"))
        messages = await session.messages()
    assert len(of_type(events, "compacted")) == 1
    assert of_type(events, "turn_complete")[-1].final_response == "recovered"
    assert messages[0].content == "first task"
    # the request being worked on was summarised away, but survives word for word in the summary
    assert "second task: look at the big outputs" in injected(messages, "summary")[0].content


async def test_repeated_denied_calls_are_a_loop_too(replay, workspace):
    turns = [{"tool_calls": [call("poll", {"job": "1"}, f"p{i}")]} for i in range(12)]
    events, _, _ = await run_turn(
        replay(turns), workspace, [counter_tool(["x"])], settings={"approval": {"rules": {"poll": "deny"}}}
    )
    assert len(of_type(events, "doom_loop")) == 1
    assert of_type(events, "turn_complete")[-1].status == "doom_loop"


async def test_the_same_loop_after_a_break_is_warned_again(replay, workspace):
    turns = [{"tool_calls": [call("poll", {"job": "a"}, f"a{i}")]} for i in range(3)]
    turns += [{"tool_calls": [call("poll", {"job": "b"}, "b0")]}]
    turns += [{"tool_calls": [call("poll", {"job": "a"}, f"c{i}")]} for i in range(4)]  # the 4th call sees 3 again
    turns += [{"content": "done"}]
    events, messages, _ = await run_turn(replay(turns), workspace, [counter_tool(["same"])])
    assert len(of_type(events, "doom_loop")) == 2 and len(injected(messages, "doom_loop")) == 2


def test_split_point_never_starts_the_tail_on_a_tool_result():
    from langchain_core.messages import AIMessage as AI
    from langchain_core.messages import HumanMessage as H
    from langchain_core.messages import ToolMessage as TM

    from nodes.compaction import split_point

    calls = [{"name": "big", "args": {}, "id": f"c{i}"} for i in range(3)]
    messages = [H(content="go"), AI(content="", tool_calls=calls)]
    messages += [TM(content="x" * 4000, tool_call_id=f"c{i}") for i in range(3)]
    messages += [AI(content="done")]
    for keep in (1, 500, 1500, 2500):
        cut = split_point(messages, keep)
        assert not isinstance(messages[cut], TM)
