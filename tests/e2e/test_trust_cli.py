"""The command line under hostile input: text that is not valid Unicode, options in odd places, and storage
that fails (locked, full, corrupt, missing). Every failure is one line, never a traceback, and nothing is lost."""

from __future__ import annotations

import json

from helpers import call


def _status(cli, session_id: str) -> str:
    listed = cli("sessions", "list").stdout
    return next(line.split()[3] for line in listed.splitlines() if line.startswith(session_id))


def test_lone_surrogates_in_model_text_and_tool_results_are_printed_and_the_turn_completes(cli, replay):
    model = replay(
        [
            {"content": "thinking \ud83d", "tool_calls": [call("grep", {"pattern": "\udce9x"}, "g1")]},
            {"content": "answer \ud800 done"},
        ]
        * 3
    )
    text = cli("-m", model, "--no-stream", "go")
    assert text.returncode == 0, text.stderr
    assert "answer" in text.stdout and "done" in text.stdout and "Traceback" not in text.stderr

    streamed = cli("-m", model, "--output-format", "stream-json", "--continue", "again")
    assert streamed.returncode == 0, streamed.stderr
    events = [json.loads(line) for line in streamed.stdout.splitlines()]
    outputs = [e["data"]["content"] for e in events if e["type"] == "tool_output"]
    assert outputs and "No matches" in outputs[0]
    done = [e for e in events if e["type"] == "turn_complete"][-1]["data"]
    assert done["status"] == "done" and done["final_response"] == "answer \ufffd done"  # stored as shown

    assert _status(cli, events[0]["session_id"]) == "done"


def test_global_options_before_a_subcommand_never_make_it_a_prompt(cli, replay, workspace):
    model = replay([{"content": "I AM THE MODEL"}] * 3)
    config = workspace / "cfg.json"
    config.write_text(json.dumps({"model_name": model}))

    doctor = cli("--config", str(config), "doctor", "--offline")
    assert "I AM THE MODEL" not in doctor.stdout and "sessions database" in doctor.stdout

    refused = cli("-m", model, "doctor")
    assert refused.returncode == 2 and "I AM THE MODEL" not in refused.stdout
    assert len(refused.stderr.strip().splitlines()) == 1 and "-- doctor" in refused.stderr

    helped = cli("--help").stdout
    assert all(name in helped for name in ("sessions", "mcp", "studio", "graph", "doctor", "example"))


def _one_line(result) -> str:
    """The single stderr line of a failed command (no traceback, nothing else)."""
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("> ")]
    assert len(lines) == 1 and lines[0].startswith("ml-intern: "), result.stderr
    return lines[0]


def _make_database(home) -> None:
    """A sessions database with its tables, as a first run leaves it (for sync tests that run the binary)."""
    import asyncio

    from persistence.checkpointer import open_saver, store_for

    async def make():
        async with open_saver(home) as saver:
            await store_for(saver).setup()

    asyncio.run(make())


def test_a_misplaced_or_damaged_database_is_one_line(cli, replay, isolated_home):
    model = replay([{"content": "hi"}] * 3)
    isolated_home.mkdir(parents=True)
    (isolated_home / "sessions.sqlite").mkdir()
    result = cli("-m", model, "go")
    assert result.returncode == 1 and "is a directory" in _one_line(result)

    (isolated_home / "sessions.sqlite").rmdir()
    _make_database(isolated_home)
    database = isolated_home / "sessions.sqlite"
    with open(database, "r+b") as f:  # garbage over every page but the header page
        f.seek(4096)
        f.write(b"\xde\xad\xbe\xef" * (database.stat().st_size // 4))
    result = cli("-m", model, "go")
    assert result.returncode == 1 and "damaged" in _one_line(result)


def test_a_database_locked_longer_than_the_timeout_is_one_line(cli, replay, isolated_home):
    import sqlite3

    model = replay([{"content": "hi"}] * 3)
    _make_database(isolated_home)
    holder = sqlite3.connect(isolated_home / "sessions.sqlite")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = cli("-m", model, "go", env={"ML_INTERN_DB_TIMEOUT_S": "1"})
    finally:
        holder.rollback()
        holder.close()
    line = _one_line(result)
    assert result.returncode == 1 and "locked" in line and "ML_INTERN_DB_TIMEOUT_S" in line


def test_config_files_export_targets_and_prompts_that_cannot_be_read_are_one_line(cli, replay, workspace):
    import subprocess

    from helpers import BIN

    model = replay([{"content": "hi"}] * 3)
    latin1 = workspace / "latin1.json"
    latin1.write_bytes(b'{"model_name": "caf\xe9"}')
    (workspace / "folder.json").mkdir()
    for config, words in ((latin1, "UTF-8"), (workspace / "folder.json", "directory")):
        result = cli("-m", model, "--config", str(config), "go")
        assert result.returncode == 2 and words in _one_line(result)

    session_id = json.loads(cli("-m", model, "--output-format", "json", "go").stdout)["session_id"]
    result = cli("sessions", "export", session_id, "-o", str(workspace / "missing" / "trace.jsonl"))
    assert result.returncode == 1 and "missing" in _one_line(result)

    argv = subprocess.run([BIN, "-m", model, b"caf\xe9 au lait"], cwd=workspace, capture_output=True, timeout=60)
    piped = subprocess.run([BIN, "-m", model], cwd=workspace, input=b"caf\xe9", capture_output=True, timeout=60)
    for result in (argv, piped):
        err = result.stderr.decode()
        assert result.returncode == 2 and len(err.strip().splitlines()) == 1 and "UTF-8" in err, err


def _run_until_tool_starts(args: list[str], cwd, env: dict[str, str]):
    """Start ml-intern (stream-json) and return (process, stdout lines) once its first tool call runs."""
    import os
    import subprocess

    from helpers import BIN

    proc = subprocess.Popen(
        [str(BIN), *args, "--output-format", "stream-json"],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if json.loads(line)["type"] == "tool_state_change":
            return proc, seen
    proc.wait(30)
    raise AssertionError(f"no tool started: {seen} {proc.stderr.read()}")


def _waiting_call(gate) -> dict:
    """A bash call that waits until the test creates `gate`: the moment to break the storage."""
    return call("bash", {"command": f"while [ ! -e {gate} ]; do sleep 0.05; done; echo ran"}, "b1")


def _mount_tmpfs(where, size: str) -> bool:
    import subprocess

    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    return mounted.returncode == 0


def _fill(folder) -> None:
    with open(folder / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def test_disk_full_while_writing_a_checkpoint_is_one_line_and_the_session_goes_on(cli, replay, workspace, tmp_path):
    import subprocess

    gate = workspace / ".gate"  # in the workspace: a sandboxed command sees no other /tmp
    model = replay([{"tool_calls": [_waiting_call(gate)]}, {"content": "final answer"}])
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "2m"):
        return _disk_full_through_a_saver_wrapper(model, workspace, gate)
    try:
        env = {"ML_INTERN_HOME": str(disk / "home")}
        proc, seen = _run_until_tool_starts(["-m", model, "go"], workspace, env)
        _fill(disk)
        gate.touch()
        _, err = proc.communicate(timeout=60)
        session_id = json.loads(seen[0])["session_id"]
        assert proc.returncode == 1, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "no space left" in lines[0] and f"--resume {session_id}" in lines[0], err
        (disk / "filler").unlink()
        resumed = cli("--resume", session_id, "--no-stream", env=env)
        assert resumed.returncode == 0 and "final answer" in resumed.stdout, resumed.stderr
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def _disk_full_through_a_saver_wrapper(model: str, workspace, gate) -> None:
    """Where no tmpfs can be mounted: a saver whose writes fail with ENOSPC after the first tool starts."""
    import asyncio
    import errno

    from helpers import collect

    from cli.bootstrap import UserError
    from cli.headless import storage_failures_as_one_line
    from configs.loader import load_config
    from graph.session import SessionManager
    from nodes.context import AgentDeps
    from persistence.checkpointer import open_saver, store_for
    from tools.registry import builtin_tools

    def full_disk(real):
        """The real saver (same state), with writes that fail while `full` is set."""

        class FullDisk(type(real)):
            full = False

            async def aput_writes(self, *args, **kwargs):
                if self.full:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return await super().aput_writes(*args, **kwargs)

            async def aput(self, *args, **kwargs):
                if self.full:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return await super().aput(*args, **kwargs)

        saver = FullDisk.__new__(FullDisk)
        saver.__dict__.update(real.__dict__)
        return saver

    async def go():
        config = load_config()
        deps = AgentDeps(settings=config, model_id=model, tools=builtin_tools(config), workspace=workspace)
        async with open_saver(deps.home) as real:
            saver = full_disk(real)
            store = store_for(real)
            await store.setup()
            agent = SessionManager(deps, saver, store)
            session = await agent.new_session()
            message = ""
            try:
                with storage_failures_as_one_line(session.id):
                    async for event in session.run("go"):
                        if event.type == "tool_state_change":  # the model's call is stored: now the disk fills
                            saver.full = True
                            gate.touch()
            except UserError as e:
                message = str(e)
            saver.full = False
            events = await collect(session.run(None))
            return message, events

    message, events = asyncio.run(go())  # sync: the caller's tmpfs path waits on the binary
    assert "no space left" in message and "--resume" in message and "\n" not in message
    assert [e for e in events if e.type == "turn_complete"][-1].final_response == "final answer"


class _Proxy:
    """A TCP proxy to PostgreSQL that the test can take down (every connection cut, new ones refused)."""

    def __init__(self, target: tuple[str, int], port: int = 0):
        import socket
        import threading

        self.target = target
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]
        self.sockets: list = []
        self.up = True
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:  # a connection accepted while going down must not survive it
                if not self.up:
                    client.close()
                    return
                server = socket.create_connection(self.target)
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.close()
                except OSError:
                    pass

    def down(self) -> None:
        import socket

        with self.lock:
            self.up = False
            self.listener.close()
            sockets = list(self.sockets)
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


def test_postgres_down_longer_than_the_pool_timeout_is_one_line_and_the_session_goes_on(
    cli, replay, workspace, tmp_path, postgres_database
):
    from urllib.parse import urlsplit, urlunsplit

    real = urlsplit(postgres_database)
    proxy = _Proxy((real.hostname, real.port or 5432))
    netloc = f"{real.username}:{real.password}@127.0.0.1:{proxy.port}"
    env = {"ML_INTERN_DATABASE_URL": urlunsplit(real._replace(netloc=netloc)), "ML_INTERN_DB_TIMEOUT_S": "1"}
    gate = workspace / ".gate"  # in the workspace: a sandboxed command sees no other /tmp
    model = replay([{"tool_calls": [_waiting_call(gate)]}, {"content": "final answer"}])
    proc, seen = _run_until_tool_starts(["-m", model, "go"], workspace, env)
    proxy.down()
    gate.touch()
    out, err = proc.communicate(timeout=90)
    session_id = json.loads(seen[0])["session_id"]
    lines = err.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, (err, out[-2000:])
    assert "lost the sessions database" in lines[0] and f"--resume {session_id}" in lines[0]
    assert real.password not in err

    back = _Proxy((real.hostname, real.port or 5432), proxy.port)
    try:
        resumed = cli("--resume", session_id, "--no-stream", env=env)
        assert resumed.returncode == 0 and "final answer" in resumed.stdout, resumed.stderr
    finally:
        back.down()
