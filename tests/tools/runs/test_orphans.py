"""A job left running by a session that ended, and that nobody waits for, is listed when that session ends
and at the next start-up, with how to cancel it; a job a session waits for is not."""

from __future__ import annotations

import sys

from helpers import call, collect, open_agent

from tools.jobs import registry

SLEEPER = f"{sys.executable} -c 'import time; time.sleep(600)'"


async def test_a_job_left_running_is_listed_at_the_end_and_at_the_next_start(replay, workspace):
    model = replay([{"tool_calls": [call("jobs", {"operation": "run", "command": SLEEPER}, "j1")]}, {"content": "ok"}])
    waits = replay(
        [
            {"tool_calls": [call("jobs", {"operation": "run", "command": SLEEPER}, "j2")]},
            {"tool_calls": [call("wait_for_job", {}, "w2")]},
            {"content": "waiting"},
        ]
    )
    notes: list[str] = []
    async with open_agent(model, workspace) as agent:
        agent.set_on_note(notes.append)
        first = await agent.new_session()
        await collect(first.run("start a job"))
        agent.deps.model_id = waits
        second = await agent.new_session()
        await collect(second.run("start one and wait"))
        assert notes == []  # both sessions are driven by this process
    jobs = {r.session: r for r in registry.all_records()}
    left = jobs[first.id]
    assert [n for n in notes if "still running" in n] == [
        f"job {left.id} of session {first.id} is still running on this machine ({SLEEPER[:60]}, 0m, $0): "
        f"cancel it with ml-intern runs cancel {left.id}"
    ]  # the job session two waits for is not an orphan

    notes.clear()
    async with open_agent(replay([{"content": "hi"}]), workspace) as agent:
        agent.set_on_note(notes.append)
        assert any(f"job {left.id} of session {first.id} is still running" in n for n in notes)
