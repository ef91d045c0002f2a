"""Sessions on PostgreSQL across machines: two `ml-intern` processes with the same ML_INTERN_DATABASE_URL
but different ML_INTERN_HOME share, list and resume sessions; a database that is down or hangs is one
clear line and a non-zero exit, fast.

Needs ML_INTERN_TEST_DATABASE_URL (`bash .ci/postgres.sh` prints it); skipped without it, except the
down/hung tests, which need no server.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading

from helpers import BIN, call, run_cli


def machine(tmp_path, url: str, name: str) -> dict[str, str]:
    """The environment of one 'machine': its own ML_INTERN_HOME, the shared database."""
    return {"ML_INTERN_DATABASE_URL": url, "ML_INTERN_HOME": str(tmp_path / f"home-{name}")}


def listing(workspace, env) -> list[dict]:
    result = run_cli(["sessions", "list", "--json"], cwd=workspace, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def shown(workspace, env, session_id) -> list[tuple[str, str]]:
    result = run_cli(["sessions", "show", session_id, "--json"], cwd=workspace, env=env)
    assert result.returncode == 0, result.stderr
    return [(m["role"], m["content"]) for m in json.loads(result.stdout)["messages"]]


def test_one_machine_resumes_a_session_another_started(postgres_database, tmp_path, workspace, replay):
    a, b = machine(tmp_path, postgres_database, "a"), machine(tmp_path, postgres_database, "b")
    first = run_cli(
        [
            "-m",
            replay(
                [
                    {"tool_calls": [call("write", {"path": "notes.md", "content": "lr=3e-4\n"}, "w1")]},
                    {"content": "Saved the learning rate."},
                ]
            ),
            "note the learning rate",
        ],
        cwd=workspace,
        env=a,
    )
    assert first.returncode == 0, first.stderr
    assert (workspace / "notes.md").read_text() == "lr=3e-4\n"

    sessions = listing(workspace, b)
    assert [(s["title"], s["status"]) for s in sessions] == [("note the learning rate", "done")]
    session_id = sessions[0]["id"]

    second = run_cli(
        ["--resume", session_id, "-m", replay([{"content": "It was 3e-4."}]), "what was it?"], cwd=workspace, env=b
    )
    assert second.returncode == 0, second.stderr
    assert "It was 3e-4." in second.stdout

    messages = shown(workspace, a, session_id)  # the first machine sees the turn the second one ran
    assert [r for r, _ in messages] == ["human", "ai", "tool", "ai", "human", "ai"]
    assert messages[0] == ("human", "note the learning rate")
    assert "notes.md" in messages[2][1]
    assert messages[3:] == [("ai", "Saved the learning rate."), ("human", "what was it?"), ("ai", "It was 3e-4.")]
    assert not (tmp_path / "home-a" / "sessions.sqlite").exists()
    assert not (tmp_path / "home-b" / "sessions.sqlite").exists()


def test_two_machines_start_at_once_on_a_fresh_database(postgres_database, tmp_path, workspace, replay):
    """Both set up the (empty) database at the same moment; both sessions land in it."""
    envs = [machine(tmp_path, postgres_database, n) for n in "ab"]
    procs = [
        subprocess.Popen(
            [str(BIN), "-m", replay([{"content": f"answer {i}"}]), f"task {i}"],
            cwd=workspace,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, env in enumerate(envs)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    assert sorted(s["title"] for s in listing(workspace, envs[0])) == ["task 0", "task 1"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_one_clear_line(result, port: int) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "ML_INTERN_DATABASE_URL" in lines[0] and f"127.0.0.1:{port}" in lines[0]
    assert "s3cret" not in result.stderr + result.stdout


def test_database_down_is_one_clear_line(tmp_path, workspace, replay):
    port = closed_port()
    env = machine(tmp_path, f"postgresql://intern:s3cret@127.0.0.1:{port}/sessions", "a")
    run = run_cli(["-m", replay([{"content": "never said"}]), "train a model"], cwd=workspace, env=env)
    assert_one_clear_line(run, port)
    assert "refused" in run.stderr.lower()
    assert "never said" not in run.stdout
    assert_one_clear_line(run_cli(["sessions", "list"], cwd=workspace, env=env), port)


def test_database_that_never_answers_fails_fast(tmp_path, workspace, replay):
    """A host that accepts TCP but never speaks PostgreSQL: the bounded connect timeout ends it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True).start()
    try:
        env = machine(tmp_path, f"postgresql://intern:s3cret@127.0.0.1:{port}/sessions", "a")
        run = run_cli(["-m", replay([{"content": "never said"}]), "train a model"], cwd=workspace, env=env, timeout=30)
        assert_one_clear_line(run, port)
        # psycopg's own connect_timeout ("connection timeout expired") or our bound ("no answer within N s")
        assert "timeout expired" in run.stderr or "no answer within" in run.stderr
    finally:
        for conn in accepted:
            conn.close()
        server.close()


def test_a_url_that_is_not_postgresql_is_one_clear_line(tmp_path, workspace):
    run = run_cli(["sessions", "list"], cwd=workspace, env=machine(tmp_path, "mysql://root@127.0.0.1/db", "a"))
    assert run.returncode != 0 and "postgresql://" in run.stderr and "Traceback" not in run.stderr
