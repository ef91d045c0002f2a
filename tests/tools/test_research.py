"""The research sub-agent: own context, read-only tools, same approval policy, tagged events, capped report."""

from __future__ import annotations

from helpers import call, collect, of_type, open_agent
from langchain_core.messages import ToolMessage


async def test_research_reads_files_in_its_own_context(replay, workspace):
    (workspace / "train.py").write_text("lr = 3e-4\nepochs = 7\n")
    model = replay(
        [
            {
                "content": "Delegating.",
                "tool_calls": [call("research", {"question": "What learning rate does train.py use?"}, "r1")],
            },
            # the sub-agent's turns
            {"tool_calls": [call("read", {"path": "train.py"}, "s1")]},
            {"tool_calls": [call("write", {"path": "hack.txt", "content": "x"}, "s2")]},
            {"content": "train.py sets lr = 3e-4 (line 1)."},
            # back in the main agent
            {"content": "The learning rate is 3e-4."},
        ]
    )

    async with open_agent(model, workspace) as agent:
        session = await agent.new_session()
        events = await collect(session.run("find the lr"))
        messages = await session.messages()
    report = next(m for m in messages if isinstance(m, ToolMessage) and m.tool_call_id == "r1").content
    assert "3e-4" in report and "[research:" in report
    # the sub-agent's messages stay out of the main context
    assert not any(isinstance(m, ToolMessage) and m.tool_call_id == "s1" for m in messages)
    sub_calls = [e for e in of_type(events, "tool_call") if e.agent == "research"]
    assert [e.name for e in sub_calls] == ["read", "write"]
    unknown = [e for e in of_type(events, "tool_output") if e.agent == "research" and e.tool_call_id == "s2"]
    assert unknown and unknown[0].is_error and "Unknown tool" in unknown[0].content  # write is not its tool
    assert not (workspace / "hack.txt").exists()
    assert of_type(events, "turn_complete")[-1].final_response == "The learning rate is 3e-4."


async def test_research_obeys_approval_rules(replay, workspace):
    (workspace / "secret.txt").write_text("classified\n")
    model = replay(
        [
            {"tool_calls": [call("research", {"question": "read secret.txt"}, "r1")]},
            {"tool_calls": [call("read", {"path": "secret.txt"}, "s1")]},
            {"content": "I could not read it: it needs approval."},
            {"content": "The sub-agent needed approval."},
        ]
    )

    async with open_agent(
        model, workspace, approval_mode="ask", settings={"approval": {"rules": {"read": "ask"}}}
    ) as agent:
        session = await agent.new_session()
        events = await collect(session.run("go"))
    outputs = [e for e in of_type(events, "tool_output") if e.agent == "research"]
    assert outputs and "cannot ask the user for approval" in outputs[0].content
    assert "classified" not in " ".join(e.content for e in of_type(events, "tool_output"))
    assert of_type(events, "turn_complete")[-1].status == "done"


async def test_the_sub_agents_tokens_count_for_the_session(replay, workspace):
    model = replay(
        [
            {
                "tool_calls": [call("research", {"question": "q"}, "r1")],
                "usage": {"input_tokens": 100, "output_tokens": 10},
            },
            {"content": "sub answer", "usage": {"input_tokens": 5000, "output_tokens": 500}},
            {"content": "done", "usage": {"input_tokens": 200, "output_tokens": 20}},
        ]
    )

    async with open_agent(model, workspace) as agent:
        session = await agent.new_session()
        await collect(session.run("go"))
        usage = (await session.state()).values["usage"]
    assert usage["input_tokens"] == 5300 and usage["output_tokens"] == 530
