"""The nodes called as plain functions, with a state and a runtime context (no graph, no checkpointer):
llm_call's retries and backoff, execute_tools' timeouts, compaction, approval asking through the deps."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.runtime import Runtime

from configs.schema import AgentConfig
from core.events import Event, parse_event
from models.factory import make_model
from nodes.approval import approval
from nodes.compaction import compaction
from nodes.context import AgentDeps
from nodes.execute_tools import execute_tools
from nodes.llm_call import llm_call
from tools.base import Risk, Tool
from tools.registry import ToolRegistry


def deps_for(workspace: Path, model_id: str, tools=(), **settings: Any) -> AgentDeps:
    return AgentDeps(
        settings=AgentConfig.model_validate(settings),
        model_id=model_id,
        tools=ToolRegistry(tools),
        workspace=workspace,
        model=make_model(model_id),
    )


def runtime_for(deps: AgentDeps) -> tuple[Runtime[AgentDeps], list[Event]]:
    """A runtime whose stream writer collects the events the node sends."""
    events: list[Event] = []

    def write(chunk: Any) -> None:
        event = parse_event(chunk)
        assert event is not None, chunk
        events.append(event)

    return Runtime(context=deps, stream_writer=write), events


def lines(events: list[Event]) -> list[str]:
    return [getattr(e, "line", "") for e in events if e.type == "tool_log"]


async def test_llm_call_retries_transient_failures_then_answers(replay, workspace):
    model = replay([{"error": "rate_limit"}, {"error": "server_error"}, {"content": "done"}])
    deps = deps_for(workspace, model, retries={"max_retries": 3, "base_delay_s": 100, "max_delay_s": 0.01})
    runtime, events = runtime_for(deps)

    command = await llm_call({"messages": [HumanMessage("go")]}, runtime)

    assert command.goto == "__end__"
    assert command.update["messages"][0].content == "done" and command.update["iteration"] == 1
    retries = lines(events)
    assert [line.split("); ")[1] for line in retries] == ["retry 1/3 in 0.0s", "retry 2/3 in 0.0s"]  # capped
    assert "rate_limit" in retries[0] and "transient" in retries[1]


async def test_llm_call_stops_when_retries_run_out_or_cannot_help(replay, workspace):
    exhausted = deps_for(workspace, replay([{"error": "timeout"}] * 2), retries={"max_retries": 1, "base_delay_s": 0})
    runtime, events = runtime_for(exhausted)
    command = await llm_call({"messages": [HumanMessage("go")]}, runtime)
    assert command.goto == "__end__" and command.update["stop_reason"] == "error:provider"
    assert len(lines(events)) == 1 and [e.kind for e in events if e.type == "error"] == ["provider"]

    auth = deps_for(workspace, replay([{"error": "auth"}]), retries={"base_delay_s": 0})
    runtime, events = runtime_for(auth)
    command = await llm_call({"messages": [HumanMessage("go")]}, runtime)
    assert command.update["stop_reason"] == "error:auth" and lines(events) == []  # never retried

    too_long = deps_for(workspace, replay([{"error": "rate_limit", "retry_after_s": 60}]), retries={"max_delay_s": 5})
    runtime, events = runtime_for(too_long)
    command = await llm_call({"messages": [HumanMessage("go")]}, runtime)
    assert command.update["stop_reason"] == "error:provider"
    assert "asks to wait 60s, more than retries.max_delay_s=5s" in next(e.message for e in events if e.type == "error")


def sleeper(name: str, seconds: float, timeout: float | None = None) -> Tool:
    async def handler(args: dict[str, Any], ctx) -> str:
        await asyncio.sleep(seconds)
        return f"{name} woke"

    return Tool(name=name, description=name, risk=Risk.READ_ONLY, handler=handler, timeout=timeout)


def step(*calls: dict[str, Any]) -> dict[str, Any]:
    """The state of a step whose calls were all approved."""
    message = AIMessage(content="", tool_calls=[{**c, "args": {}, "type": "tool_call"} for c in calls])
    return {"messages": [HumanMessage("go"), message], "approved_calls": message.tool_calls}


async def test_execute_tools_stops_a_call_at_its_timeout_and_keeps_the_others(replay, workspace):
    tools = [sleeper("slow", 30, timeout=0.05), sleeper("quick", 0)]
    runtime, events = runtime_for(deps_for(workspace, replay([]), tools))

    update = await execute_tools(step({"name": "slow", "id": "s1"}, {"name": "quick", "id": "q1"}), runtime)

    results = {m.tool_call_id: m for m in update["messages"]}
    assert results["s1"].status == "error" and results["s1"].content.startswith("Timed out after")
    assert results["q1"].status == "success" and results["q1"].content == "quick woke"
    states = [(e.tool_call_id, e.state) for e in events if e.type == "tool_state_change"]
    assert ("s1", "failed") in states and ("q1", "done") in states
    assert update["approved_calls"] == [] and update["doom"]["total"] == 2


async def test_approval_asks_through_the_deps(replay, workspace):
    risky = Tool(name="risky", description="r", risk=Risk.EXEC, handler=lambda a, c: asyncio.sleep(0, "ran"))
    deps = deps_for(workspace, replay([]), [risky])
    deps.approval_mode = "ask"
    asked: list[dict[str, Any]] = []

    def answer(question: dict[str, Any]) -> dict[str, Any]:
        asked.append(question)
        return {"decisions": {"r1": {"action": "approve"}, "r2": {"action": "reject", "feedback": "not now"}}}

    deps.ask_human = answer
    runtime, events = runtime_for(deps)
    update = approval(step({"name": "risky", "id": "r1"}, {"name": "risky", "id": "r2"}), runtime)

    assert [[c["id"] for c in q["calls"]] for q in asked] == [["r1", "r2"]]  # one question for the step
    assert [c["id"] for c in update["approved_calls"]] == ["r1"]
    assert [(m.tool_call_id, m.content) for m in update["messages"]] == [
        ("r2", "The user rejected this call. Feedback: not now")
    ]
    assert [(e.tool_call_id, e.state) for e in events if e.type == "tool_state_change"] == [("r2", "rejected")]


def bash_step(*commands: tuple[str, str], allowed: list | None = None) -> dict[str, Any]:
    calls = [{"name": "bash", "id": cid, "args": {"command": cmd}, "type": "tool_call"} for cid, cmd in commands]
    return {"messages": [HumanMessage("go"), AIMessage(content="", tool_calls=calls)], "session_allow": allowed or []}


async def test_always_allow_covers_a_command_prefix_for_the_session_but_never_a_destructive_one(replay, workspace):
    from tools.bash import tools as bash_tools

    deps = deps_for(workspace, replay([]), bash_tools(AgentConfig()))
    deps.approval_mode = "ask"
    asked: list[list[str]] = []

    def answer(question: dict[str, Any]) -> dict[str, Any]:
        asked.append([c["id"] for c in question["calls"]])
        return {
            "decisions": {
                c["id"]: {"action": "approve", "remember": {"tool": "bash", "prefix": "git status"}}
                for c in question["calls"]
            }
        }

    deps.ask_human = answer
    runtime, _ = runtime_for(deps)
    first = approval(bash_step(("g1", "git status")), runtime)
    allowed = first["session_allow"]
    assert asked == [["g1"]] and allowed == [{"tool": "bash", "prefix": "git status"}]

    asked.clear()
    later = bash_step(
        ("g2", "git status --short"),  # covered: asked no more
        ("g3", "git status; rm -r ~/data"),  # chained: the prefix could hide anything after it
        ("g4", "git push"),  # another subcommand
        allowed=allowed,
    )
    second = approval(later, runtime)
    assert asked == [["g3", "g4"]] and [c["id"] for c in second["approved_calls"]] == ["g2", "g3", "g4"]

    asked.clear()
    deps.approval_mode = "yolo"
    approval(bash_step(("r1", "rm -rf build"), ("l1", "ls"), allowed=allowed), runtime)
    assert asked == [["r1"]]  # yolo runs ls, and still asks about rm -rf


def history(turns: int, size: int) -> list:
    messages: list = []
    for i in range(turns):
        messages += [HumanMessage(f"request {i} " + "x" * size), AIMessage(f"answer {i} " + "y" * size)]
    return messages


async def test_compaction_summarises_the_older_history(replay, workspace):
    model = replay([{"content": "what happened so far", "usage": {"input_tokens": 900, "output_tokens": 20}}])
    deps = deps_for(
        workspace, model, compaction={"threshold_tokens": 2000, "keep_recent_tokens": 300, "max_message_tokens": 500}
    )
    runtime, events = runtime_for(deps)
    messages = history(8, 800)

    command = await compaction({"messages": messages, "context_tokens": 5000}, runtime)

    assert command.goto == "llm_call"
    kept = command.update["messages"].value  # Overwrite: the history is rewritten
    assert kept[0] is messages[0] and kept[-1].content == messages[-1].content
    assert kept[1].additional_kwargs == {"ml_intern": "summary"} and "what happened so far" in kept[1].content
    assert command.update["compact"] is None and command.update["context_tokens"] < 2000
    assert [(e.type, e.old_tokens) for e in events] == [("compacted", 5000)]


async def test_compaction_passes_by_under_the_threshold_and_a_manual_one_ends_the_turn(replay, workspace):
    deps = deps_for(workspace, replay([{"content": "short"}]), compaction={"threshold_tokens": 100_000})
    runtime, events = runtime_for(deps)
    messages = history(6, 400)

    idle = await compaction({"messages": messages, "context_tokens": 1000}, runtime)
    assert idle.goto == "llm_call" and idle.update is None and events == []

    manual = await compaction({"messages": messages, "context_tokens": 1000, "compact": "manual"}, runtime)
    assert manual.goto == "__end__" and len(manual.update["messages"].value) < len(messages)
    assert [e.type for e in events] == ["compacted"]


async def test_compaction_that_cannot_get_under_the_threshold_stops_the_turn(replay, workspace):
    deps = deps_for(workspace, replay([{"content": "s"}]), compaction={"threshold_tokens": 10})
    runtime, events = runtime_for(deps)
    command = await compaction({"messages": history(1, 400), "context_tokens": 500}, runtime)

    assert command.goto == "__end__" and command.update["stop_reason"] == "error:compaction"
    assert [e.kind for e in events if e.type == "error"] == ["compaction"]


def test_a_switched_model_is_the_one_bound_even_when_it_reuses_the_old_ones_memory(replay, workspace):
    """/model drops the old model and the next call builds the new one, which CPython may put where the old one was
    (the same id()): the tools must be bound to the new model, never to the old one kept from before the switch."""
    first, second = replay([{"content": "first"}]), replay([{"content": "second"}])
    deps = deps_for(workspace, first, tools=[sleeper("wait", 0)])
    for i in range(30):
        deps.model_id, deps.model = (first, second)[i % 2], None
        assert f"replay:{deps.bound_chat().path}" == deps.model_id, f"switch {i}: bound to the model before it"
