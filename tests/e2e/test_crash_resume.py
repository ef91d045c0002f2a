"""Fault injection: kill -9 a driver at random points of a long turn with tools, resume, check the history.

A fork server keeps it fast: this process imports the engine once (running the turn uninterrupted to
count its events) and holds no database connection when it forks. Each kill point is one forked child
that resumes and checks the previous point (killed in another process), then runs the turn in a new
session and SIGKILLs its own process group at the K-th event: before or after each checkpoint save and
each pending-writes save, or at an event the front end receives. A kill right after a task's writes
were saved and before the next checkpoint is exactly "a checkpoint truncated after saved writes"; half
the points are drawn from those, and the report counts how many left such pending writes.

The oracle reads what the database held before the resume (LangGraph's own view of the checkpoint and
its pending writes), independent of the repair code: everything saved must still be there afterwards,
every call answered exactly once right after it, no result without its call.

The default suite runs 25 points per backend; ML_INTERN_FAULT_POINTS=100 (set by .ci/run) runs 100
(measured on a loaded 2-core machine: ~28 s on SQLite, ~42 s on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

from helpers import call, collect, open_agent, write_replay

NULL_TASK_ID = "00000000-0000-0000-0000-000000000000"  # writes of a step's input, not of a task

KILL_POINTS = int(os.environ.get("ML_INTERN_FAULT_POINTS") or 25)
SEED = 20261130
PROMPT = "build the thing in many steps"
STEPS = 5


def kill_points(kinds: list[str], n: int, rng: random.Random) -> list[int]:
    """n distinct event numbers (1-based): up to half right after a task's writes were saved (the next
    checkpoint never comes: the truncated case), the rest anywhere."""
    after_writes = [i for i, kind in enumerate(kinds, 1) if kind == "after aput_writes"]
    chosen = set(rng.sample(after_writes, min(len(after_writes), n // 2)))
    others = [i for i in range(1, len(kinds) + 1) if i not in chosen]
    chosen |= set(rng.sample(others, min(len(others), n - len(chosen))))
    return sorted(chosen)


def long_turn_script() -> list[dict]:
    """Six steps of two parallel calls each (file writes with undo backups, reads, the plan, bash), an answer."""
    turns = []
    for i in range(STEPS):
        turns.append(
            {
                "content": f"step {i}: working",
                "tool_calls": [
                    call("write", {"path": f"f{i}.txt", "content": f"content {i}\n"}, f"w{i}"),
                    call("bash", {"command": f"echo step {i}"}, f"b{i}")
                    if i % 2
                    else call(
                        "plan_tool", {"todos": [{"id": str(i), "content": f"step {i}", "status": "done"}]}, f"p{i}"
                    ),
                ],
            }
        )
    turns.append({"content": "all done"})
    return turns


RESUME_SCRIPT = [{"content": "all done"}]  # the resumed model wraps up: the check is about what was saved


def message_key(m) -> tuple:
    """Identity of a message across reloads (ids of messages without one are not stable)."""
    calls = tuple(c["id"] for c in getattr(m, "tool_calls", None) or [])
    return (m.type, str(m.content), getattr(m, "tool_call_id", None), calls)


def history_problems(messages) -> dict[str, int]:
    """invalid: a result not right after its call, or a duplicate; orphaned: a call that never got a result."""
    from langchain_core.messages import AIMessage, ToolMessage

    invalid = orphaned = 0
    open_calls: set[str] = set()
    answered: set[str] = set()
    for m in messages:
        if isinstance(m, ToolMessage):
            if m.tool_call_id not in open_calls or m.tool_call_id in answered:
                invalid += 1
            answered.add(m.tool_call_id)
            open_calls.discard(m.tool_call_id)
            continue
        orphaned += len(open_calls)
        open_calls = set()
        if isinstance(m, AIMessage):
            open_calls = {c["id"] for c in m.tool_calls}
    return {"invalid": invalid, "orphaned": orphaned + len(open_calls)}


def run_child(steps: list[tuple]) -> None:
    """Fork a child that runs `steps` on one agent in a fresh event loop, in its own process group, and
    wait for it (reaped: its pid is dead, as after a real kill -9). A step is (coroutine function, args)."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.setsid()
            asyncio.run(_run_steps(steps))
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        os._exit(code)
    os.waitpid(pid, 0)


async def _run_steps(steps: list[tuple]) -> None:
    first_model, first_ws = steps[0][1][:2]
    async with open_agent(first_model, first_ws) as agent:
        for work, args in steps:
            await work(agent, *args)


async def drive_and_die(agent, model: str, ws: Path, out: Path, kill_at: int) -> None:
    """Run the turn in a new session, counting events; at event `kill_at` SIGKILL this process group."""
    agent.deps.model_id, agent.deps.workspace = model, ws
    session = await agent.new_session()
    out.write_text(json.dumps({"sid": session.id}))
    kinds: list[str] = []

    def tick(kind: str) -> None:
        kinds.append(kind)
        if len(kinds) == kill_at:
            os.killpg(0, signal.SIGKILL)

    saver = agent.saver
    for name in ("aput", "aput_writes"):
        original = getattr(saver, name)

        async def counted(*a, _original=original, _name=name, **kw):
            tick(f"before {_name}")
            result = await _original(*a, **kw)
            tick(f"after {_name}")
            return result

        setattr(saver, name, counted)
    async for event in session.run(PROMPT):
        tick(event.type)
    out.write_text(json.dumps({"sid": session.id, "kinds": kinds}))


async def resume_and_check(agent, model: str, ws: Path, out: Path) -> None:
    """In a process other than the one killed: resume the session, then compare with what was saved."""
    agent.deps.model_id, agent.deps.workspace = model, ws
    session = await agent.load_session(json.loads(out.read_text())["sid"])
    snapshot = await session.state()
    saved = await agent.saver.aget_tuple(snapshot.config)
    before = [message_key(m) for m in snapshot.values.get("messages", [])]
    pending_messages = [
        message_key(m)
        for _task, channel, value in saved.pending_writes or []
        if channel == "messages"
        for m in (value if isinstance(value, list) else [value])
        if hasattr(m, "type")
    ]
    had_pending = any(task != NULL_TASK_ID for task, *_ in saved.pending_writes or [])
    events = await collect(session.run(None))
    after = await session.messages()
    after_keys = Counter(message_key(m) for m in after)
    must_keep = Counter(before) | Counter(pending_messages)
    status = next((e.status for e in reversed(events) if e.type == "turn_complete"), "no turn")
    prompt_saved = any(k[0] == "human" for k in must_keep)
    result = {
        "lost": sum((must_keep - after_keys).values()),
        **history_problems(after),
        "pending_writes": had_pending,
        "status": status,
        "prompt_kept": (not prompt_saved) or sum(1 for m in after if m.type == "human") == 1,
        "answered": (not prompt_saved) or (after[-1].type == "ai" and "all done" in str(after[-1].content)),
    }
    out.write_text(json.dumps(result))


# sync: it forks children that each run asyncio.run, which a fork from inside a running event loop cannot do
def test_kill_9_at_random_points_of_a_long_turn_then_resume_leaves_a_valid_history(db_backend, tmp_path, capsys):
    started = time.monotonic()
    script = write_replay(tmp_path / "long.jsonl", long_turn_script())
    resume_script = write_replay(tmp_path / "resume.jsonl", RESUME_SCRIPT)

    dry = tmp_path / "dry"
    dry.mkdir()
    # In this process: it counts the events and imports everything once, so every child starts warm.
    # Every connection it opens is closed again before the first fork.
    asyncio.run(_run_steps([(drive_and_die, (f"replay:{script}", dry, dry / "out.json", 0))]))
    kinds = json.loads((dry / "out.json").read_text()).get("kinds")
    assert kinds, "the uninterrupted turn did not finish"
    points = kill_points(kinds, KILL_POINTS, random.Random(SEED))
    total = len(kinds)

    # One child per point: it resumes and checks the point before (killed in another process), then
    # drives this point's turn until it kills itself; a last child resumes the last point.
    previous: list[tuple] = []
    for k in [*points, None]:
        steps = list(previous)
        if k is not None:
            ws, out = tmp_path / f"ws{k}", tmp_path / f"out{k}.json"
            ws.mkdir()
            steps.append((drive_and_die, (f"replay:{script}", ws, out, k)))
            previous = [(resume_and_check, (f"replay:{resume_script}", ws, out))]
        run_child(steps)
    results = {k: json.loads((tmp_path / f"out{k}.json").read_text()) for k in points}

    bad = {k: r for k, r in results.items() if r["lost"] or r["invalid"] or r["orphaned"] or not r["prompt_kept"]}
    unfinished = {k: r for k, r in results.items() if r["status"] != "done" or not r["answered"]}
    totals = {key: sum(r[key] for r in results.values()) for key in ("lost", "invalid", "orphaned")}
    with capsys.disabled():
        print(
            f"\n[{db_backend}] {len(results)} kill points of {total} events (seed {SEED}); "
            f"{sum(r['pending_writes'] for r in results.values())} left saved writes without their checkpoint; "
            f"lost messages {totals['lost']}, invalid histories {sum(1 for r in results.values() if r['invalid'])}, "
            f"orphaned calls {totals['orphaned']}; {time.monotonic() - started:.1f} s"
        )
    assert len(results) == KILL_POINTS
    assert bad == {}, f"kill points with a broken history (seed {SEED}): {bad}"
    assert unfinished == {}, f"kill points whose resume did not finish the turn: {unfinished}"
