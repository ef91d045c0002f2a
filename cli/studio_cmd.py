"""`ml-intern studio`: serve the agent graph to LangGraph Studio with `langgraph dev`, offline-friendly.

The server runs from $ML_INTERN_HOME/studio (its own thread index, `.langgraph_api/`, and its log live
there, not in the user's project) with the project's langgraph.json made absolute, so the graph and the
checkpointer (SQLite under ML_INTERN_HOME, or ML_INTERN_DATABASE_URL) are the ones the CLI uses.

What langgraph-api 0.16.7 does with langgraph.json (read in its source): "checkpointer": {"path": ...}
is honoured (backend "custom"); a callable returning an async context manager is entered once per
event-loop thread and replaces the in-memory saver. "./x.py:attr" paths are resolved against the
server's working directory, not the config file's folder, hence the absolute paths here. (A module
form exists too, but the checkpointer wants "pkg.mod.attr" where graphs want "pkg.mod:attr".)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from cli import exit_codes

STUDIO_PAGE = "https://smith.langchain.com/studio/"
# Mirrors the repository's langgraph.json, for installs that do not ship it.
DEFAULT_CONFIG = {
    "dependencies": ["."],
    "graphs": {"ml_intern": "./graph/studio.py:make_graph"},
    "checkpointer": {"path": "./persistence/checkpointer.py:make_saver"},
    "http": {"app": "./graph/studio_http.py:app"},
}
READY_TIMEOUT_S = 120


class StudioError(Exception):
    """One line for the user; the exit code says what kind."""

    def __init__(self, message: str, code: int = exit_codes.USAGE):
        super().__init__(message)
        self.code = code


def studio_urls(host: str, port: int) -> tuple[str, str]:
    """(Studio page, local API): the page is hosted by LangSmith and talks to the API from the browser."""
    api = f"http://{host}:{port}"
    return f"{STUDIO_PAGE}?baseUrl={api}", api


def thread_url(api: str, session_id: str) -> str:
    """The Studio page opened on one session (a thread of the local API)."""
    return f"{STUDIO_PAGE}thread/{session_id}?baseUrl={api}"


def server_record(home: Path) -> Path:
    """Where a running `ml-intern studio` notes its API address, for `ml-intern sessions open`."""
    return home / "studio" / "server.json"


def running_api(home: Path) -> str | None:
    """The API of the `ml-intern studio` serving this home, if one answers."""
    import urllib.request

    try:
        api = json.loads(server_record(home).read_text())["api"]
        with urllib.request.urlopen(f"{api}/ok", timeout=2) as response:
            return api if response.status == 200 else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def server_config(root: Path) -> dict:
    """langgraph.json with its ./paths made absolute, so the server can run from another folder.
    An "env" entry is dropped: langgraph dev would load that file relative to its working folder; the
    server's graph factory loads the user's .env itself and gets the keys handed over (core.credentials)."""
    source = root / "langgraph.json"
    config = json.loads(source.read_text()) if source.exists() else json.loads(json.dumps(DEFAULT_CONFIG))

    def absolute(spec: str) -> str:
        return str(root / spec[2:]) if spec.startswith("./") else spec

    config["graphs"] = {name: absolute(spec) for name, spec in config["graphs"].items()}
    if isinstance(config.get("checkpointer"), dict) and "path" in config["checkpointer"]:
        config["checkpointer"] = {**config["checkpointer"], "path": absolute(config["checkpointer"]["path"])}
    if isinstance(config.get("http"), dict) and "app" in config["http"]:
        config["http"] = {**config["http"], "app": absolute(config["http"]["app"])}
    config.pop("env", None)
    return config


def _langgraph_cli() -> str:
    import importlib.util
    import shutil

    beside = Path(sys.executable).parent / "langgraph"
    found = str(beside) if beside.exists() else shutil.which("langgraph")
    if not found or importlib.util.find_spec("langgraph_api") is None:
        raise StudioError(
            "LangGraph Studio needs langgraph-cli[inmem]: run `uv sync` in the ml-intern checkout "
            "(dev group) or `pip install 'langgraph-cli[inmem]'`"
        )
    return found


def _check_port(host: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            raise StudioError(f"cannot listen on {host}:{port} ({e.strerror}): pass another --port") from None


def _model_warning(model_id: str) -> str | None:
    """Studio can show the graph without a usable model, so a missing key is a warning, not an error."""
    from models.errors import MissingCredentials, ModelConfigError
    from models.factory import check_model_id

    try:
        check_model_id(model_id)
    except MissingCredentials as e:
        return f"warning: {e}; runs will fail until it is set"
    except ModelConfigError as e:
        raise StudioError(str(e)) from None
    return None


def _check_database(home: Path) -> None:
    """Open the checkpointer once here: a database that is down is one line now, not a server crash log."""
    import asyncio

    from persistence.checkpointer import DatabaseError, open_saver

    async def probe() -> None:
        async with open_saver(home):
            pass

    try:
        asyncio.run(probe())
    except DatabaseError as e:
        raise StudioError(str(e), exit_codes.AGENT_ERROR) from None


def _wait_ready(proc: subprocess.Popen, api: str, log: Path) -> None:
    import urllib.request

    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:]) if log.exists() else ""
            print(tail, file=sys.stderr)
            raise StudioError(
                f"langgraph dev exited with code {proc.returncode} before it was ready (full log: {log})",
                exit_codes.AGENT_ERROR,
            )
        try:
            with urllib.request.urlopen(f"{api}/ok", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise StudioError(
        f"langgraph dev did not answer on {api} within {READY_TIMEOUT_S} s (log: {log})", exit_codes.AGENT_ERROR
    )


def run_studio(
    port: int, host: str, workspace: str | None, model: str | None, approval: str | None, config: str | None
) -> int:
    from configs.loader import ConfigError, load_config
    from core import credentials
    from core.paths import ml_intern_home
    from persistence.database import describe_database

    if approval not in {None, "ask", "yolo"}:
        raise StudioError(f"--approval must be ask or yolo (got '{approval}')")
    try:
        settings = load_config(config)
    except ConfigError as e:
        raise StudioError(str(e)) from None
    folder = Path(workspace or ".").expanduser().resolve()
    if not folder.is_dir():
        raise StudioError(f"workspace folder not found: {folder} (pass an existing folder to --workspace)")
    model_id = model or os.environ.get("ML_INTERN_MODEL") or settings.model_name
    warning = _model_warning(model_id)
    langgraph = _langgraph_cli()
    _check_port(host, port)

    home = ml_intern_home().resolve()
    _check_database(home)
    studio_dir = home / "studio"
    studio_dir.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parent.parent
    config_file = studio_dir / "langgraph.json"
    config_file.write_text(json.dumps(server_config(root), indent=2) + "\n")
    log = studio_dir / "server.log"

    handover, fds = credentials.hand_over()  # the keys go through a pipe, not the server's environment
    env = {
        **os.environ,
        **handover,
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "ML_INTERN_HOME": str(home),
        "ML_INTERN_WORKSPACE": str(folder),
        "ML_INTERN_MODEL": model_id,
    }
    if approval:
        env["ML_INTERN_APPROVAL"] = approval
    if config:
        env["ML_INTERN_CONFIG"] = str(Path(config).expanduser().resolve())
    command = [
        langgraph,
        "dev",
        "--config",
        str(config_file),
        "--host",
        host,
        "--port",
        str(port),
        "--no-reload",
        "--no-browser",
        "--server-log-level",
        "warning",
        # Tools and the engine do small synchronous file operations (mkdir, rename) on the event
        # loop; the dev server's blocking-call detector would fail those runs.
        "--allow-blocking",
    ]
    studio_url, api = studio_urls(host, port)
    with log.open("w") as out:
        try:
            proc = subprocess.Popen(
                command, cwd=studio_dir, env=env, stdout=out, stderr=subprocess.STDOUT, pass_fds=fds
            )
        finally:
            for fd in fds:
                os.close(fd)
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    record = server_record(home)
    try:
        _wait_ready(proc, api, log)
        record.write_text(json.dumps({"api": api, "pid": os.getpid()}) + "\n")
        if warning:
            print(warning, file=sys.stderr)
        print(f"Studio:    {studio_url}")
        print(f"API:       {api}   (docs: {api}/docs)")
        print(f"graph:     ml_intern   model: {model_id}   workspace: {folder}")
        print(f"sessions:  {describe_database(home)}   server log: {log}")
        print("Open a session (also one the CLI is running, read-only while it runs): ml-intern sessions open ID")
        print(
            "The Studio page is served by smith.langchain.com (your browser needs the internet); "
            "the API runs here. Ctrl-C stops it.",
            flush=True,
        )
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        return exit_codes.DONE
    finally:
        with contextlib.suppress(OSError):
            record.unlink()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
