"""The replay model's position in its script: per thread, saved with the checkpoint (no file written on each
call), so one graph serving several threads (LangGraph Studio) gives each its own position, and a session
resumed by another process or forked continues where it stopped."""

from __future__ import annotations

import pytest
from helpers import call, collect, open_agent
from langchain_core.messages import AIMessage, HumanMessage


async def test_two_threads_of_one_graph_replay_the_script_independently(replay, workspace, isolated_home):
    """The Studio graph shares one model between threads: each thread starts at the top of the script."""
    from langgraph.checkpoint.memory import InMemorySaver

    from configs.loader import load_config
    from graph.builder import compile_graph
    from nodes.context import AgentDeps
    from tools.registry import ToolRegistry

    model = replay([{"content": "first line"}, {"content": "second line"}])
    deps = AgentDeps(settings=load_config(), model_id=model, tools=ToolRegistry(), workspace=workspace)
    graph = compile_graph(deps, checkpointer=InMemorySaver())

    async def answer(thread: str, prompt: str) -> str:
        config = {"configurable": {"thread_id": thread}}
        result = await graph.ainvoke({"messages": [HumanMessage(prompt)]}, config)
        return result["messages"][-1].content

    answers = [await answer("a", "hi"), await answer("b", "hi"), await answer("a", "again"), await answer("b", "x")]
    assert answers == ["first line", "first line", "second line", "second line"]


async def test_the_position_is_saved_in_the_history_not_in_a_file(replay, workspace, isolated_home):
    script = [{"tool_calls": [call("plan_tool", {"todos": []}, "p1")]}, {"content": "one"}, {"content": "two"}]
    model = replay(script)
    async with open_agent(model, workspace) as agent:
        session = await agent.new_session()
        await collect(session.run("first"))
        sid, folder = session.id, session.dir
    async with open_agent(model, workspace) as agent:  # another process: nothing in memory
        session = await agent.load_session(sid)
        await collect(session.run("second"))
        messages = await session.messages()
    answers = [m for m in messages if isinstance(m, AIMessage)]
    assert [m.content for m in answers] == ["", "one", "two"]
    assert [m.response_metadata["replay"][1] for m in answers] == [1, 2, 3]
    assert not (folder / "replay_cursor.json").exists()


def test_a_killed_call_is_replayed_from_the_saved_position(replay, workspace, isolated_home):
    """A model call whose answer never reached a checkpoint takes the same line again on resume."""
    from models.replay import ReplayChatModel, ReplayExhausted, saved_position, script_id

    path = replay([{"content": "zero"}, {"content": "one"}]).removeprefix("replay:")
    history = [HumanMessage("q"), AIMessage("zero", response_metadata={"replay": [script_id(path), 1]})]
    assert saved_position(history, script_id(path)) == 1
    assert saved_position(history, "another") == 0
    fresh = ReplayChatModel(path)  # a new process
    assert fresh.invoke([*history, HumanMessage("q2")]).content == "one"
    with pytest.raises(ReplayExhausted):  # in memory from now on: the next line, past the end
        fresh.invoke([*history, HumanMessage("q2")])
