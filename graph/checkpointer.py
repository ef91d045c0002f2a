"""Where checkpoints live: SQLite at $ML_INTERN_HOME/sessions.sqlite by default, PostgreSQL when
ML_INTERN_DATABASE_URL=postgresql://... is set. `make_saver` is the factory langgraph.json names."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from graph.deps import ml_intern_home


class DatabaseError(Exception):
    """The sessions database cannot be used; the message says what to fix."""


def database_url() -> str | None:
    return os.environ.get("ML_INTERN_DATABASE_URL") or None


def sqlite_path(home: Path | None = None) -> Path:
    return (home or ml_intern_home()) / "sessions.sqlite"


def describe_database(home: Path | None = None) -> str:
    url = database_url()
    if url:
        return _redact_url(url)
    return str(sqlite_path(home))


def _redact_url(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


@asynccontextmanager
async def open_saver(home: Path | None = None) -> AsyncIterator:
    """Yield an async checkpoint saver (set up and ready)."""
    url = database_url()
    if url:
        if not url.startswith(("postgres://", "postgresql://")):
            raise DatabaseError(f"ML_INTERN_DATABASE_URL must start with postgresql:// (got {_redact_url(url)})")
        from graph.postgres import open_postgres_saver

        async with open_postgres_saver(url) as saver:
            yield saver
        return

    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async with _sqlite(home) as conn:
        yield await _set_up(AsyncSqliteSaver(conn), sqlite_path(home))


async def _set_up(thing, path: Path):
    """Create the tables of a saver or store; a file that is not a usable database is one clear error."""
    try:
        await thing.setup()
    except Exception as e:
        raise _unusable(path, e) from None
    return thing


def _unusable(path: Path, error: Exception) -> DatabaseError:
    return DatabaseError(f"the sessions database {path} is unusable: {error} "
                         "(move it away or set ML_INTERN_HOME to another folder)")


@asynccontextmanager
async def _sqlite(home: Path | None = None) -> AsyncIterator:
    import aiosqlite

    path = sqlite_path(home)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), timeout=30)
    except Exception as e:
        raise DatabaseError(f"cannot open the sessions database {path}: {e} "
                            "(set ML_INTERN_HOME to a writable folder)") from None
    try:  # the connection's thread must be closed on every path, or the process never exits
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA busy_timeout=30000")
        except Exception as e:
            raise _unusable(path, e) from None
        yield conn
    finally:
        await conn.close()


@asynccontextmanager
async def open_session_store(home: Path | None = None) -> AsyncIterator:
    """Just the session list, without LangGraph: what `sessions list` needs, fast."""
    from graph.session_store import SqliteSessionStore, store_for

    if database_url():
        async with open_saver(home) as saver:
            store = store_for(saver)
            await store.setup()
            yield store
        return
    async with _sqlite(home) as conn:
        yield await _set_up(SqliteSessionStore(conn), sqlite_path(home))


@asynccontextmanager
async def make_saver() -> AsyncIterator:
    """Entry for langgraph.json's "checkpointer": the project's own persistence under `langgraph dev`."""
    async with open_saver() as saver:
        yield saver
