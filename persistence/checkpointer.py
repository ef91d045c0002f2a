"""Where checkpoints live: SQLite at $ML_INTERN_HOME/sessions.sqlite by default, PostgreSQL when
ML_INTERN_DATABASE_URL=postgresql://... is set. `make_saver` is the factory langgraph.json names."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from core import credentials
from core.paths import PRIVATE_FILE, private_dir, private_file, tighten
from persistence.database import DatabaseError, database_failure, database_url, db_timeout_s, redact_url, sqlite_path
from persistence.postgres import PostgresSessionStore, open_postgres_saver
from persistence.session_store import SessionStore, SqliteSessionStore


@asynccontextmanager
async def open_saver(home: Path | None = None) -> AsyncIterator:
    """Yield an async checkpoint saver (set up and ready)."""
    url = database_url()
    if url:
        if not url.startswith(("postgres://", "postgresql://")):
            raise DatabaseError(f"ML_INTERN_DATABASE_URL must start with postgresql:// (got {redact_url(url)})")
        async with open_postgres_saver(url) as saver:
            yield saver
        return

    from persistence.savers import SqliteSaver

    async with _sqlite(home) as conn:
        yield await _set_up(SqliteSaver(conn), sqlite_path(home))


async def _set_up(thing, path: Path, *args):
    """Create the tables of a saver or store; a file that is not a usable database is one clear error."""
    try:
        await thing.setup(*args)
    except Exception as e:
        raise _unusable(path, e) from None
    return thing


def _unusable(path: Path, error: Exception) -> DatabaseError:
    known = database_failure(error, path.parent)  # locked, full, damaged: say which
    return DatabaseError(
        known
        or f"the sessions database {path} is unusable: {error} (move it away or set ML_INTERN_HOME to another folder)"
    )


def _check_is_file(path: Path) -> None:
    """Something else where the database should be (a folder, a FIFO) is one clear error, before SQLite
    tries to open it."""
    import stat

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    except OSError as e:
        raise DatabaseError(f"cannot open the sessions database {path}: {e.strerror}") from None
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise DatabaseError(
            f"the sessions database {path} is {kind}: move it away, or set ML_INTERN_HOME to another folder"
        )


async def _connect(path: Path):
    """An aiosqlite connection, or DatabaseError; a failed one has its worker thread stopped first (else
    the thread reports into a closed event loop at exit)."""
    import aiosqlite

    conn = aiosqlite.connect(str(path), timeout=db_timeout_s())
    try:
        return await conn
    except Exception as e:
        thread = getattr(conn, "_thread", None)
        if thread is not None and thread.is_alive():
            await asyncio.get_running_loop().run_in_executor(None, thread.join, 5)
        raise DatabaseError(
            f"cannot open the sessions database {path}: {e} (set ML_INTERN_HOME to a writable folder)"
        ) from None


@asynccontextmanager
async def _sqlite(home: Path | None = None) -> AsyncIterator:
    path = sqlite_path(home)
    _check_is_file(path)
    try:
        private_dir(path.parent)  # $ML_INTERN_HOME 0700, the database 0600 (SQLite gives -wal/-shm its mode)
        private_file(path)
    except OSError as e:
        raise DatabaseError(
            f"cannot create the folder of the sessions database {path}: {e.strerror} "
            "(set ML_INTERN_HOME to a writable folder)"
        ) from None
    conn = await _connect(path)
    try:  # the connection's thread must be closed on every path, or the process never exits
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute(f"PRAGMA busy_timeout={int(db_timeout_s() * 1000)}")
        except Exception as e:
            raise _unusable(path, e) from None
        for suffix in ("-wal", "-shm"):  # left readable by an older version
            tighten(path.with_name(path.name + suffix), PRIVATE_FILE)
        yield conn
    finally:
        await conn.close()


@asynccontextmanager
async def open_session_store(home: Path | None = None) -> AsyncIterator:
    """Just the session list, without LangGraph: what `sessions list` needs, fast."""
    if database_url():
        async with open_saver(home) as saver:
            store = store_for(saver)
            await store.setup(home)
            yield store
        return
    async with _sqlite(home) as conn:
        yield await _set_up(SqliteSessionStore(conn), sqlite_path(home), home)


@asynccontextmanager
async def make_saver() -> AsyncIterator:
    """Entry for langgraph.json's "checkpointer": the project's own persistence under `langgraph dev`.
    It may run before the graph factory, so it takes the keys out of the environment first too.
    The session store in the same database is set up (old sessions migrated) and offered to the
    server's graph and routes (persistence.served) for as long as the saver is open."""
    from persistence.served import serving

    credentials.start()
    async with open_saver() as saver:
        store = store_for(saver)
        await store.setup()
        with serving(store, saver):
            yield saver


def store_for(saver) -> SessionStore:
    """The session store that lives in the same database as `saver`."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    if isinstance(saver, AsyncSqliteSaver):
        return SqliteSessionStore(saver.conn)
    return PostgresSessionStore(saver.conn)
