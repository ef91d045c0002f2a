"""LangGraph Studio: `ml-intern studio` starts the real `langgraph dev` server (langgraph-cli[inmem]) on
loopback, on the user's sessions database, and langgraph_sdk drives it as Studio does. Sessions and threads
are one world: a thread run through the API is a session the CLI lists, shows, resumes, undoes and exports;
a CLI session is read, streamed and resumed through the API, and read-only there while the CLI drives it.

One server per backend serves the whole module (a start costs seconds): every test works on its own
threads, and all replay one script (the replay position is per thread, so each starts at its top).
Also the one-line failures of `ml-intern studio` and the ASCII drawing of `ml-intern graph`."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import BIN, TESTS, call, run_cli, write_replay

RUN_IT = call("bash", {"command": "echo ran >> runs.txt"}, "b1")
SCRIPT = [  # what the server's model (and the CLI sessions it continues) answer, per thread from the top
    {"tool_calls": [RUN_IT]},
    {"content": "Ran it."},
    {"tool_calls": [call("add_note", {"text": "lr 3e-4"}, "n1")]},  # an MCP tool (the config's notes server)
    {"content": "Noted."},
]
APPROVE = {"decisions": {"*": {"action": "approve"}}}
REJECT = {"decisions": {"*": {"action": "reject", "feedback": "not again"}}}
# Behaviour of the graph and the routes, not of the database: one backend is enough (a server run costs seconds).
SQLITE_ONLY = pytest.mark.parametrize("studio", ["sqlite"], indirect=True)
# One worker runs the whole module under pytest-xdist (--dist loadgroup), so its servers start once per backend.
pytestmark = pytest.mark.xdist_group("studio")
ENV_DROPPED = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "GITHUB_TOKEN")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_studio(args: list[str], cwd, log_path, env=None) -> tuple[subprocess.Popen, list[str]]:
    """Start `ml-intern studio` in its own process group; return it with its stdout up to the API line."""
    err = open(log_path, "w")
    proc = subprocess.Popen(
        [str(BIN), "studio", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=err,
        text=True,
        start_new_session=True,
        env=env,
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
        if line.startswith("Open a session"):
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


@dataclass
class Studio:
    api: str
    backend: str
    home: Path
    workspace: Path
    model: str  # the server's model: replay:SCRIPT
    env: dict[str, str]  # what a CLI on the same sessions needs (home, database, config)
    config: Path
    banner: list[str]

    def cli(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
        return run_cli(list(args), cwd=self.workspace, env=self.env, timeout=timeout)

    def runs(self) -> int:
        """How often the script's command ran in the workspace."""
        path = self.workspace / "runs.txt"
        return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def studio(request, tmp_path_factory):
    """One `ml-intern studio` per backend for the module, on its own home, workspace and database."""
    from conftest import fresh_postgres_database

    base = tmp_path_factory.mktemp(f"studio-{request.param}")
    home, workspace = base / "home", base / "ws"
    workspace.mkdir()
    config = base / "config.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "notes": {"command": sys.executable, "args": [str(TESTS / "mcp_servers" / "notes_server.py")]}
                },
                "approval": {"rules": {"add_note": "allow"}},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ENV_DROPPED and k != "ML_INTERN_DATABASE_URL"}
    env |= {
        "ML_INTERN_HOME": str(home),
        "XDG_CONFIG_HOME": str(base / "xdg"),
        "HF_HOME": str(base / "hf"),
        "ML_INTERN_PROBE_DEFAULT_PORTS": "0",
    }
    with fresh_postgres_database() if request.param == "postgres" else _no_database() as url:
        if url:
            env["ML_INTERN_DATABASE_URL"] = url
        model = "replay:" + str(write_replay(base / "script.jsonl", SCRIPT))
        port = free_port()
        args = ["--port", str(port), "-m", model, "--workspace", str(workspace), "--config", str(config)]
        proc, banner = start_studio(args, base, base / "studio.err", env=env)
        try:
            assert banner and banner[-1].startswith("Open a session"), (banner, (base / "studio.err").read_text())
            api = f"http://127.0.0.1:{port}"
            yield Studio(api, request.param, home, workspace, model, env, config, banner)
        finally:
            stop(proc)


class _no_database:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def run(coro):
    return asyncio.run(coro)


def client(studio: Studio):
    from langgraph_sdk import get_client

    return get_client(url=studio.api)


async def start_thread(studio: Studio, prompt: str = "run it") -> tuple[str, dict]:
    """A new API thread that ran `prompt` up to the approval of the script's command: (id, state)."""
    api = client(studio)
    thread_id = (await api.threads.create())["thread_id"]
    await api.runs.wait(thread_id, "ml_intern", input={"messages": [{"role": "user", "content": prompt}]})
    return thread_id, await api.threads.get_state(thread_id)


def checkpoints_of(studio: Studio, thread_id: str) -> int:
    if studio.backend == "postgres":
        import psycopg

        with psycopg.connect(studio.env["ML_INTERN_DATABASE_URL"]) as db:
            return db.execute("SELECT count(*) FROM checkpoints WHERE thread_id = %s", (thread_id,)).fetchone()[0]
    with sqlite3.connect(studio.home / "sessions.sqlite") as db:
        return db.execute("SELECT count(*) FROM checkpoints WHERE thread_id = ?", (thread_id,)).fetchone()[0]


# sync tests: they wait on ml-intern processes (blocking) and run their client in asyncio.run


def test_an_api_thread_is_a_session_the_cli_lists_shows_resumes_undoes_and_exports(studio):
    assert f"Studio:    https://smith.langchain.com/studio/?baseUrl={studio.api}" in studio.banner

    async def schemas():
        api = client(studio)
        assistant = (await api.assistants.search(graph_id="ml_intern"))[0]["assistant_id"]
        return await api.assistants.get_schemas(assistant)

    found = run(schemas())
    assert found["input_schema"] and found["output_schema"] and found["state_schema"]  # Studio's input form
    assert "messages" in found["input_schema"]["properties"]

    thread_id, waiting = run(start_thread(studio, "run it\nwith details"))
    assert waiting["next"] == ["approval"]
    question = waiting["interrupts"][0]["value"]
    assert [c["name"] for c in question["calls"]] == ["bash"] and question["calls"][0]["risk"] == "exec"
    assert question["answer_schema"]["required"] == ["decisions"]  # the resume value it takes
    assert checkpoints_of(studio, thread_id) > 0  # in the user's sessions database, not the server's memory

    listed = {s["id"]: s for s in json.loads(studio.cli("sessions", "list", "--json").stdout)}
    assert listed[thread_id]["status"] == "approval_pending" and listed[thread_id]["title"] == "run it"
    assert listed[thread_id]["workspace"] == str(studio.workspace) and listed[thread_id]["model"] == studio.model

    short = thread_id[-12:]  # the short form: a UUIDv7's start is a time stamp that threads share
    shown = json.loads(studio.cli("sessions", "show", short, "--json").stdout)
    assert [m["role"] for m in shown["messages"]] == ["human", "ai"]

    before = studio.runs()
    resumed = studio.cli("--resume", short, "--approve", "all", "-m", studio.model, "--output-format", "json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["final_response"] == "Ran it." and studio.runs() == before + 1

    state = run(client(studio).threads.get_state(thread_id))  # the CLI's turn, seen through the API
    assert [m["type"] for m in state["values"]["messages"]] == ["human", "ai", "tool", "ai"]

    exported = studio.cli("sessions", "export", thread_id)
    assert exported.returncode == 0 and "Ran it." in exported.stdout

    undone = studio.cli("sessions", "undo", short)
    assert undone.returncode == 0, undone.stderr
    assert run(client(studio).threads.get_state(thread_id))["values"].get("messages", []) == []


def test_a_cli_session_is_read_streamed_and_resumed_through_the_api(studio):
    asked = studio.cli("-m", studio.model, "--approval", "ask", "--output-format", "json", "run it")
    assert asked.returncode == 4, asked.stderr  # waiting for approval
    session_id = json.loads(asked.stdout)["session_id"]
    assert len(session_id) == 36  # a UUID: the API takes it as a thread id

    async def go():
        api = client(studio)
        thread = await api.threads.get(session_id[:13])  # a unique prefix works on the API side too
        waiting = await api.threads.get_state(session_id)
        custom = []
        before = studio.runs()
        async for part in api.runs.stream(
            session_id, "ml_intern", command={"resume": APPROVE}, stream_mode=["custom", "values"]
        ):
            if part.event == "custom":
                custom.append(part.data)
        return thread, waiting, custom, before, await api.threads.get_state(session_id)

    thread, waiting, custom, before, final = run(go())
    assert thread["thread_id"] == session_id
    assert waiting["interrupts"][0]["value"]["calls"][0]["id"] == "b1"
    assert {"tool_call", "tool_output", "tool_state_change"} <= {e["type"] for e in custom}
    assert {e["session_id"] for e in custom} == {session_id}  # every event says which session it is from
    assert studio.runs() == before + 1
    assert final["values"]["messages"][-1]["content"] == "Ran it." and not final["interrupts"]
    listed = {s["id"]: s for s in json.loads(studio.cli("sessions", "list", "--json").stdout)}
    assert listed[session_id]["status"] == "done"

    opened = studio.cli("sessions", "open", session_id[-12:], "--no-browser")
    assert opened.returncode == 0, opened.stderr
    assert f"thread/{session_id}?baseUrl={studio.api}" in opened.stdout


def test_a_session_the_cli_drives_is_read_only_in_the_api_and_followed_live(studio, tmp_path):
    release = studio.workspace / f"release-{tmp_path.name}"  # the CLI holds the session until the test lets go
    script = [
        {"tool_calls": [call("plan_tool", {"todos": [{"id": "1", "content": "think", "status": "completed"}]}, "p1")]},
        {"tool_calls": [call("bash", {"command": f"while [ ! -f {release.name} ]; do sleep 0.05; done"}, "hold")]},
        {"content": "done thinking"},
    ]
    driver = subprocess.Popen(
        [
            str(BIN),
            "-m",
            "replay:" + str(write_replay(tmp_path / "slow.jsonl", script)),
            "--output-format",
            "stream-json",
            "think",
        ],
        cwd=studio.workspace,
        env=studio.env,
        stdout=subprocess.PIPE,
        stderr=open(tmp_path / "driver.err", "w"),
        text=True,
        start_new_session=True,
    )
    try:
        assert driver.stdout is not None
        events = [json.loads(driver.stdout.readline())]  # the lease is taken before any event
        while events[-1]["type"] != "tool_output":
            events.append(json.loads(driver.stdout.readline()))
        session_id = events[0]["session_id"]

        async def go():
            from httpx import HTTPStatusError

            api = client(studio)
            state = await api.threads.get_state(session_id)  # reading works
            refused = []
            for attempt in (
                api.runs.wait(session_id, "ml_intern", input={"messages": [{"role": "user", "content": "hi"}]}),
                api.threads.update_state(session_id, {"plan": []}),
                api.threads.delete(session_id),
            ):
                try:
                    await attempt
                except HTTPStatusError as exc:
                    refused.append((exc.response.status_code, exc.response.json()["detail"]))
            followed = []
            async for part in await api.threads.join_stream(session_id, stream_mode="values"):
                followed.append(part)
                release.touch()  # joined (its first event is the state now): let the turn finish
            return state, refused, followed

        state, refused, followed = run(go())
        assert driver.wait(timeout=60) == 0, driver.stdout.read()
    finally:
        stop(driver)
    assert state["values"]["messages"][0]["content"] == "think"
    assert [code for code, _ in refused] == [409, 409, 409]
    assert all(f"session {session_id} is in use by another ml-intern" in detail for _, detail in refused)
    assert "read-only here" in refused[0][1]
    values = [part.data for part in followed if part.event == "values"]
    assert values and values[-1]["messages"][-1]["content"] == "done thinking"  # followed to the end of the turn
    assert followed[-1].event == "end"  # and the stream ended when the CLI let the session go


@SQLITE_ONLY
def test_resume_values_of_the_wrong_shape_are_refused_and_nothing_runs(studio):
    async def go():
        api = client(studio)
        thread_id, _ = await start_thread(studio)
        errors = []
        for wrong in ("approve", True, {"decisions": {"b9": {"action": "approve"}}}):
            try:
                await api.runs.wait(thread_id, "ml_intern", command={"resume": wrong})
            except Exception as exc:  # the SDK raises the run's error
                errors.append(str(exc))
        return errors, await api.threads.get_state(thread_id)

    before = studio.runs()
    errors, state = run(go())
    assert len(errors) == 3
    assert 'must be {"decisions"' in errors[0] and "(got 'approve')" in errors[0] and "(got True)" in errors[1]
    assert "no pending call 'b9'" in errors[2]
    assert state["next"] == ["approval"] and studio.runs() == before  # still asking; nothing ran or was rejected


@SQLITE_ONLY
def test_time_travel_over_an_answered_command_does_not_run_it_again(studio):
    async def go():
        api = client(studio)
        thread_id, _ = await start_thread(studio)
        await api.runs.wait(thread_id, "ml_intern", command={"resume": APPROVE})
        ran_once = studio.runs()
        history = await api.threads.get_history(thread_id, limit=50)
        asked = next(h for h in history if h["next"] == ["approval"])["checkpoint"]["checkpoint_id"]
        try:
            await api.runs.wait(thread_id, "ml_intern", command={"resume": APPROVE}, checkpoint_id=asked)
            refusal = ""
        except Exception as exc:
            refusal = str(exc)
        await api.runs.wait(thread_id, "ml_intern", command={"resume": REJECT}, checkpoint_id=asked)
        return ran_once, refusal, await api.threads.get_state(thread_id)

    before = studio.runs()
    ran_once, refusal, forked = run(go())
    assert ran_once == before + 1
    assert "bash (b1) already has a result later in this thread" in refusal and '"rerun": true' in refusal
    tool = [m for m in forked["values"]["messages"] if m["type"] == "tool"]
    assert len(tool) == 1 and "rejected" in tool[0]["content"] and "not again" in tool[0]["content"]
    assert studio.runs() == ran_once  # the new answer stuck, and the command did not run again


@SQLITE_ONLY
def test_the_configs_mcp_servers_are_tools_under_studio(studio):
    async def go():
        api = client(studio)
        thread_id, _ = await start_thread(studio)
        await api.runs.wait(thread_id, "ml_intern", command={"resume": REJECT})
        await api.runs.wait(thread_id, "ml_intern", input={"messages": [{"role": "user", "content": "note it"}]})
        return await api.threads.get_state(thread_id)

    state = run(go())
    results = {m["tool_call_id"]: m for m in state["values"]["messages"] if m["type"] == "tool"}
    assert results["n1"]["content"] == "1" and results["n1"]["status"] == "success"
    assert state["values"]["messages"][-1]["content"] == "Noted."


@SQLITE_ONLY
def test_the_api_docs_page_works_offline(studio):
    import urllib.request

    with urllib.request.urlopen(f"{studio.api}/docs", timeout=10) as response:
        page = response.read().decode()
    assert "openapi.json" in page and "<script src" not in page and "cdn." not in page
    with urllib.request.urlopen(f"{studio.api}/openapi.json", timeout=10) as response:
        assert "/threads/{thread_id}/state" in json.loads(response.read())["paths"]


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


def test_sessions_open_without_a_studio_names_the_fix(cli, replay):
    made = cli("-m", replay([{"content": "hi"}]), "--output-format", "json", "hello")
    session_id = json.loads(made.stdout)["session_id"]
    result = cli("sessions", "open", session_id[:8], "--no-browser")
    assert result.returncode == 2 and "ml-intern studio" in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]


def test_graph_ascii_draws_every_node(workspace):
    result = run_cli(["graph", "--ascii"], cwd=workspace)
    assert result.returncode == 0, result.stderr
    for node in ("llm_call", "doom_loop_check", "approval", "execute_tools", "compaction", "__end__"):
        assert f"| {node} |" in result.stdout
    assert "llm_call also loops back to itself" in result.stdout
