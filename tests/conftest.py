"""Shared fixtures: an isolated ML_INTERN_HOME, replay scripts, the CLI runner, a tool context, the database
backends. Everything is offline and deterministic; shared helper functions are in tests/helpers.py."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli, write_replay

SECRET_VARS = (
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "GITHUB_TOKEN",
    "ML_INTERN_DATABASE_URL",
)
LOCAL_SERVER_VARS = ("OLLAMA_BASE_URL", "VLLM_BASE_URL", "LLAMACPP_BASE_URL", "LM_STUDIO_BASE_URL")
PACKAGES = ("cli", "configs", "core", "graph", "models", "nodes", "persistence", "tools", "web", "bench")


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers(config) -> int | None:
    """Workers for `-n auto` (pyproject's addopts): 2 to 4 (the CPUs) for the suite or a folder, none when the
    arguments name files or tests. PYTEST_XDIST_AUTO_NUM_WORKERS still decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    if any(not Path(arg.split("::")[0]).is_dir() for arg in config.args):
        return 0
    return max(2, min(len(os.sched_getaffinity(0)), 4))


def pytest_configure(config):
    """Compile the project's bytecode once, before any test starts `ml-intern`: with PYTHONDONTWRITEBYTECODE set
    (as in CI's shell) nothing else writes it, and each of the suite's few hundred CLI starts would compile
    the modules it imports again. Once per run: in the controller, not again in each xdist worker."""
    if hasattr(config, "workerinput"):
        return
    import compileall

    from helpers import ROOT

    for package in PACKAGES:
        compileall.compile_dir(ROOT / package, quiet=2)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Every test gets its own ML_INTERN_HOME and config dir (and the jobs it leaves running are stopped), no provider keys, and no local model server
    unless it names one: a server running on this machine's usual ports (Ollama 11434, llama.cpp 8080, ...)
    is never probed (models/autodetect.py), and the <NAME>_BASE_URL variables are unset."""
    home = tmp_path / "home"
    monkeypatch.setenv("ML_INTERN_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for var in SECRET_VARS:  # db_backend / postgres_database set ML_INTERN_DATABASE_URL again
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_INTERN_PROBE_DEFAULT_PORTS", "0")
    for var in LOCAL_SERVER_VARS:
        monkeypatch.delenv(var, raising=False)
    yield home
    _stop_jobs(home / "jobs")


def _stop_jobs(folder) -> None:
    """Never leave a background job of a test running (tools/jobs starts each in its own process group)."""
    if not folder.is_dir():
        return
    from tools.jobs import registry

    for record in registry.all_records(folder):
        if record.pid:
            try:
                os.killpg(record.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.fixture
def workspace(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


@pytest.fixture
def tool_ctx(workspace, tmp_path):
    """tool_ctx(**fields) -> the ToolContext a tool gets from execute_tools: the test's `workspace`, a session
    folder (tmp_path/"s", made by the tools that write there), call id "c1" and the default AgentConfig.
    Any field can be given: tool_ctx(settings=AgentConfig(tool_output_cap=1000), emit=events.append)."""
    from configs.schema import AgentConfig
    from tools.base import ToolContext

    def make(**fields: Any) -> ToolContext:
        defaults = {"workspace": workspace, "session_dir": tmp_path / "s", "call_id": "c1", "settings": AgentConfig()}
        return ToolContext(**{**defaults, **fields})

    return make


@pytest.fixture
def replay(tmp_path):
    """replay([...turns]) -> 'replay:/path' model id."""
    counter = {"n": 0}

    def make(turns: list[dict[str, Any]]) -> str:
        counter["n"] += 1
        return "replay:" + str(write_replay(tmp_path / f"script{counter['n']}.jsonl", turns))

    return make


@pytest.fixture
def cli(workspace):
    def run(*args: str, **kw) -> subprocess.CompletedProcess:
        return run_cli(list(args), cwd=kw.pop("cwd", workspace), **kw)

    return run


POSTGRES_SKIP = (
    "ML_INTERN_TEST_DATABASE_URL is not set: run `bash .ci/postgres.sh` and export the "
    "line it prints to run the PostgreSQL tests"
)


@pytest.fixture
def postgres_database(isolated_home):
    """A fresh, uniquely named PostgreSQL database for one test (dropped afterwards): its URL.

    Made on the server named by ML_INTERN_TEST_DATABASE_URL (a role allowed to CREATE DATABASE)."""
    with fresh_postgres_database() as url:
        yield url


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new database on the test server (skips without ML_INTERN_TEST_DATABASE_URL), dropped at the end."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    base = os.environ.get("ML_INTERN_TEST_DATABASE_URL")
    if not base:
        pytest.skip(POSTGRES_SKIP)
    import psycopg

    name = "ml_intern_t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(base)._replace(path="/" + name))
    finally:
        _drop_database(psycopg, base, name)


def _drop_database(psycopg, base: str, name: str) -> None:
    """Drop a test database; a server process still attached to it (autovacuum) can delay that briefly."""
    import time

    for attempt in range(10):
        try:
            with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.errors.InsufficientPrivilege:
            if attempt == 9:
                raise
            time.sleep(0.5)


@pytest.fixture(params=["sqlite", "postgres"])
def db_backend(request, monkeypatch, isolated_home):
    """Session tests take this fixture to run against every checkpoint backend.

    sqlite: the default $ML_INTERN_HOME/sessions.sqlite.
    postgres: ML_INTERN_DATABASE_URL points at a fresh database (skipped without
    ML_INTERN_TEST_DATABASE_URL; CI sets it with .ci/postgres.sh). CLI subprocesses inherit it.
    """
    if request.param == "postgres":
        monkeypatch.setenv("ML_INTERN_DATABASE_URL", request.getfixturevalue("postgres_database"))
    return request.param
