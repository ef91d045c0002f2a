"""Which web user owns which session: a table beside the session table, in the same database.

The CLI's sessions have no owner (the machine's user owns them all); the web app claims every session it
creates or forks for the signed-in user, and treats a session without this user's claim as one that does
not exist. Several app replicas on one PostgreSQL database see the same claims.
"""

from __future__ import annotations

import time

from persistence.session_store import SELECT_WITH_HOLDER, SessionInfo, SessionStore, _info

SCHEMA = """CREATE TABLE IF NOT EXISTS ml_intern_session_owners (
    session_id TEXT PRIMARY KEY, owner TEXT NOT NULL, claimed_at DOUBLE PRECISION NOT NULL)"""
INDEX = "CREATE INDEX IF NOT EXISTS ml_intern_session_owners_owner ON ml_intern_session_owners (owner)"


class SessionOwners:
    """Claims on sessions, read and written through a SessionStore's connection (SQLite or PostgreSQL)."""

    def __init__(self, store: SessionStore):
        self.store = store

    async def setup(self) -> None:
        await self.store._execute(SCHEMA)
        await self.store._execute(INDEX)

    async def claim(self, session_id: str, owner: str) -> None:
        await self.store._execute(
            self.store._q("INSERT INTO ml_intern_session_owners (session_id, owner, claimed_at) VALUES (?, ?, ?)"),
            (session_id, owner, time.time()),
        )

    async def owner_of(self, session_id: str) -> str | None:
        rows = await self.store._fetch(
            self.store._q("SELECT owner FROM ml_intern_session_owners WHERE session_id = ?"), (session_id,)
        )
        return rows[0][0] if rows else None

    async def sessions_of(self, owner: str, limit: int | None = None) -> list[SessionInfo]:
        """The owner's sessions, the most recently updated first."""
        sql = (
            f"{SELECT_WITH_HOLDER} JOIN ml_intern_session_owners o ON o.session_id = s.id "
            "WHERE o.owner = ? ORDER BY s.updated_at DESC"
        )
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_info(r) for r in await self.store._fetch(self.store._q(sql), (owner,))]

    async def count(self, owner: str) -> int:
        rows = await self.store._fetch(
            self.store._q("SELECT COUNT(*) FROM ml_intern_session_owners WHERE owner = ?"), (owner,)
        )
        return int(rows[0][0]) if rows else 0

    async def release(self, session_id: str) -> None:
        await self.store._execute(
            self.store._q("DELETE FROM ml_intern_session_owners WHERE session_id = ?"), (session_id,)
        )
