"""A session never loses a line of work: one driver at a time, literal ids, checked decisions, undo that
keeps the user's edits, a session that keeps its workspace, a status that is never stuck at "running".

The crash-resume property test is in test_crash_resume.py.
"""

from __future__ import annotations

import asyncio
import json

from helpers import call, collect, open_agent


def listing(cli) -> list[dict]:
    result = cli("sessions", "list", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def stored_messages(model: str, workspace, session_id: str) -> list:
    async def go():
        async with open_agent(model, workspace) as agent:
            return await (await agent.load_session(session_id)).messages()

    return asyncio.run(go())


def one_clear_line(result) -> str:
    """The error output of a refused command: one line, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_ids_are_literal_prefixes_and_decisions_must_name_pending_calls(db_backend, cli, replay, workspace):
    from langgraph.types import Command

    model = replay([{"tool_calls": [call("bash", {"command": "echo hi > out.txt"}, "b1")]}, {"content": "ran it"}])
    assert cli("-m", model, "--approval", "ask", "run it").returncode == 4
    sid = listing(cli)[0]["id"]

    for args in (["delete", ""], ["delete", "%"], ["undo", "_"], ["show", sid[:4] + "%"], ["show", sid[:4] + "_"]):
        refused = cli("sessions", *args)
        assert refused.returncode == 2, (args, refused.stdout, refused.stderr)
        one_clear_line(refused)
    assert cli("sessions", "show", sid[:6]).returncode == 0  # a real prefix still works
    assert cli("--resume", "", "-m", model, "go on").returncode == 2  # an unset $ID is not a new session

    wrong = cli("--resume", sid, "-m", model, "--approve", "b9")
    assert wrong.returncode == 2 and "b9" in one_clear_line(wrong)
    assert cli("--resume", sid, "-m", model, "--reject", "b9=no").returncode == 2
    assert listing(cli)[0]["status"] == "approval_pending" and len(listing(cli)) == 1

    async def runtime():
        async with open_agent(model, workspace, approval_mode="ask") as agent:
            session = await agent.load_session(sid)
            refusals = []
            for decisions in ("approve", True, {"b1": "approve"}, {"b1": {"action": "yes"}}):
                try:
                    await collect(session.run(None, decisions=decisions))
                except ValueError as e:
                    refusals.append(str(e))
            # Studio and API clients resume the graph directly: a wrong shape asks again, with the reason
            async for _ in session.graph.astream(Command(resume="approve"), session.config, stream_mode="custom"):
                pass
            asked = [i.value for i in (await session.state()).interrupts]
            return refusals, asked, await session.messages()

    refusals, asked, messages = asyncio.run(runtime())
    assert len(refusals) == 4 and all(refusals)
    assert asked and asked[0]["kind"] == "approval" and "decisions" in asked[0]["error"]
    assert [m.type for m in messages] == ["human", "ai"]  # nothing was decided
    assert not (workspace / "out.txt").exists()
