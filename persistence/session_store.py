"""Session metadata (id, times, model, workspace, title, status) in a table beside the checkpoints,
so listing 1,000 sessions is one query instead of a walk over checkpoint history.

It is the one registry of sessions: the CLI adds a row when it starts one, the LangGraph API server when a
thread first runs (`register`). Ids are UUIDs (persistence.session_ids); a database with sessions from
before that is migrated when it is opened (`setup`): each old id becomes a UUID, with its checkpoints.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from persistence.session_ids import MIN_ENDING, canonical, from_legacy
from persistence.session_lock import LOCK_COLUMNS, LOCK_SCHEMA, Holder, is_alive

COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "model",
    "workspace",
    "title",
    "status",
    "parent_id",
    "approval_mode",
    "legacy_id",
)
SCHEMA = """CREATE TABLE IF NOT EXISTS ml_intern_sessions (
    id TEXT PRIMARY KEY, created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
    model TEXT NOT NULL DEFAULT '', workspace TEXT NOT NULL DEFAULT '', title TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'idle', parent_id TEXT, approval_mode TEXT NOT NULL DEFAULT '', legacy_id TEXT)"""
INDEX = "CREATE INDEX IF NOT EXISTS ml_intern_sessions_updated ON ml_intern_sessions (updated_at DESC)"
# A legacy id is 15-22 characters; a UUID is 36 with dashes at fixed places: the rows to migrate.
LEGACY_ROWS = "SELECT id FROM ml_intern_sessions WHERE length(id) <> 36 OR substr(id, 9, 1) <> '-'"


SELECT_WITH_HOLDER = (
    f"SELECT {', '.join('s.' + c for c in COLUMNS)}, {', '.join('l.' + c for c in LOCK_COLUMNS[1:])} "
    "FROM ml_intern_sessions s LEFT JOIN ml_intern_session_locks l ON l.session_id = s.id"
)


class SessionNotFound(Exception):
    pass


@dataclass
class SessionInfo:
    id: str
    created_at: float
    updated_at: float
    model: str = ""
    workspace: str = ""
    title: str = ""
    status: str = "idle"
    parent_id: str | None = None
    approval_mode: str = ""  # ask | yolo: kept so a resumed session asks the way it did
    legacy_id: str | None = None  # the id it had before ids were UUIDs (still accepted)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _info(row: tuple) -> SessionInfo:
    """A session row with its lease holder's columns: "running" only while a live process drives it
    (a driver killed, out of disk or hung up on never wrote its last status)."""
    info = SessionInfo(*row[: len(COLUMNS)])
    holder = Holder(*row[len(COLUMNS) :]) if row[len(COLUMNS)] is not None else None
    if info.status == "running" and (holder is None or not is_alive(holder)):
        info.status = "interrupted"
    return info


class SessionStore:
    """Backend-neutral SQL; subclasses run it on SQLite (aiosqlite) or PostgreSQL (psycopg pool)."""

    placeholder = "?"
    checkpoint_tables: tuple[str, ...] = ()  # the saver's tables keyed by thread_id (renamed with a session)

    async def _execute(self, sql: str, params: tuple = ()) -> int:
        """Run one statement; the number of rows it changed."""
        raise NotImplementedError

    async def _fetch(self, sql: str, params: tuple = ()) -> list[tuple]:
        raise NotImplementedError

    def _q(self, sql: str) -> str:
        return sql.replace("?", self.placeholder)

    async def _transaction(self, steps: list[tuple[str, tuple]]) -> None:
        """Run statements all or none."""
        raise NotImplementedError

    async def _tables(self) -> set[str]:
        raise NotImplementedError

    async def setup(self, home: Path | None = None) -> None:
        """Create the tables; migrate old columns and old session ids (their folders under `home` too)."""
        await self._execute(SCHEMA)
        await self._execute(INDEX)
        await self._execute(LOCK_SCHEMA)
        await self._migrate()
        await self.migrate_legacy_ids(home)

    async def _migrate(self) -> None:
        """Columns added after a database was created (CREATE TABLE IF NOT EXISTS leaves old tables as they are)."""
        for column, kind in (("approval_mode", "TEXT NOT NULL DEFAULT ''"), ("legacy_id", "TEXT")):
            try:
                await self._fetch(f"SELECT {column} FROM ml_intern_sessions LIMIT 1")
            except Exception:
                await self._execute(f"ALTER TABLE ml_intern_sessions ADD COLUMN {column} {kind}")

    async def migrate_legacy_ids(self, home: Path | None = None) -> list[tuple[str, str]]:
        """Give every session with an old-style id its UUID (session_ids.from_legacy), in one transaction per
        session: the row, its children's parent_id, its lease and its checkpoints. The session's folder moves
        too, and the old folder name stays as a link (outputs the model was told about keep their paths).
        Idempotent and safe to run from two processes at once: the new id is derived from the old one.
        Returns the (old, new) pairs renamed."""
        legacy = [row[0] for row in await self._fetch(LEGACY_ROWS)]
        if not legacy:
            return []
        tables = [t for t in self.checkpoint_tables if t in await self._tables()]
        renamed = []
        for old in legacy:
            new = from_legacy(old)
            steps = [(self._q(f"UPDATE {table} SET thread_id = ? WHERE thread_id = ?"), (new, old)) for table in tables]
            steps += [
                (self._q("UPDATE ml_intern_sessions SET id = ?, legacy_id = ? WHERE id = ?"), (new, old, old)),
                (self._q("UPDATE ml_intern_sessions SET parent_id = ? WHERE parent_id = ?"), (new, old)),
                (self._q("UPDATE ml_intern_session_locks SET session_id = ? WHERE session_id = ?"), (new, old)),
            ]
            moved = _move_folder(home, old, new)
            try:
                await self._transaction(steps)
            except Exception:
                if moved:
                    _move_folder_back(home, old, new)
                raise
            renamed.append((old, new))
        return renamed

    async def register(self, info: SessionInfo) -> bool:
        """Add a session unless its id is known (a thread the API server runs for the first time); True if added."""
        values = tuple(getattr(info, c) for c in COLUMNS)
        return bool(
            await self._execute(
                self._q(
                    f"INSERT INTO ml_intern_sessions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
                    "ON CONFLICT (id) DO NOTHING"
                ),
                values,
            )
        )

    async def create(self, info: SessionInfo) -> None:
        values = tuple(getattr(info, c) for c in COLUMNS)
        await self._execute(
            self._q(f"INSERT INTO ml_intern_sessions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"),
            values,
        )

    async def update(self, session_id: str, **fields: Any) -> None:
        fields.setdefault("updated_at", time.time())
        assignments = ", ".join(f"{k} = ?" for k in fields)
        await self._execute(
            self._q(f"UPDATE ml_intern_sessions SET {assignments} WHERE id = ?"), (*fields.values(), session_id)
        )

    async def get(self, session_id: str) -> SessionInfo | None:
        rows = await self._fetch(self._q(f"{SELECT_WITH_HOLDER} WHERE s.id = ?"), (session_id,))
        return _info(rows[0]) if rows else None

    async def find(self, prefix: str) -> list[SessionInfo]:
        """Sessions whose id starts with `prefix`, taken literally: no LIKE, so '%' and '_' are just
        characters and case matters on both backends."""
        rows = await self._fetch(
            self._q(f"{SELECT_WITH_HOLDER} WHERE substr(s.id, 1, length(?)) = ? ORDER BY s.updated_at DESC LIMIT 5"),
            (prefix, prefix),
        )
        return [_info(r) for r in rows]

    async def find_ending(self, ending: str) -> list[SessionInfo]:
        """Sessions whose (UUID) id ends with `ending` (the short form lists show), taken literally."""
        rows = await self._fetch(
            self._q(
                f"{SELECT_WITH_HOLDER} WHERE length(s.id) = 36 AND substr(s.id, 37 - length(?)) = ? "
                "ORDER BY s.updated_at DESC LIMIT 5"
            ),
            (ending, ending),
        )
        return [_info(r) for r in rows]

    async def resolve(self, session_id: str | None) -> SessionInfo:
        """The session with this id or unique id prefix; None means the most recent one.

        An empty id (an unset shell variable) or a prefix of several sessions is refused, never guessed."""
        if session_id is None:
            latest = await self.list(limit=1)
            if not latest:
                raise SessionNotFound('there is no session to continue yet: start one with `ml-intern "PROMPT"`')
            return latest[0]
        if not session_id.strip():
            raise SessionNotFound(
                "the session id is empty (an unset variable?): pass one from `ml-intern sessions list`"
            )
        info = await self.get(canonical(session_id))
        if info is not None:
            return info
        rows = await self._fetch(self._q(f"{SELECT_WITH_HOLDER} WHERE s.legacy_id = ?"), (session_id,))
        if rows:
            return _info(rows[0])
        matches = await self.find(session_id)
        if not matches and len(session_id) >= MIN_ENDING:
            matches = await self.find_ending(session_id)
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise SessionNotFound(
                f"the session id '{session_id}' is ambiguous: it is part of "
                f"{', '.join(m.id for m in matches)}{' and more' if len(matches) == 5 else ''} (give more characters)"
            )
        raise SessionNotFound(f"no session '{session_id}' (see `ml-intern sessions list`)")

    async def list(self, limit: int | None = None) -> list[SessionInfo]:
        sql = f"{SELECT_WITH_HOLDER} ORDER BY s.updated_at DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_info(r) for r in await self._fetch(sql)]

    async def delete(self, session_id: str) -> None:
        await self._execute(self._q("DELETE FROM ml_intern_sessions WHERE id = ?"), (session_id,))
        await self._execute(self._q("DELETE FROM ml_intern_session_locks WHERE session_id = ?"), (session_id,))

    # -- the driver lease (persistence.session_lock) -------------------------------------------

    async def lock_insert(self, session_id: str, holder: Holder) -> bool:
        values = (session_id, *(getattr(holder, c) for c in LOCK_COLUMNS[1:]))
        return bool(
            await self._execute(
                self._q(
                    f"INSERT INTO ml_intern_session_locks ({', '.join(LOCK_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(LOCK_COLUMNS))}) ON CONFLICT (session_id) DO NOTHING"
                ),
                values,
            )
        )

    async def lock_get(self, session_id: str) -> Holder | None:
        rows = await self._fetch(
            self._q(f"SELECT {', '.join(LOCK_COLUMNS[1:])} FROM ml_intern_session_locks WHERE session_id = ?"),
            (session_id,),
        )
        return Holder(*rows[0]) if rows else None

    async def lock_replace(self, session_id: str, old_token: str, holder: Holder) -> bool:
        """Take the lease over from `old_token` (a holder found dead); False when someone else was faster."""
        columns = LOCK_COLUMNS[1:]
        return bool(
            await self._execute(
                self._q(
                    f"UPDATE ml_intern_session_locks SET {', '.join(f'{c} = ?' for c in columns)} "
                    "WHERE session_id = ? AND token = ?"
                ),
                (*(getattr(holder, c) for c in columns), session_id, old_token),
            )
        )

    async def lock_touch(self, session_id: str, token: str, now: float) -> bool:
        """The heartbeat; False when the lease is no longer ours."""
        return bool(
            await self._execute(
                self._q("UPDATE ml_intern_session_locks SET heartbeat = ? WHERE session_id = ? AND token = ?"),
                (now, session_id, token),
            )
        )

    async def lock_delete(self, session_id: str, token: str) -> None:
        await self._execute(
            self._q("DELETE FROM ml_intern_session_locks WHERE session_id = ? AND token = ?"), (session_id, token)
        )


def _session_folder(home: Path | None, session_id: str) -> Path:
    from core.paths import ml_intern_home

    return (home or ml_intern_home()) / "sessions" / session_id  # not core.paths.session_dir: that creates it


def _move_folder(home: Path | None, old: str, new: str) -> bool:
    """Move a migrated session's folder to its new id, leaving a link at the old name; True if moved."""
    source, target = _session_folder(home, old), _session_folder(home, new)
    if source.is_symlink() or not source.is_dir() or target.exists():
        return False
    source.rename(target)
    with contextlib.suppress(OSError):
        os.symlink(target.name, source)
    return True


def _move_folder_back(home: Path | None, old: str, new: str) -> None:
    source, target = _session_folder(home, old), _session_folder(home, new)
    with contextlib.suppress(OSError):
        if source.is_symlink():
            source.unlink()
        target.rename(source)


class SqliteSessionStore(SessionStore):
    checkpoint_tables = ("checkpoints", "writes")

    def __init__(self, conn):  # aiosqlite.Connection shared with the checkpoint saver
        self.conn = conn

    async def _transaction(self, steps: list[tuple[str, tuple]]) -> None:
        try:
            for sql, params in steps:
                await self.conn.execute(sql, params)
        except BaseException:
            await self.conn.rollback()
            raise
        await self.conn.commit()

    async def _tables(self) -> set[str]:
        return {row[0] for row in await self._fetch("SELECT name FROM sqlite_master WHERE type = 'table'")}

    async def _execute(self, sql: str, params: tuple = ()) -> int:
        cursor = await self.conn.execute(sql, params)
        count = cursor.rowcount
        await self.conn.commit()
        return count

    async def _fetch(self, sql: str, params: tuple = ()) -> list[tuple]:
        async with self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())
