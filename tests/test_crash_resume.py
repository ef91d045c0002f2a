"""Fault injection: kill -9 a driver at 100 random points of a long turn with tools, resume, check the history.

A fork server keeps it fast: this process imports the engine once and never opens the database itself;
each kill point is one forked child that runs the turn and SIGKILLs its own process group at the K-th
event (before or after each checkpoint or pending-writes save, or at an event the front end receives),
then one forked child that resumes the session and checks it. A kill right after a task's writes were
saved and before the next checkpoint is exactly "a checkpoint truncated after saved writes"; the report
counts how many points left such pending writes.

The oracle reads what the database held before the resume (LangGraph's own view of the checkpoint and
its pending writes), independent of the repair code: everything saved must still be there afterwards,
every call answered exactly once right after it, no result without its call.
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

# The default suite kills the turn at 25 points per backend (~10-25 s); CI sets ML_INTERN_FAULT_POINTS=100.
KILL_POINTS = int(os.environ.get("ML_INTERN_FAULT_POINTS") or 25)
SEED = 20261130
WORKERS = 1  # measured: a second worker gains nothing on a 2-core machine
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


def fork_child(work, *args) -> int:
    """Fork; the child runs work(*args) in a fresh event loop in its own process group and never returns."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.setsid()
            asyncio.run(work(*args))
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        os._exit(code)
    return pid


def run_points(points: list[int], phases, workers: int) -> None:
    """Run each point's phases in order (a fresh child each), up to `workers` points at a time.

    A phase's child is reaped before the next starts: its pid is dead, as after a real kill -9."""
    queue = list(points)
    running: dict[int, tuple[int, int]] = {}  # pid -> (point, phase index)

    def start(point: int, phase: int) -> None:
        work, args = phases(point)[phase]
        running[fork_child(work, *args)] = (point, phase)

    while queue or running:
        while queue and len(running) < workers:
            start(queue.pop(0), 0)
        pid, _status = os.wait()
        point, phase = running.pop(pid)
        if phase + 1 < len(phases(point)):
            start(point, phase + 1)


async def drive_and_die(model: str, ws: Path, out: Path, kill_at: int) -> None:
    """Run the turn, counting events; at event `kill_at` SIGKILL this process group (0: never)."""
    async with open_agent(model, ws) as agent:
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


async def resume_and_check(model: str, ws: Path, out: Path) -> None:
    sid = json.loads(out.read_text())["sid"]
    async with open_agent(model, ws) as agent:
        session = await agent.load_session(sid)
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
        had_pending = any(task != "00000000-0000-0000-0000-000000000000" for task, *_ in saved.pending_writes or [])
        events = await collect(session.run(None))
        after = await session.messages()
    after_keys = Counter(message_key(m) for m in after)
    must_keep = Counter(before) | Counter(pending_messages)
    lost = sum((must_keep - after_keys).values())
    status = next((e.status for e in reversed(events) if e.type == "turn_complete"), "no turn")
    prompt_saved = any(k[0] == "human" for k in must_keep)
    result = {
        "lost": lost,
        **history_problems(after),
        "pending_writes": had_pending,
        "status": status,
        "prompt_kept": (not prompt_saved) or sum(1 for m in after if m.type == "human") == 1,
        "answered": (not prompt_saved) or (after and after[-1].type == "ai" and "all done" in str(after[-1].content)),
    }
    out.write_text(json.dumps(result))


def test_kill_9_at_random_points_of_a_long_turn_then_resume_leaves_a_valid_history(db_backend, tmp_path, capsys):
    started = time.monotonic()
    script = write_replay(tmp_path / "long.jsonl", long_turn_script())
    resume_script = write_replay(tmp_path / "resume.jsonl", RESUME_SCRIPT)

    dry = tmp_path / "dry"
    dry.mkdir()
    # In this process: it counts the events and imports everything once, so every child starts warm.
    # Every connection it opens is closed again before the first fork.
    asyncio.run(drive_and_die(f"replay:{script}", dry, dry / "out.json", 0))
    kinds = json.loads((dry / "out.json").read_text()).get("kinds")
    assert kinds, "the uninterrupted turn did not finish"
    points = kill_points(kinds, KILL_POINTS, random.Random(SEED))
    total = len(kinds)

    def phases(k: int) -> list:
        ws, out = tmp_path / f"ws{k}", tmp_path / f"out{k}.json"
        ws.mkdir(exist_ok=True)
        return [
            (drive_and_die, (f"replay:{script}", ws, out, k)),
            (resume_and_check, (f"replay:{resume_script}", ws, out)),
        ]

    run_points(points, phases, WORKERS)
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
