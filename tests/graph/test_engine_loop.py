"""The agent loop: graph shape, tool execution, approvals, malformed calls, iteration cap, retries."""

from __future__ import annotations

import asyncio

from helpers import call, collect, of_type, open_agent, run_turn
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from pydantic import BaseModel

from tools.base import Assessment, Risk, Tool, ToolError


class SleepArgs(BaseModel):
    seconds: float = 0.0
    label: str = ""


def sleeper(log: list, risk: Risk = Risk.READ_ONLY, name: str = "sleep", timeout: float | None = None) -> Tool:
    async def handler(args: SleepArgs, ctx):
        log.append(("start", args.label))
        await asyncio.sleep(args.seconds)
        log.append(("end", args.label))
        return f"slept {args.label}"

    return Tool(name=name, description="sleep", risk=risk, handler=handler, args_model=SleepArgs, timeout=timeout)


def crasher() -> Tool:
    async def handler(args, ctx):
        if args.get("soft"):
            raise ToolError("the file is locked; try again later")
        raise RuntimeError("boom")

    return Tool(
        name="crash",
        description="crash",
        risk=Risk.READ_ONLY,
        handler=handler,
        parameters={"type": "object", "properties": {"soft": {"type": "boolean"}}},
    )


def echo(size: int = 0) -> Tool:
    async def handler(args, ctx):
        return args.get("text", "") * max(1, size)

    return Tool(
        name="echo",
        description="echo",
        risk=Risk.READ_ONLY,
        handler=handler,
        parameters={"type": "object", "properties": {"text": {"type": "string"}}},
    )


def note_tool(ran: list) -> Tool:
    async def handler(args, ctx):
        ran.append(args)
        return "ran"

    return Tool(
        name="note",
        description="n",
        risk=Risk.READ_ONLY,
        handler=handler,
        parameters={"type": "object", "properties": {"text": {"type": "string"}}},
    )


async def test_graph_draws_its_true_edges(replay, workspace):
    """Every edge a step can take is drawn, and only those: the nodes a plain step routes past stay reachable."""
    async with open_agent(replay([{}]), workspace) as agent:
        mermaid = agent.graph.get_graph().draw_mermaid()
    drawn = {line.strip().rstrip(";") for line in mermaid.splitlines() if "-->" in line or "-.->" in line}
    assert drawn == {
        "__start__ -.-> llm_call",
        "__start__ -.-> compaction",  # /compact
        "llm_call -.-> doom_loop_check",
        "llm_call -.-> approval",
        "llm_call -.-> execute_tools",  # a plain step
        "llm_call -.-> compaction",  # context overflow
        "llm_call -.-> llm_call",  # plan nudge
        "llm_call -.-> __end__",
        "doom_loop_check -.-> approval",
        "doom_loop_check -.-> execute_tools",
        "doom_loop_check -.-> __end__",
        "approval --> execute_tools",
        "execute_tools -.-> compaction",
        "execute_tools -.-> llm_call",
        "compaction -.-> llm_call",
        "compaction -.-> __end__",
    }


async def test_parallel_calls_run_concurrently_and_failures_become_results(replay, workspace):
    log: list = []
    model = replay(
        [
            {
                "tool_calls": [
                    call("sleep", {"seconds": 0.3, "label": "a"}, "a"),
                    call("sleep", {"seconds": 0.3, "label": "b"}, "b"),
                    call("crash", {}, "c"),
                    call("crash", {"soft": True}, "d"),
                ]
            },
            {"content": "finished"},
        ]
    )

    async with open_agent(model, workspace, extra_tools=[sleeper(log), crasher()], builtin=False) as agent:
        session = await agent.new_session()
        events = await collect(session.run("go"))
        messages = await session.messages()
    # both sleeps started before either ended
    assert log.index(("start", "b")) < log.index(("end", "a"))
    results = {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}
    assert results["c"].status == "error" and "boom" in results["c"].content
    assert results["d"].content == "the file is locked; try again later"
    assert results["a"].content == "slept a"
    assert of_type(events, "turn_complete")[-1].status == "done"


async def test_timeout_and_output_cap(replay, workspace):
    model = replay(
        [
            {"tool_calls": [call("slow", {"seconds": 5}, "t1"), call("echo", {"text": "0123456789"}, "e1")]},
            {"content": "ok"},
        ]
    )

    tools = [sleeper([], name="slow", timeout=0.2), echo(size=3000)]
    async with open_agent(
        model, workspace, extra_tools=tools, builtin=False, settings={"tool_output_cap": 1000}
    ) as agent:
        session = await agent.new_session()
        await collect(session.run("go"))
        messages = await session.messages()
    results = {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}
    assert "Timed out" in results["t1"].content and results["t1"].status == "error"
    capped = results["e1"].content
    assert len(capped) < 1500 and "characters omitted" in capped
    spill = session.dir / "outputs" / "e1.txt"
    assert str(spill) in capped and spill.read_text() == "0123456789" * 3000


async def test_malformed_arguments_are_reported_with_a_stronger_hint_the_second_time(replay, workspace):
    ran: list = []
    tool = note_tool(ran)
    model = replay(
        [
            {"tool_calls": [call("note", {}, "m1")], "raw_arguments": {"m1": '{"text": "unterminated'}},
            {"tool_calls": [call("note", {}, "m2")], "raw_arguments": {"m2": "{text: no quotes}"}},
            {"tool_calls": [call("note", {"text": "fine"}, "m3")]},
            {"content": "done"},
        ]
    )

    _, messages, _ = await run_turn(model, workspace, [tool])
    results = {m.tool_call_id: m.content for m in messages if isinstance(m, ToolMessage)}
    assert "not valid JSON" in results["m1"] and "second malformed" not in results["m1"]
    assert "second malformed call" in results["m2"]
    assert results["m3"] == "ran" and ran == [{"text": "fine"}]


async def test_invalid_arguments_are_explained_to_the_model(replay, workspace):
    model = replay([{"tool_calls": [call("sleep", {"seconds": "soon"}, "v1")]}, {"content": "ok"}])

    _, messages, _ = await run_turn(model, workspace, [sleeper([])])
    result = next(m for m in messages if isinstance(m, ToolMessage))
    assert "Invalid arguments" in result.content and "seconds" in result.content


async def test_approval_is_one_batched_interrupt_with_per_call_decisions(replay, workspace):
    log: list = []
    risky = sleeper(log, risk=Risk.EXEC, name="risky")
    safe = sleeper(log, name="safe")
    model = replay(
        [
            {
                "tool_calls": [
                    call("risky", {"label": "r1"}, "r1"),
                    call("risky", {"label": "r2"}, "r2"),
                    call("risky", {"label": "r3"}, "r3"),
                    call("safe", {"label": "s"}, "s"),
                ]
            },
            {"content": "thanks"},
        ]
    )

    async with open_agent(model, workspace, approval_mode="ask", extra_tools=[risky, safe], builtin=False) as agent:
        session = await agent.new_session()
        first = await collect(session.run("go"))
        ran_while_waiting = list(log)
        decisions = {
            "r1": {"action": "approve"},
            "r2": {"action": "reject", "feedback": "use a smaller batch"},
            "r3": {"action": "edit", "args": {"label": "edited"}},
        }
        second = await collect(session.run(None, decisions=decisions))
        messages = await session.messages()
    pending = of_type(first, "approval_required")
    assert len(pending) == 1 and [c["id"] for c in pending[0].calls] == ["r1", "r2", "r3"]
    assert pending[0].calls[0]["risk"] == "exec"
    assert of_type(first, "turn_complete")[-1].status == "approval_pending"
    assert ran_while_waiting == []  # nothing ran while waiting, not even the safe call
    results = {m.tool_call_id: m.content for m in messages if isinstance(m, ToolMessage)}
    assert results["r1"] == "slept r1"
    assert "rejected" in results["r2"] and "use a smaller batch" in results["r2"]
    assert results["r3"].endswith("slept edited") and "the user edited" in results["r3"]
    assert results["s"] == "slept s"
    assert of_type(second, "turn_complete")[-1].status == "done"


def test_policy_rules_and_yolo_limits(replay, workspace):
    from configs.schema import AgentConfig
    from nodes.approval import decide
    from nodes.context import AgentDeps
    from tools.registry import ToolRegistry

    def scheduled(args):
        return Assessment(Risk.REMOTE_COMPUTE, always_ask=bool(args.get("schedule")))

    jobs = Tool(name="jobs", description="", risk=Risk.REMOTE_COMPUTE, handler=None, assess=scheduled)
    rm = Tool(name="rm", description="", risk=Risk.DESTRUCTIVE, handler=None)
    reader = Tool(name="reader", description="", risk=Risk.READ_ONLY, handler=None)
    deps = AgentDeps(settings=AgentConfig(), model_id="x", tools=ToolRegistry(), workspace=workspace)
    deps.approval_mode = "yolo"
    assert decide(jobs, "jobs", {}, deps) == "allow"
    assert decide(jobs, "jobs", {"schedule": "@daily"}, deps) == "ask"
    assert decide(rm, "rm", {}, deps) == "ask"
    deps.settings.approval.rules = {"rm": "allow", "hf_*": "deny"}
    assert decide(rm, "rm", {}, deps) == "allow"
    assert decide(reader, "hf_repo_files", {}, deps) == "deny"
    deps.approval_mode = "ask"
    deps.settings.approval.rules = {}
    assert decide(reader, "reader", {}, deps) == "allow"
    assert decide(jobs, "jobs", {}, deps) == "ask"


async def test_denied_call_is_answered_without_running(replay, workspace):
    log: list = []
    model = replay([{"tool_calls": [call("sleep", {"label": "x"}, "x")]}, {"content": "ok"}])

    async with open_agent(
        model,
        workspace,
        extra_tools=[sleeper(log)],
        builtin=False,
        settings={"approval": {"rules": {"sleep": "deny"}}},
    ) as agent:
        session = await agent.new_session()
        await collect(session.run("go"))
        messages = await session.messages()
    assert log == []
    assert "deny" in next(m for m in messages if isinstance(m, ToolMessage)).content


async def test_iteration_cap_stops_the_turn_and_says_so(replay, workspace):
    model = replay([{"tool_calls": [call("echo", {"text": str(i)}, f"c{i}")]} for i in range(5)])

    async with open_agent(
        model, workspace, extra_tools=[echo()], builtin=False, settings={"max_iterations": 3}
    ) as agent:
        session = await agent.new_session()
        events, messages = await collect(session.run("go")), await session.messages()
    assert of_type(events, "turn_complete")[-1].status == "max_iterations"
    assert "iteration limit" in of_type(events, "error")[0].message
    assert sum(isinstance(m, AIMessage) for m in messages) == 3
    assert isinstance(messages[-1], ToolMessage)  # every call kept its result


async def test_transient_errors_are_retried_and_auth_errors_stop(replay, workspace):
    model = replay([{"error": "rate_limit"}, {"error": "server_error"}, {"content": "recovered"}, {"error": "auth"}])

    async with open_agent(
        model, workspace, builtin=False, settings={"retries": {"base_delay_s": 0.0, "max_delay_s": 0.0}}
    ) as agent:
        session = await agent.new_session()
        first = await collect(session.run("one"))
        second = await collect(session.run("two"))
    retries = [e.line for e in of_type(first, "tool_log") if "retry" in e.line]
    assert len(retries) == 2 and "rate_limit" in retries[0]
    assert of_type(first, "turn_complete")[-1].final_response == "recovered"
    assert of_type(second, "turn_complete")[-1].status == "error:auth"
    error = of_type(second, "error")[0]
    assert error.kind == "auth" and error.message == "model call failed: invalid API key (replayed)"


async def test_plan_continuation_guard_reprompts_at_most_twice(replay, workspace):
    todos = [{"id": "1", "content": "a", "status": "completed"}, {"id": "2", "content": "b", "status": "pending"}]
    model = replay(
        [
            {"tool_calls": [call("plan_tool", {"todos": todos}, "p1")]},
            {"content": "I stop here."},
            {"content": "Still stopping."},
            {"content": "Really done."},
        ]
    )

    async with open_agent(model, workspace) as agent:
        session = await agent.new_session()
        events = await collect(session.run("go"))
        messages = await session.messages()
    nudges = [m for m in messages if isinstance(m, HumanMessage) and m.additional_kwargs.get("ml_intern")]
    assert len(nudges) == 2 and "2. b" in nudges[0].content
    assert of_type(events, "plan_update")[0].todos == todos
    assert of_type(events, "turn_complete")[-1].final_response == "Really done."


async def test_events_cover_a_turn(replay, workspace):
    model = replay(
        [{"content": "looking", "tool_calls": [call("echo", {"text": "hi"}, "e")]}, {"content": "the answer"}]
    )

    async with open_agent(model, workspace, extra_tools=[echo()], builtin=False) as agent:
        session = await agent.new_session()
        kinds = [e.type for e in await collect(session.run("go"))]
    for kind in [
        "processing",
        "assistant_chunk",
        "assistant_stream_end",
        "assistant_message",
        "tool_call",
        "tool_state_change",
        "tool_output",
        "turn_complete",
    ]:
        assert kind in kinds
    assert kinds[-2:] == ["turn_complete", "ready"]


async def test_calls_sharing_an_id_get_their_own_and_are_approved_separately(replay, workspace):
    log: list = []
    model = replay(
        [
            {"tool_calls": [call("risky", {"label": "bad"}, "same"), call("risky", {"label": "good"}, "same")]},
            {"content": "ok"},
        ]
    )

    async with open_agent(
        model,
        workspace,
        approval_mode="ask",
        extra_tools=[sleeper(log, risk=Risk.EXEC, name="risky")],
        builtin=False,
    ) as agent:
        session = await agent.new_session()
        first = await collect(session.run("go"))
        calls = of_type(first, "approval_required")[0].calls
        good = next(c["id"] for c in calls if c["args"]["label"] == "good")
        await collect(session.run(None, decisions={good: {"action": "approve"}}))
    assert len({c["id"] for c in calls}) == 2
    assert log == [("start", "good"), ("end", "good")]  # the call the user did not approve never ran


async def test_a_retry_after_longer_than_allowed_stops_instead_of_sleeping(replay, workspace):
    model = replay([{"error": "rate_limit", "retry_after_s": 3600}, {"content": "never"}])

    async with open_agent(model, workspace, builtin=False, settings={"retries": {"max_delay_s": 5}}) as agent:
        session = await agent.new_session()
        events = await collect(session.run("go"))
    assert of_type(events, "turn_complete")[-1].status == "error:provider"
    assert "wait 3600s" in of_type(events, "error")[0].message


async def test_an_edit_that_raises_the_risk_is_asked_again(replay, workspace):
    log: list = []

    def by_cost(args):
        paid = args.get("flavor", "cpu") != "cpu"
        return Assessment(Risk.REMOTE_COMPUTE, always_ask=paid, details={"flavor": args.get("flavor", "cpu")})

    async def handler(args, ctx):
        log.append(args)
        return "submitted"

    job = Tool(
        name="job",
        description="",
        risk=Risk.REMOTE_COMPUTE,
        handler=handler,
        assess=by_cost,
        parameters={"type": "object", "properties": {"flavor": {"type": "string"}}},
    )
    model = replay([{"tool_calls": [call("job", {"flavor": "cpu"}, "j1"), call("job", {}, "j2")]}, {"content": "ok"}])

    async with open_agent(model, workspace, approval_mode="ask", extra_tools=[job], builtin=False) as agent:
        session = await agent.new_session()
        await collect(session.run("go"))
        edit = {"j1": {"action": "edit", "args": {"flavor": "a100-large"}}, "*": {"action": "edit", "args": {}}}
        second = await collect(session.run(None, decisions=edit))
        ran_before = list(log)
        await collect(session.run(None, decisions={"j1": {"action": "approve"}}))
        messages = await session.messages()
    asked_again = of_type(second, "approval_required")[0].calls
    assert [c["id"] for c in asked_again] == ["j1"] and asked_again[0]["details"] == {"flavor": "a100-large"}
    assert ran_before == []
    assert log == [{"flavor": "a100-large"}]
    results = {m.tool_call_id: m.content for m in messages if isinstance(m, ToolMessage)}
    assert "must name the call" in results["j2"]  # a blanket edit never rewrites every call


async def test_a_good_call_resets_the_malformed_streak(replay, workspace):
    tool = note_tool([])
    model = replay(
        [
            {"tool_calls": [call("note", {}, "m1")], "raw_arguments": {"m1": "{bad"}},
            {"tool_calls": [call("note", {"text": "ok"}, "m2")]},
            {"tool_calls": [call("note", {}, "m3")], "raw_arguments": {"m3": "{bad again"}},
            {"content": "done"},
        ]
    )

    _, messages, _ = await run_turn(model, workspace, [tool])
    results = {m.tool_call_id: m.content for m in messages if isinstance(m, ToolMessage)}
    assert "not valid JSON" in results["m3"] and "second malformed" not in results["m3"]


def test_capped_output_keeps_head_and_tail(tmp_path):
    from nodes.execute_tools import cap_output

    text = "HEAD" + "x" * 50_000 + "TAIL"
    capped, spill = cap_output(text, 1000, tmp_path / "out.txt")
    assert capped.startswith("HEAD") and capped.endswith("TAIL") and len(capped) < 1400
    assert (tmp_path / "out.txt").read_text() == text and spill == str(tmp_path / "out.txt")


async def test_an_interrupted_step_gives_no_second_result_to_a_denied_call(replay, workspace):
    started = asyncio.Event()

    async def slow(args, ctx):
        started.set()
        await asyncio.sleep(30)
        return "never"

    tools = [
        Tool(
            name="slow",
            description="",
            risk=Risk.READ_ONLY,
            handler=slow,
            parameters={"type": "object", "properties": {}},
        ),
        Tool(
            name="banned",
            description="",
            risk=Risk.READ_ONLY,
            handler=slow,
            parameters={"type": "object", "properties": {}},
        ),
    ]
    model = replay([{"tool_calls": [call("banned", {}, "d1"), call("slow", {}, "s1")]}])

    async with open_agent(
        model, workspace, extra_tools=tools, builtin=False, settings={"approval": {"rules": {"banned": "deny"}}}
    ) as agent:
        session = await agent.new_session()
        task = asyncio.ensure_future(collect(session.run("go")))
        await started.wait()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        messages = await session.messages()
    results = [(m.tool_call_id, m.content) for m in messages if isinstance(m, ToolMessage)]
    assert [r[0] for r in results] == ["d1", "s1"]
    assert "deny" in results[0][1] and "Interrupted" in results[1][1]
