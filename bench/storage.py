"""Checkpoint storage: bytes per step and database size with 2 KB tool outputs, on SQLite and (when a
server is given) PostgreSQL. Every step is checkpointed; messages live in a DeltaChannel, so storage
must grow linearly with the steps: bytes per step at 2N steps about equal to bytes per step at N.

Sizes are deterministic, so each is measured once; the time per step of these runs is reported too.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.harness import ClockTool, Sandbox, drain, open_agent, require_done, steps_script
from bench.stats import Check, Figure, Section

OUTPUT_BYTES = 2048
BUDGET_MB_AT_300 = 10.0
LINEARITY_LIMIT = 1.5  # quick gate: bytes/step at 2N over bytes/step at N
SNAPSHOT_MIN = 64_000
CHECKPOINT_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_migrations")


def sqlite_thread_bytes(db: Path, thread_id: str) -> int:
    """Bytes one session's checkpoints and pending writes take in the SQLite saver's tables."""
    with sqlite3.connect(db) as conn:
        checkpoints = conn.execute(
            "SELECT COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0) FROM checkpoints WHERE thread_id = ?",
            (thread_id,),
        ).fetchone()[0]
        writes = conn.execute(
            "SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes WHERE thread_id = ?", (thread_id,)
        ).fetchone()[0]
    return checkpoints + writes


def sqlite_snapshot_bytes(db: Path, thread_id: str) -> int:
    """Bytes of the checkpoints that hold the whole message list (DeltaChannel snapshots): an ordinary
    checkpoint is a few KB of bookkeeping, a snapshot holds every message so far."""
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT COALESCE(SUM(LENGTH(checkpoint)), 0) FROM checkpoints "
            "WHERE thread_id = ? AND LENGTH(checkpoint) > ?",
            (thread_id, SNAPSHOT_MIN),
        ).fetchone()[0]


def sqlite_file_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())


def postgres_thread_bytes(url: str, thread_id: str) -> int:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT (SELECT COALESCE(SUM(pg_column_size(checkpoint) + pg_column_size(metadata)), 0) "
            "        FROM checkpoints WHERE thread_id = %(t)s)"
            "     + (SELECT COALESCE(SUM(octet_length(blob)), 0) FROM checkpoint_blobs WHERE thread_id = %(t)s)"
            "     + (SELECT COALESCE(SUM(octet_length(blob)), 0) FROM checkpoint_writes WHERE thread_id = %(t)s)",
            {"t": thread_id},
        ).fetchone()
    return int(row[0])


def postgres_tables_bytes(url: str) -> int:
    """pg_total_relation_size of the checkpoint tables (rows, TOAST and indexes)."""
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        total = 0
        for table in CHECKPOINT_TABLES:
            row = conn.execute("SELECT pg_total_relation_size(to_regclass(%s))", (table,)).fetchone()
            total += int(row[0] or 0)
    return total


@contextmanager
def fresh_postgres_database(base_url: str):
    """A new, empty database on the server of `base_url` (the role may CREATE DATABASE), dropped after."""
    import psycopg

    name = "ml_intern_bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(base_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(base_url)._replace(path="/" + name))
    finally:
        with psycopg.connect(base_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _session_of(steps: int, sandbox: Sandbox, clock: ClockTool) -> tuple[str, float]:
    """Run one turn of `steps` steps; returns the thread id and the seconds per step."""
    model = sandbox.script(steps_script(steps))
    async with open_agent(sandbox, model, tools=[clock.tool()], settings={"max_iterations": steps + 10}) as agent:
        session = await agent.new_session()
        started = time.perf_counter()
        events = await drain(session.run("go"))
        elapsed = time.perf_counter() - started
        require_done(events, f"storage run of {steps} steps")
        return session.id, elapsed / steps


async def _delete(sandbox: Sandbox, thread_id: str) -> None:
    async with open_agent(sandbox, sandbox.script([])) as agent:
        await agent.delete_session(thread_id)


def measure_sqlite(steps: int) -> dict[str, float]:
    clock = ClockTool(output_bytes=OUTPUT_BYTES)
    with Sandbox() as sandbox:
        thread, per_step = asyncio.run(_session_of(steps, sandbox, clock))
        db = sandbox.home / "sessions.sqlite"
        return {
            "thread": sqlite_thread_bytes(db, thread),
            "file": sqlite_file_bytes(db),
            "snapshots": sqlite_snapshot_bytes(db, thread),
            "per_step_s": per_step,
        }


def measure_postgres(steps: int, test_url: str | None, user_url: str | None) -> dict[str, float]:
    """On a fresh database when a test server is given; otherwise on the user's database, per thread,
    deleting the benchmark's session afterwards."""
    clock = ClockTool(output_bytes=OUTPUT_BYTES)
    if test_url:
        with fresh_postgres_database(test_url) as url, Sandbox(database_url=url) as sandbox:
            thread, per_step = asyncio.run(_session_of(steps, sandbox, clock))
            return {
                "thread": postgres_thread_bytes(url, thread),
                "tables": postgres_tables_bytes(url),
                "per_step_s": per_step,
            }
    with Sandbox(database_url=user_url) as sandbox:
        thread, per_step = asyncio.run(_session_of(steps, sandbox, clock))
        size = postgres_thread_bytes(user_url, thread)
        asyncio.run(_delete(sandbox, thread))
        return {"thread": size, "per_step_s": per_step}


def _backend_figures(section: Section, label: str, sizes: list[int], results: dict[int, dict], budget_at: int) -> None:
    small, large = sizes
    for n in sizes:
        mb = results[n]["thread"] / 1e6
        budget, limit = (f"< {BUDGET_MB_AT_300:.0f} MB", BUDGET_MB_AT_300) if n == budget_at else ("", None)
        section.figures.append(Figure(f"{label}: session checkpoints after {n:,} steps", [mb], "MB", budget, limit))
        section.figures.append(
            Figure(f"{label}: bytes per step at {n:,} steps", [results[n]["thread"] / n / 1e3], "KB")
        )
        if "snapshots" in results[n]:
            section.figures.append(
                Figure(
                    f"{label}: of which full-history snapshots",
                    [results[n]["snapshots"] / 1e6],
                    "MB",
                    note="DeltaChannel snapshot_frequency",
                )
            )
        if "file" in results[n]:
            section.figures.append(
                Figure(
                    f"{label}: database file after {n:,} steps",
                    [results[n]["file"] / 1e6],
                    "MB",
                    note="sessions.sqlite + WAL",
                )
            )
        if "tables" in results[n]:
            section.figures.append(
                Figure(
                    f"{label}: checkpoint tables after {n:,} steps",
                    [results[n]["tables"] / 1e6],
                    "MB",
                    note="pg_total_relation_size",
                )
            )
        section.figures.append(
            Figure(
                f"{label}: whole turn / steps at {n:,} steps (2 KB outputs)", [results[n]["per_step_s"] * 1000], "ms"
            )
        )
    growth = (results[large]["thread"] / large) / (results[small]["thread"] / small)
    section.figures.append(
        Figure(f"{label}: bytes/step at {large:,} / at {small:,} steps", [growth], "x", "linear (~1x)")
    )
    section.checks.append(
        Check(
            f"{label} bytes/step at {large} / at {small} steps",
            growth,
            LINEARITY_LIMIT,
            "storage must grow linearly; a checkpoint that re-stores the history makes this ratio ~2x per doubling",
        )
    )


def run(quick: bool) -> Section:
    sizes = [40, 80] if quick else [300, 1000]
    section = Section(f"Checkpoint storage ({OUTPUT_BYTES // 1024} KB tool output per step)")
    sqlite_results = {n: measure_sqlite(n) for n in sizes}
    _backend_figures(section, "SQLite", sizes, sqlite_results, 300)

    test_url = os.environ.get("ML_INTERN_TEST_DATABASE_URL")
    user_url = os.environ.get("ML_INTERN_DATABASE_URL")
    if test_url or user_url:
        pg_results = {n: measure_postgres(n, test_url, user_url) for n in sizes}
        _backend_figures(section, "PostgreSQL", sizes, pg_results, 300)
    else:
        section.figures.append(
            Figure(
                "PostgreSQL",
                [],
                "MB",
                note="not measured: set ML_INTERN_TEST_DATABASE_URL "
                "(`bash .ci/postgres.sh` prints it) or ML_INTERN_DATABASE_URL",
            )
        )
    return section
