"""Where a session's bytes are: its rows in the checkpoint tables, in all and per state channel.

Per channel, so a channel that re-stores its whole value at every step shows as its own quadratic term even
while the total still looks linear (a dict of files read is small next to the messages for the first
hundred steps, and dominates after a thousand). "bookkeeping" is what LangGraph stores around the values:
channel versions, versions seen, ids, metadata. SQLite keeps every value inline in each checkpoint row;
PostgreSQL keeps a value once per new version in checkpoint_blobs and the rest as JSONB.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

CHECKPOINT_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_migrations")
BOOKKEEPING = "bookkeeping"


def sqlite(db: Path, thread_id: str, per_channel: bool = True) -> tuple[int, Counter | None, dict[str, float]]:
    """(bytes of the thread, bytes per channel or None, {"file": database file + WAL})."""
    with sqlite3.connect(db) as conn:
        checkpoints = conn.execute(
            "SELECT COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0) FROM checkpoints WHERE thread_id = ?",
            (thread_id,),
        ).fetchone()[0]
        writes = conn.execute(
            "SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes WHERE thread_id = ?", (thread_id,)
        ).fetchone()[0]
        channels = None
        if per_channel:
            from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

            serde = JsonPlusSerializer()
            channels = Counter()
            snapshots = 0
            rows = conn.execute(
                "SELECT type, checkpoint, LENGTH(metadata) FROM checkpoints WHERE thread_id = ?", (thread_id,)
            )
            for type_, blob, meta in rows:
                values = serde.loads_typed((type_, blob)).get("channel_values") or {}
                inline = 0
                for name, value in values.items():
                    size = len(serde.dumps_typed(value)[1])
                    channels[name] += size
                    inline += size
                    if type(value).__name__ == "_DeltaSnapshot":
                        snapshots += size
                channels[BOOKKEEPING] += max(0, len(blob) - inline) + meta
            for name, size in conn.execute(
                "SELECT channel, SUM(LENGTH(value)) FROM writes WHERE thread_id = ? GROUP BY channel", (thread_id,)
            ):
                channels[name] += size
    extra = {"file": float(file_bytes(db))}
    if channels is not None:
        extra["snapshots"] = float(snapshots)
    return checkpoints + writes, channels, extra


def file_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())


def postgres(url: str, thread_id: str, per_channel: bool = True) -> tuple[int, Counter | None, dict[str, float]]:
    """(bytes of the thread, bytes per channel or None, {"tables": pg_total_relation_size of the tables})."""
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        params = {"t": thread_id}
        head = conn.execute(
            "SELECT COALESCE(SUM(pg_column_size(checkpoint) + pg_column_size(metadata)), 0) "
            "FROM checkpoints WHERE thread_id = %(t)s",
            params,
        ).fetchone()[0]
        channels: Counter = Counter({BOOKKEEPING: int(head)})
        for table in ("checkpoint_blobs", "checkpoint_writes"):
            for name, size in conn.execute(
                f"SELECT channel, SUM(octet_length(blob)) FROM {table} WHERE thread_id = %(t)s GROUP BY channel",
                params,
            ):
                channels[name] += int(size or 0)
        snapshots = conn.execute(
            "SELECT COALESCE(SUM(octet_length(blob)), 0) FROM checkpoint_blobs "
            "WHERE thread_id = %(t)s AND channel = ANY(%(d)s)",
            {**params, "d": delta_channels()},
        ).fetchone()[0]
        tables = 0
        for table in CHECKPOINT_TABLES:
            row = conn.execute("SELECT pg_total_relation_size(to_regclass(%s))", (table,)).fetchone()
            tables += int(row[0] or 0)
    extra = {"tables": float(tables), "snapshots": float(snapshots)}
    return sum(channels.values()), channels if per_channel else None, extra


def delta_channels() -> list[str]:
    """The state channels that store only their changes (their blobs are whole-value snapshots)."""
    from typing import get_type_hints

    from langgraph.channels.delta import DeltaChannel

    from core.state import AgentState

    hints = get_type_hints(AgentState, include_extras=True)
    return [
        name
        for name, hint in hints.items()
        if any(isinstance(meta, DeltaChannel) for meta in getattr(hint, "__metadata__", ()))
    ]


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


def growth(channels_small: Counter, small: int, channels_large: Counter, large: int) -> dict[str, float]:
    """Bytes/step at `large` over bytes/step at `small`, per channel (1.0: linear; ~large/small: quadratic)."""
    out = {}
    for name, size in channels_large.items():
        before = channels_small.get(name, 0)
        out[name] = (size / large) / (before / small) if before else float("inf")
    return out
