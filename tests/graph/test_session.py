"""Sessions through the real `ml-intern` binary: resume, continue, undo, fork, export, delete, crash-resume.

Every test takes `db_backend`, so the suite runs on each checkpoint backend (SQLite, PostgreSQL).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from helpers import BIN, call


def session_json(cli, session_id):
    result = cli("sessions", "show", session_id, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def only_session(cli) -> str:
    listing = json.loads(cli("sessions", "list", "--json").stdout)
    assert len(listing) == 1
    return listing[0]["id"]


def test_headless_run_then_resume_and_continue(db_backend, cli, replay, workspace):
    first = cli("-m", replay([{"content": "Hello! I am ready."}]), "say hello")
    assert first.returncode == 0, first.stderr
    assert "Hello! I am ready." in first.stdout
    sid = only_session(cli)
    listing = json.loads(cli("sessions", "list", "--json").stdout)[0]
    assert listing["title"] == "say hello" and listing["workspace"] == str(workspace)

    again = cli("--resume", sid, "-m", replay([{"content": "Second answer."}]), "and again", "--output-format", "json")
    assert again.returncode == 0, again.stderr
    out = json.loads(again.stdout)
    assert out["session_id"] == sid and out["final_response"] == "Second answer." and out["status"] == "done"
    cont = cli("--continue", "-m", replay([{"content": "Third."}]), "third")
    assert cont.returncode == 0
    roles = [(m["role"], m["content"]) for m in session_json(cli, sid)["messages"]]
    assert roles == [
        ("human", "say hello"),
        ("ai", "Hello! I am ready."),
        ("human", "and again"),
        ("ai", "Second answer."),
        ("human", "third"),
        ("ai", "Third."),
    ]


def test_undo_restores_files_and_goes_further_back(db_backend, cli, replay, workspace):
    (workspace / "notes.txt").write_text("original\n")
    turn1 = replay(
        [{"tool_calls": [call("write", {"path": "a.txt", "content": "from turn 1\n"}, "w1")]}, {"content": "wrote a"}]
    )
    turn2 = replay(
        [
            {"tool_calls": [call("read", {"path": "notes.txt"}, "r1")]},
            {
                "tool_calls": [
                    call("edit", {"path": "notes.txt", "old_str": "original", "new_str": "changed"}, "e1"),
                    call("write", {"path": "a.txt", "content": "from turn 2\n"}, "w2"),
                    call("write", {"path": "new.txt", "content": "new\n"}, "w3"),
                ]
            },
            {"content": "changed things"},
        ]
    )
    assert cli("-m", turn1, "turn one").returncode == 0
    sid = only_session(cli)
    assert cli("--resume", sid, "-m", turn2, "turn two").returncode == 0
    assert (workspace / "notes.txt").read_text() == "changed\n"

    undo = cli("sessions", "undo", sid)
    assert undo.returncode == 0, undo.stderr
    assert "turn two" in undo.stdout
    assert (workspace / "notes.txt").read_text() == "original\n"
    assert (workspace / "a.txt").read_text() == "from turn 1\n"
    assert not (workspace / "new.txt").exists()
    assert [m["content"] for m in session_json(cli, sid)["messages"] if m["role"] == "human"] == ["turn one"]

    assert cli("sessions", "undo", sid).returncode == 0
    assert not (workspace / "a.txt").exists()
    assert session_json(cli, sid)["messages"] == []
    nothing = cli("sessions", "undo", sid)
    assert nothing.returncode == 2 and "nothing to undo" in nothing.stderr


def test_export_redacts_secrets_and_delete_removes(db_backend, cli, replay, workspace):
    secret = "hf_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3"
    model = replay([{"content": f"Your token is {secret} and OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstu"}])
    assert cli("-m", model, f"remember {secret}").returncode == 0
    sid = only_session(cli)
    exported = cli("sessions", "export", sid)
    assert exported.returncode == 0
    assert secret not in exported.stdout and "sk-proj-abc" not in exported.stdout
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert lines[0]["type"] == "session" and lines[1]["role"] == "human"
    assert cli("sessions", "delete", sid).returncode == 0
    assert json.loads(cli("sessions", "list", "--json").stdout) == []
    missing = cli("sessions", "show", sid)
    assert missing.returncode == 2 and "no session" in missing.stderr


async def test_fork_keeps_history_in_a_new_session(db_backend, replay, workspace):

    from helpers import collect, open_agent

    async with open_agent(replay([{"content": "one"}, {"content": "two"}]), workspace) as agent:
        parent = await agent.new_session()
        await collect(parent.run("first"))
        child = await parent.fork()
        await collect(child.run("second"))
        parent_msgs, child_msgs = await parent.messages(), await child.messages()
        info, parent_id = child.info, parent.id
    assert [m.content for m in parent_msgs] == ["first", "one"]
    assert [m.content for m in child_msgs] == ["first", "one", "second", "two"]
    assert info.parent_id == parent_id


async def test_undo_in_a_fork_goes_back_through_the_turns_before_the_fork(db_backend, replay, workspace):
    from helpers import collect, open_agent

    script = [
        {"content": "one"},
        {"tool_calls": [call("write", {"path": "a.txt", "content": "from turn 2\n"}, "w1")]},
        {"content": "wrote a"},
    ]
    async with open_agent(replay(script), workspace, builtin=True) as agent:
        parent = await agent.new_session()
        await collect(parent.run("first"))
        await collect(parent.run("write a"))
        child = await parent.fork()
        usage = (await child.state()).values.get("usage") or {}
        undone = await child.undo()
        after_one = [m.content for m in await child.messages()]
        file_after_one = (workspace / "a.txt").exists()
        again = await child.undo()
        after_two = [m.content for m in await child.messages()]
        nothing = await child.undo()
        parent_msgs = [m.content for m in await parent.messages()]
        parent_usage = (await parent.state()).values.get("usage") or {}
    assert undone.type == "undo_complete" and undone.removed_prompt == "write a"
    assert after_one == ["first", "one"] and not file_after_one  # the turn's file change is undone too
    assert again.type == "undo_complete" and after_two == []
    assert nothing.type == "error"
    assert parent_msgs[0] == "first" and parent_msgs[-1] == "wrote a"  # the parent is untouched
    assert usage.get("calls") == parent_usage.get("calls")  # copied once, not once per turn


def test_pending_approval_survives_a_restart(db_backend, cli, replay, workspace):
    model = replay(
        [
            {
                "tool_calls": [
                    call("bash", {"command": "echo approved > out.txt"}, "b1"),
                    call("bash", {"command": "echo nope > no.txt"}, "b2"),
                ]
            },
            {"content": "done with approvals"},
        ]
    )
    first = cli("-m", model, "--approval", "ask", "run the commands")
    assert first.returncode == 4, first.stderr
    assert "b1" in first.stderr and "--approve" in first.stderr
    assert not (workspace / "out.txt").exists()
    sid = only_session(cli)
    assert json.loads(cli("sessions", "list", "--json").stdout)[0]["status"] == "approval_pending"

    asked_again = cli("--resume", sid, "-m", model, "--approval", "ask")
    assert asked_again.returncode == 4 and "b1" in asked_again.stderr

    resumed = cli("--resume", sid, "-m", model, "--approve", "b1", "--reject", "b2=not that one")
    assert resumed.returncode == 0, resumed.stderr
    assert (workspace / "out.txt").read_text().strip() == "approved"
    assert not (workspace / "no.txt").exists()
    tool_results = [m for m in session_json(cli, sid)["messages"] if m["role"] == "tool"]
    assert any("not that one" in m["content"] for m in tool_results)


def test_kill_9_during_a_tool_then_resume(db_backend, cli, replay, workspace):
    model = replay(
        [
            {"tool_calls": [call("bash", {"command": "touch started && sleep 60"}, "slow")]},
            {"content": "I see the command was interrupted; carrying on."},
        ]
    )
    env = {**os.environ}
    proc = subprocess.Popen(
        [str(BIN), "-m", model, "long job"],
        cwd=workspace,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.time() + 30
    while not (workspace / "started").exists():
        assert time.time() < deadline and proc.poll() is None, "the tool never started"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    sid = only_session(cli)
    resumed = cli("--resume", sid, "-m", model, "--output-format", "json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["final_response"].startswith("I see the command was interrupted")
    messages = session_json(cli, sid)["messages"]
    tool = [m for m in messages if m["role"] == "tool"]
    assert len(tool) == 1 and tool[0]["tool_call_id"] == "slow" and "Interrupted" in tool[0]["content"]
    assert messages[0]["content"] == "long job"


def test_sigint_exits_130_and_keeps_the_session(db_backend, cli, replay, workspace):
    model = replay(
        [
            {"tool_calls": [call("bash", {"command": "touch started && sleep 60"}, "slow")]},
            {"content": "resumed fine"},
        ]
    )
    proc = subprocess.Popen(
        [str(BIN), "-m", model, "long job"], cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.time() + 30
    while not (workspace / "started").exists():
        assert time.time() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "--resume" in err
    sid = only_session(cli)
    resumed = cli("--resume", sid, "-m", model, "go on")
    assert resumed.returncode == 0 and "resumed fine" in resumed.stdout


@pytest.mark.parametrize(
    "status_turns, code",
    [
        ([{"error": "auth"}], 2),
        ([{"error": "server_error"}] * 2, 1),
    ],
)
def test_exit_codes_for_provider_errors(db_backend, cli, replay, status_turns, code, tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"retries": {"max_retries": 1, "base_delay_s": 0, "max_delay_s": 0}}))
    result = cli("-m", replay(status_turns), "--config", str(config), "hi")
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and "error" in result.stderr


def test_replay_exhausted_is_a_clear_error(db_backend, cli, replay):
    result = cli("-m", replay([{"tool_calls": [call("plan_tool", {"todos": []}, "p")]}]), "hi")
    assert result.returncode == 1
    assert "no more turns" in result.stderr


def test_iteration_limit_exit_code(db_backend, cli, replay):
    turns = [{"tool_calls": [call("bash", {"command": f"echo {i}"}, f"c{i}")]} for i in range(4)]
    result = cli("-m", replay(turns), "--max-iterations", "2", "loop")
    assert result.returncode == 3
    assert "iteration limit" in result.stderr and "--max-iterations" in result.stderr


def test_stream_json_lines(db_backend, cli, replay):
    result = cli("-m", replay([{"content": "streamed"}]), "--output-format", "stream-json", "hi")
    assert result.returncode == 0
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"type", "session_id", "data"} <= set(events[0])
    assert [e["type"] for e in events[-3:]] == ["turn_complete", "ready", "shutdown"]
    assert events[-3]["data"]["final_response"] == "streamed"
    assert len({e["session_id"] for e in events}) == 1


# sync: it waits on ml-intern processes (blocking) and runs its in-process part in asyncio.run
def test_a_database_from_an_older_version_is_migrated(db_backend, cli, replay):
    import asyncio

    from persistence.checkpointer import open_saver, store_for

    async def drop_column():
        async with open_saver() as saver:
            store = store_for(saver)
            await store.setup()
            await store._execute("ALTER TABLE ml_intern_sessions DROP COLUMN approval_mode")

    asyncio.run(drop_column())
    result = cli("-m", replay([{"content": "still works"}]), "hi")
    assert result.returncode == 0, result.stderr
    assert json.loads(cli("sessions", "list", "--json").stdout)[0]["approval_mode"] == "yolo"


def _valid_history(messages) -> bool:
    """Every assistant call has exactly one result, right after it; no orphan results."""
    from langchain_core.messages import AIMessage, ToolMessage

    pending: set[str] = set()
    for m in messages:
        if isinstance(m, ToolMessage):
            if m.tool_call_id not in pending:
                return False
            pending.discard(m.tool_call_id)
        else:
            if pending:
                return False
            if isinstance(m, AIMessage):
                pending = {c["id"] for c in m.tool_calls}
    return not pending


async def test_compact_fork_and_prompts_keep_the_history_valid_while_asked(db_backend, replay, workspace):

    from helpers import collect, of_type, open_agent

    model = replay(
        [
            {"tool_calls": [call("bash", {"command": "echo hi"}, "b1")]},
            {"content": "the next answer"},  # a fork continues the script where its parent was: both read this
        ]
    )

    async with open_agent(model, workspace, approval_mode="ask") as agent:
        session = await agent.new_session()
        await collect(session.run("run it"))
        refused = await collect(session.compact())
        child = await session.fork()
        await collect(child.run("go on"))
        await collect(session.run("never mind, just say hi"))  # rejects the pending call with this text
        again = await collect(session.run(None))  # nothing to continue: no model call
        child_msgs, msgs = await child.messages(), await session.messages()
    assert "answer the pending question first" in of_type(refused, "error")[0].message
    assert _valid_history(child_msgs) and "forked" in child_msgs[2].content
    assert _valid_history(msgs) and "never mind" in msgs[2].content
    assert of_type(again, "turn_complete")[-1].final_response == "the next answer"
    assert of_type(again, "processing") == []


async def test_a_prompt_while_the_doom_loop_question_waits_is_a_new_turn(db_backend, replay, workspace):

    from helpers import collect, of_type, open_agent

    turns = [{"tool_calls": [call("plan_tool", {"todos": []}, f"p{i}")]} for i in range(10)]
    turns += [{"content": "new direction taken"}]

    async with open_agent(replay(turns), workspace, interactive=True) as agent:
        session = await agent.new_session()
        first = await collect(session.run("loop"))
        second = await collect(session.run("try something else"))
        messages = await session.messages()
    assert of_type(first, "turn_complete")[-1].status == "approval_pending"  # asked: go on?
    assert of_type(second, "turn_complete")[-1].final_response == "new direction taken"
    assert any(m.content == "try something else" for m in messages) and _valid_history(messages)
