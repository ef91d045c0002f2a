"""LangGraph Studio: `ml-intern studio` starts the real `langgraph dev` server (langgraph-cli[inmem]) on
loopback; a client drives a thread through an approval interrupt with langgraph_sdk, as Studio does.
Also the one-line failures of `ml-intern studio` and the ASCII drawing of `ml-intern graph`."""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import socket
import sqlite3
import subprocess
import threading

from helpers import BIN, call, run_cli


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_studio(args: list[str], cwd, log_path) -> tuple[subprocess.Popen, list[str]]:
    """Start `ml-intern studio` in its own process group; return it with its stdout up to the API line."""
    err = open(log_path, "w")
    proc = subprocess.Popen(
        [str(BIN), "studio", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout] + [lines.put(None)], daemon=True).start()
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=90)
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line.rstrip("\n"))
        if line.startswith("API:"):
            break
    return proc, seen


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


async def approve_a_write(api: str, workspace) -> tuple[str, dict, dict]:
    from langgraph_sdk import get_client

    client = get_client(url=api)
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    await client.runs.wait(thread_id, "ml_intern", input={"messages": [{"role": "user", "content": "save it"}]})
    waiting = await client.threads.get_state(thread_id)
    assert not (workspace / "result.txt").exists()  # nothing runs before the approval
    await client.runs.wait(thread_id, "ml_intern", command={"resume": {"decisions": {"*": {"action": "approve"}}}})
    return thread_id, waiting, await client.threads.get_state(thread_id)


def checkpoints_of(thread_id: str, db_backend: str, home) -> int:
    if db_backend == "postgres":
        import psycopg

        with psycopg.connect(os.environ["ML_INTERN_DATABASE_URL"]) as db:
            return db.execute("SELECT count(*) FROM checkpoints WHERE thread_id = %s", (thread_id,)).fetchone()[0]
    with sqlite3.connect(home / "sessions.sqlite") as db:
        return db.execute("SELECT count(*) FROM checkpoints WHERE thread_id = ?", (thread_id,)).fetchone()[0]


# sync: it waits on the studio server process (blocking) and runs its client in asyncio.run
def test_studio_thread_runs_through_an_approval(db_backend, tmp_path, workspace, replay, isolated_home):
    model = replay(
        [
            {"tool_calls": [call("write", {"path": "result.txt", "content": "accuracy=0.91\n"}, "w1")]},
            {"content": "Saved the result."},
        ]
    )
    port = free_port()
    proc, out = start_studio(
        ["--port", str(port), "-m", model, "--workspace", str(workspace)], tmp_path, tmp_path / "studio.err"
    )
    try:
        assert out and out[-1].startswith("API:"), (out, (tmp_path / "studio.err").read_text())
        api = f"http://127.0.0.1:{port}"
        assert f"Studio:    https://smith.langchain.com/studio/?baseUrl={api}" in out
        thread_id, waiting, final = asyncio.run(approve_a_write(api, workspace))
    finally:
        stop(proc)

    assert waiting["next"] == ["approval"]
    asked = waiting["interrupts"][0]["value"]
    assert asked["kind"] == "approval"
    assert [(c["name"], c["args"]["path"]) for c in asked["calls"]] == [("write", "result.txt")]

    messages = final["values"]["messages"]
    assert [m["type"] for m in messages] == ["human", "ai", "tool", "ai"]
    assert "result.txt" in messages[2]["content"] and messages[2]["tool_call_id"] == "w1"
    assert messages[3]["content"] == "Saved the result."
    assert final["next"] == [] and not final["interrupts"]
    assert (workspace / "result.txt").read_text() == "accuracy=0.91\n"

    # The thread was checkpointed by the project's checkpointer (langgraph.json "checkpointer"),
    # in the same sessions database the CLI uses, not in the server's in-memory store.
    assert checkpoints_of(thread_id, db_backend, isolated_home) > 0
    # The server's own files stay out of the user's project.
    assert not (workspace / ".langgraph_api").exists() and not (tmp_path / ".langgraph_api").exists()


def test_studio_port_in_use_is_one_line(tmp_path, workspace, replay):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run_cli(["studio", "--port", str(port), "-m", replay([{"content": "x"}])], cwd=workspace, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert f"127.0.0.1:{port}" in result.stderr and "--port" in result.stderr


def test_studio_with_the_database_down_is_one_line(tmp_path, workspace, replay):
    url = f"postgresql://intern:s3cret@127.0.0.1:{free_port()}/sessions"
    result = run_cli(
        ["studio", "--port", str(free_port()), "-m", replay([{"content": "x"}])],
        cwd=workspace,
        env={"ML_INTERN_DATABASE_URL": url},
        timeout=60,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ML_INTERN_DATABASE_URL" in lines[0] and "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr


def test_graph_ascii_draws_every_node(workspace):
    result = run_cli(["graph", "--ascii"], cwd=workspace)
    assert result.returncode == 0, result.stderr
    for node in ("llm_call", "doom_loop_check", "approval", "execute_tools", "compaction", "__end__"):
        assert f"| {node} |" in result.stdout
    assert "llm_call also loops back to itself" in result.stdout
