"""PostgreSQL persistence: a pooled AsyncPostgresSaver plus the session table in the same database,
so agents on different machines list and resume each other's sessions.

Opening fails fast (a bounded connect timeout) with one DatabaseError line naming
ML_INTERN_DATABASE_URL and the host, password redacted, before any user input is taken.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from persistence.database import DatabaseError, db_timeout_s, redact_url
from persistence.session_store import SessionStore

CONNECT_TIMEOUT_S = 3  # libpq's minimum is 2
POOL_MAX_SIZE = 4  # one agent process rarely has more than a couple of queries in flight
# Schema creation is not safe when two processes set up a fresh database at once: serialise it.
SETUP_LOCK_KEY = 0x6D6C5F696E7465  # "ml_inte"


def _where(url: str) -> str:
    """host:port of the URL, for error messages."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(url)
    except Exception:
        return "?"
    return f"{info.get('host') or 'localhost'}:{info.get('port') or 5432}"


def _one_line(error: BaseException, url: str) -> str:
    from urllib.parse import urlsplit

    # libpq: 'connection failed: connection to server at "h", port p failed: REASON\n\tHINT'; the
    # host is already in our message, so keep REASON only.
    first = (str(error).strip().splitlines() or [""])[0]
    text = " ".join(first.rsplit(" failed: ", 1)[-1].split()) or type(error).__name__
    password = urlsplit(url).password
    if password:
        text = text.replace(password, "***")
    return text


def _unreachable(url: str, reason: str) -> DatabaseError:
    fix = (
        "fix the user, password or database name in the URL"
        if "FATAL" in reason
        else "check that PostgreSQL is running there and the URL is right"
    )
    return DatabaseError(
        f"cannot use the sessions database ML_INTERN_DATABASE_URL={redact_url(url)} "
        f"(host {_where(url)}): {reason}: {fix}, "
        "or unset ML_INTERN_DATABASE_URL to use local SQLite"
    )


@asynccontextmanager
async def _setup_lock(conn, wait_s: float = 60.0):
    """Hold the schema-setup advisory lock. Polled with pg_try_advisory_lock, never a blocking
    pg_advisory_lock: the checkpoint migrations run CREATE INDEX CONCURRENTLY, which waits for every
    open snapshot, including that of a statement blocked on the lock (a deadlock PostgreSQL reports)."""
    from psycopg.rows import tuple_row

    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        async with conn.cursor(row_factory=tuple_row) as cursor:
            await cursor.execute("SELECT pg_try_advisory_lock(%s)", (SETUP_LOCK_KEY,))
            if (await cursor.fetchone())[0]:
                break
        if loop.time() > deadline:
            raise DatabaseError(
                f"another ml-intern has been setting up the sessions database for over "
                f"{wait_s:.0f} s; try again (or look for a stuck process)"
            )
        await asyncio.sleep(0.05)
    try:
        yield
    finally:
        if not conn.closed:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK_KEY,))


async def _prepare(url: str) -> None:
    """Connect once (clear errors instead of a pool timeout) and create the checkpoint tables."""
    import psycopg
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import DictRow, dict_row

    try:
        conn = await asyncio.wait_for(
            psycopg.AsyncConnection[DictRow].connect(
                url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True, prepare_threshold=0, row_factory=dict_row
            ),
            CONNECT_TIMEOUT_S + 1,
        )
    except TimeoutError:  # first: on 3.11 it is an OSError
        raise _unreachable(url, f"no answer within {CONNECT_TIMEOUT_S} s") from None
    except (psycopg.Error, OSError) as e:
        raise _unreachable(url, _one_line(e, url)) from None
    try:
        async with conn, _setup_lock(conn):
            await AsyncPostgresSaver(conn).setup()
    except psycopg.Error as e:
        hint = (
            " (the role needs CREATE rights on the database)"
            if isinstance(e, psycopg.errors.InsufficientPrivilege)
            else ""
        )
        raise DatabaseError(
            f"the sessions database ML_INTERN_DATABASE_URL={redact_url(url)} "
            f"(host {_where(url)}) cannot be set up: {_one_line(e, url)}{hint}"
        ) from None


def _quiet_driver_logs() -> None:
    """psycopg_pool logs every failed reconnection attempt (19 lines while a server is down) and Python's
    last-resort handler prints them over the user's output. The failure itself reaches the user as one
    line (persistence.database.database_failure). An app that configures logging still gets them."""
    for name in ("psycopg", "psycopg.pool"):
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())


@asynccontextmanager
async def open_postgres_saver(url: str) -> AsyncIterator:
    """Yield an AsyncPostgresSaver on a small connection pool, tables created."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg import AsyncConnection
    from psycopg.rows import DictRow, dict_row
    from psycopg_pool import AsyncConnectionPool, PoolTimeout

    _quiet_driver_logs()
    await _prepare(url)
    pool = AsyncConnectionPool[AsyncConnection[DictRow]](
        url,
        min_size=1,
        max_size=POOL_MAX_SIZE,
        open=False,
        timeout=db_timeout_s(),  # how long a query waits for a connection while the server is away
        # A connection the server dropped (restart, failover, idle timeout) is replaced before use,
        # so a long interactive session survives a database restart.
        # (psycopg_pool types this check for the default tuple rows only; it reads no rows)
        check=AsyncConnectionPool.check_connection,  # pyright: ignore[reportArgumentType]
        kwargs={
            "autocommit": True,
            "prepare_threshold": 0,
            "row_factory": dict_row,
            "connect_timeout": CONNECT_TIMEOUT_S,
        },
    )
    try:
        await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S * 2)
    except PoolTimeout:
        await pool.close()
        raise _unreachable(url, "the connection pool could not connect") from None
    try:
        yield AsyncPostgresSaver(pool)
    finally:
        await pool.close()


class PostgresSessionStore(SessionStore):
    """The session table on the saver's connection pool. The pool hands out dict rows (the saver
    needs them); the store reads tuples in column order like SQLite does."""

    placeholder = "%s"
    checkpoint_tables = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")

    def __init__(self, pool):  # psycopg_pool.AsyncConnectionPool, shared with the saver
        self.conn = pool

    async def _execute(self, sql: str, params: tuple = ()) -> int:
        async with self.conn.connection() as conn:
            return (await conn.execute(sql, params or None)).rowcount

    async def _fetch(self, sql: str, params: tuple = ()) -> list[tuple]:
        from psycopg.rows import tuple_row

        async with self.conn.connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            await cursor.execute(sql, params or None)
            return list(await cursor.fetchall())

    async def _transaction(self, steps: list[tuple[str, tuple]]) -> None:
        async with self.conn.connection() as conn, conn.transaction():
            for sql, params in steps:
                await conn.execute(sql, params)

    async def _tables(self) -> set[str]:
        rows = await self._fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return {row[0] for row in rows}

    async def setup(self, home: Path | None = None) -> None:
        """The base schema (and whatever it migrates), one process at a time."""
        async with self.conn.connection() as conn, _setup_lock(conn):
            await super().setup(home)
