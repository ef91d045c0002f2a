"""A session never loses a line of work: one driver at a time, literal ids, checked decisions, undo that
keeps the user's edits, a session that keeps its workspace, a status that is never stuck at "running".

The crash-resume property test is in test_crash_resume.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid

from helpers import BIN, call, collect, open_agent


def listing(cli) -> list[dict]:
    result = cli("sessions", "list", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def stored_messages(model: str, workspace, session_id: str) -> list:  # for sync tests that wait on the binary
    async def go():
        async with open_agent(model, workspace) as agent:
            return await (await agent.load_session(session_id)).messages()

    return asyncio.run(go())


def one_clear_line(result) -> str:
    """The error output of a refused command: one line, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


# sync: it waits on ml-intern processes (blocking) and runs its in-process part in asyncio.run
def shared_start(a: str, b: str) -> str:
    """The characters two ids have in common at their start."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def test_ids_are_literal_prefixes_and_decisions_must_name_pending_calls(db_backend, cli, replay, workspace):
    from langgraph.types import Command

    from persistence.session_store import SessionInfo, SessionNotFound

    model = replay([{"tool_calls": [call("bash", {"command": "echo hi > out.txt"}, "b1")]}, {"content": "ran it"}])

    async def setup():
        async with open_agent(model, workspace, approval_mode="ask") as agent:
            session = await agent.new_session()
            await collect(session.run("run it"))  # waits for approval of b1
            # another session whose id starts like this one's: their common start is ambiguous
            twin = SessionInfo(session.id[:9] + str(uuid.uuid4())[9:], time.time(), time.time())
            await agent.store.register(twin)
            shared = shared_start(session.id, twin.id)
            refused = {}
            for wrong in ("", " ", "%", "_", session.id[:4] + "%", session.id[:4] + "_", shared):
                try:
                    await agent.store.resolve(wrong)
                except SessionNotFound as e:
                    refused[wrong] = str(e)
            found = (await agent.store.resolve(session.id[:-1])).id
            return session.id, twin.id, refused, found

    sid, twin, refused, found = asyncio.run(setup())
    assert len(refused) == 7 and "ambiguous" in refused[shared_start(sid, twin)] and found == sid

    refusals = [["sessions", "delete", ""], ["sessions", "undo", "_"]]  # an unset $ID never acts on a session
    if db_backend == "sqlite":  # refused before any database is opened
        refusals.append(["--resume", "", "-m", model, "go on"])
    for args in refusals:
        refused_cli = cli(*args)
        assert refused_cli.returncode == 2, (args, refused_cli.stdout, refused_cli.stderr)
        one_clear_line(refused_cli)
    wrong = cli("--resume", sid, "-m", model, "--approve", "b9", "--reject", "b1")
    assert wrong.returncode == 2 and "b9" in one_clear_line(wrong)

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
            statuses = {i.id: i.status for i in await agent.store.list()}
            return refusals, asked, await session.messages(), statuses

    refusals, asked, messages, statuses = asyncio.run(runtime())
    assert statuses == {sid: "approval_pending", twin: "idle"}
    assert len(refusals) == 4 and all(refusals)
    assert asked and asked[0]["kind"] == "approval" and "decisions" in asked[0]["error"]
    assert [m.type for m in messages] == ["human", "ai"]  # nothing was decided
    assert not (workspace / "out.txt").exists()


def wait_for(path, proc, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the driver never got there"
        time.sleep(0.05)


# sync: it waits on ml-intern processes (blocking) and runs its in-process part in asyncio.run
def test_one_driver_per_session_and_a_killed_drivers_lock_is_taken_over(db_backend, cli, replay, workspace):
    from persistence.session_lock import LEASE_TTL_S, Holder, SessionBusy

    model = replay(
        [
            {"tool_calls": [call("bash", {"command": "touch started && sleep 60"}, "slow")]},
            {"content": "taken over and finished"},
        ]
    )
    first = subprocess.Popen(
        [str(BIN), "-m", model, "long job"],
        cwd=workspace,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    wait_for(workspace / "started", first)
    sid = next(i["id"] for i in listing(cli))

    second = cli("--resume", sid, "-m", replay([{"content": "a second driver"}]), "me too")
    assert second.returncode == 2 and str(first.pid) in one_clear_line(second)

    async def in_process():  # every front end goes through the runtime, which takes the same lock
        async with open_agent(model, workspace) as agent:
            refused = []
            try:
                await collect((await agent.load_session(sid)).run("from a library"))
            except SessionBusy as e:
                refused.append(str(e))
            # a driver on another machine: alive while its heartbeat is fresh, taken over once it expires
            other = await agent.new_session()
            await other.release()
            remote = Holder("t1", "another machine", "gpu-box", 4242, "1", time.time())
            await agent.store.lock_insert(other.id, remote)
            try:
                await (await agent.load_session(other.id)).acquire()
            except SessionBusy as e:
                refused.append(str(e))
            stale = Holder("t2", "another machine", "gpu-box", 4242, "1", time.time() - LEASE_TTL_S - 1)
            await agent.store.lock_replace(other.id, "t1", stale)
            await (await agent.load_session(other.id)).acquire()
            return refused

    refused = asyncio.run(in_process())
    assert str(first.pid) in refused[0] and "gpu-box" in refused[1] and "expires in" in refused[1]

    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert {i["id"]: i["status"] for i in listing(cli)}[sid] == "interrupted"  # not "running" forever

    third = cli("--resume", sid, "-m", model, "--output-format", "json")
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["final_response"] == "taken over and finished"
    messages = stored_messages(model, workspace, sid)
    assert [m.type for m in messages] == ["human", "ai", "tool", "ai"]
    assert messages[0].content == "long job" and "Interrupted" in messages[2].content


def test_sighup_ends_a_headless_turn_as_interrupted_with_the_partial_answer(cli, replay, workspace):
    words = " ".join(f"word{i}" for i in range(100))
    model = replay([{"content": words, "delay_s": 20}])
    # the resume gets its own script: the interrupted call was not saved as answered, so the same script would
    # replay its slow line (20 s) again before the turn could end
    resume_model = replay([{"content": "resumed fine"}])
    proc = subprocess.Popen(
        [str(BIN), "-m", model, "talk slowly"], cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout.read(6) == "word0 "  # the answer has started
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "--resume" in err
    info = listing(cli)[0]
    assert info["status"] == "interrupted"
    messages = stored_messages(model, workspace, info["id"])
    assert messages[-1].content.startswith("word0 ") and messages[-1].content.endswith("[interrupted]")
    resumed = cli("--resume", info["id"], "-m", resume_model, "go on")
    assert resumed.returncode == 0 and "resumed fine" in resumed.stdout, resumed.stderr


# sync: it waits on ml-intern processes (blocking) and runs its in-process part in asyncio.run
def test_undo_keeps_the_users_later_edits_unless_forced(cli, replay, workspace):
    (workspace / "notes.txt").write_text("original\n")
    model = replay(
        [
            {
                "tool_calls": [
                    call("write", {"path": "notes.txt", "content": "by the turn\n"}, "w1"),
                    call("write", {"path": "new.txt", "content": "created by the turn\n"}, "w2"),
                    call("write", {"path": "plain.txt", "content": "left alone since\n"}, "w3"),
                ]
            },
            {"content": "turn one done"},
            {"tool_calls": [call("write", {"path": "notes.txt", "content": "turn two\n"}, "w4")]},
            {"content": "turn two done"},
        ]
    )

    async def turn(prompt: str, session_id: str | None = None) -> str:
        async with open_agent(model, workspace) as agent:
            session = await agent.load_session(session_id) if session_id else await agent.new_session()
            await collect(session.run(prompt))
            return session.id

    sid = asyncio.run(turn("one"))
    (workspace / "notes.txt").write_text("the user's edit\n")
    with (workspace / "new.txt").open("a") as f:
        f.write("the user's line\n")

    undo = cli("sessions", "undo", sid)
    assert undo.returncode == 0, undo.stderr
    assert (workspace / "notes.txt").read_text() == "the user's edit\n"
    assert (workspace / "new.txt").read_text() == "created by the turn\nthe user's line\n"
    assert not (workspace / "plain.txt").exists()  # unchanged since the turn: undone
    kept = [line for line in undo.stdout.splitlines() if "kept" in line]
    assert len(kept) == 2 and all("--force" in line for line in kept)
    saved = next(line for line in kept if "notes.txt" in line).split(" saved at ")[1].split(" ")[0]
    assert open(saved).read() == "original\n"  # the version before the turn is not lost either

    asyncio.run(turn("two", sid))
    (workspace / "notes.txt").write_text("edited again\n")
    forced = cli("sessions", "undo", "--force", sid)
    assert forced.returncode == 0, forced.stderr
    assert (workspace / "notes.txt").read_text() == "the user's edit\n"


def test_a_resumed_session_works_in_its_own_workspace(cli, replay, workspace, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    model = replay(
        [
            {"content": "started"},
            {"tool_calls": [call("write", {"path": "made.txt", "content": "made\n"}, "w1")]},
            {"content": "wrote it"},
        ]
    )
    assert cli("-m", model, "start here").returncode == 0
    sid = listing(cli)[0]["id"]

    resumed = cli("--resume", sid, "-m", model, "write a file", cwd=elsewhere)
    assert resumed.returncode == 0, resumed.stderr
    assert (workspace / "made.txt").exists() and not (elsewhere / "made.txt").exists()
    assert [line for line in resumed.stderr.splitlines() if str(workspace) in line] == [
        f"ml-intern: session {sid} works in {workspace}: running there"
    ]

    moved = cli("--resume", sid, "--workspace", str(elsewhere), "-m", model, "go on", cwd=elsewhere)
    assert moved.returncode == 2 and str(workspace) in one_clear_line(moved)

    undo = cli("sessions", "undo", sid, cwd=elsewhere)
    assert undo.returncode == 0 and not (workspace / "made.txt").exists()
