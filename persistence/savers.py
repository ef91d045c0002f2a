"""LangGraph's SQLite saver with short channel versions (persistence.versions) and an ancestor walk that
does not deserialize every checkpoint. Imported only when the database is opened: it pulls in LangGraph.

A DeltaChannel's value (messages, files_read, turns) is rebuilt from its last snapshot and the writes
since. To find that snapshot, the stock SQLite saver deserializes every ancestor checkpoint in Python
(~40 us each, five per step, several times per resume): resuming a 1,000-step session took ~0.5 s.
Which checkpoint holds a snapshot is already in its metadata: LangGraph counts, per delta channel,
the updates since its last snapshot (`counters_since_delta_snapshot`) and drops a channel's counter
in the checkpoint that snapshots it. So the walk reads only the metadata along the chain (in SQL) and
deserializes just the checkpoints without a counter: snapshots, the thread's first checkpoints, and
those saved before a channel became a delta channel (an older ml-intern), whose plain value is a seed.
"""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    DeltaChannelHistory,
    get_checkpoint_id,
    get_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from persistence.versions import SerialVersions

# The target, then its ancestors nearest first (by parent link: ids only sort within one process).
_CHAIN_SQL = (
    "WITH RECURSIVE chain(checkpoint_id, parent_checkpoint_id, metadata) AS ("
    " SELECT checkpoint_id, parent_checkpoint_id, metadata FROM checkpoints"
    " WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?"
    " UNION ALL"
    " SELECT c.checkpoint_id, c.parent_checkpoint_id, c.metadata FROM chain a CROSS JOIN checkpoints c"
    " ON c.checkpoint_id = a.parent_checkpoint_id WHERE c.thread_id = ? AND c.checkpoint_ns = ?"
    ") SELECT checkpoint_id, {flags} FROM chain"
)
_COUNTER = "json_extract(CAST(metadata AS TEXT), ?) IS NULL"
_BATCH = 500  # ids per IN (...) list: far below SQLite's limit on bound parameters
_ROWS = 4096  # chain rows per trip to the database thread
_CACHED = 8  # histories kept


class SqliteSaver(SerialVersions, AsyncSqliteSaver):
    """Values live inside each checkpoint row: a plain counter is a unique version.

    The histories of the last few checkpoints read are kept: resuming reads the same head three times
    (the caller's state, the settled state, the graph's own load), and a checkpoint's ancestors and
    their writes never change, so the history of a checkpoint id is fixed once written. Callers get
    fresh lists; the values (messages) are shared, as they are between the steps of a run.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._histories: OrderedDict[tuple, dict] = OrderedDict()

    async def aget_delta_channel_history(self, *, config, channels: Sequence[str]) -> Mapping[str, DeltaChannelHistory]:
        """For each channel, its seed (the newest snapshot or plain value among the target's ancestors)
        and its writes after the seed, oldest first; the target's own writes are pending, not history."""
        if not channels:
            return {}
        channels = list(channels)
        await self.setup()
        configurable = config.get("configurable") or {}
        thread_id = str(configurable["thread_id"])
        ns = configurable.get("checkpoint_ns", "")
        target = get_checkpoint_id(config)
        if not target:
            saved = await self.aget_tuple(config)
            if saved is None:
                return {ch: {"writes": []} for ch in channels}
            target = (saved.config.get("configurable") or {})["checkpoint_id"]

        key = (thread_id, ns, target, tuple(channels))
        cached = self._histories.get(key)
        if cached is None:
            cached, found = await self._history(thread_id, ns, target, channels)
            if found:  # a checkpoint not (yet) saved has no fixed history
                self._histories[key] = cached
                while len(self._histories) > _CACHED:
                    self._histories.popitem(last=False)
        else:
            self._histories.move_to_end(key)
        return {ch: _copy(entry) for ch, entry in cached.items()}

    async def _history(self, thread_id: str, ns: str, target: str, channels: list[str]) -> tuple[dict, bool]:
        chain: dict[str, list[str]] = {ch: [] for ch in channels}  # newest first, up to the seed
        seeds: dict[str, Any] = {}
        sql = _CHAIN_SQL.format(flags=", ".join([_COUNTER] * len(channels)))
        paths = [f'$.counters_since_delta_snapshot."{ch}"' for ch in channels]
        async with self.lock:
            active = set(channels)
            seen: set[str] = set()
            async with self.conn.execute(sql, (thread_id, ns, target, thread_id, ns, *paths)) as rows:
                while active and (batch := await rows.fetchmany(_ROWS)):  # one trip per batch, not per row
                    for cid, *maybe_seed in batch:
                        if cid in seen:  # a re-put checkpoint can make the chain a loop
                            active.clear()
                            break
                        seen.add(cid)
                        if cid == target:
                            continue
                        for ch in active:
                            chain[ch].append(cid)
                        probe = [ch for ch, flag in zip(channels, maybe_seed, strict=True) if flag and ch in active]
                        if probe:
                            values = await self._channel_values(thread_id, ns, cid)
                            for ch in probe:
                                if ch in values:
                                    seeds[ch] = values[ch]
                                    active.discard(ch)
                        if not active:
                            break
            writes = await self._writes(thread_id, ns, chain)

        history: dict[str, DeltaChannelHistory] = {}
        for ch in channels:
            collected = []
            for cid in reversed(chain[ch]):
                for _path, task_id, _idx, type_, value in sorted(writes.get((ch, cid), []), key=_write_order):
                    collected.append((task_id, ch, self.serde.loads_typed((type_, value))))
            entry: DeltaChannelHistory = {"writes": collected}
            if ch in seeds:
                entry["seed"] = seeds[ch]
            history[ch] = entry
        return history, target in seen

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """The stock saver's row and commit, in one trip to the database thread instead of three."""
        await self.setup()
        configurable = config.get("configurable") or {}
        type_, blob = self.serde.dumps_typed(checkpoint)
        meta = json.dumps(get_checkpoint_metadata(config, metadata), ensure_ascii=False).encode("utf-8", "ignore")
        row = (
            str(configurable["thread_id"]),
            configurable["checkpoint_ns"],
            checkpoint["id"],
            configurable.get("checkpoint_id"),
            type_,
            blob,
            meta,
        )
        async with self.lock:
            await self._in_db_thread(_put_checkpoint, row)
        return {
            "configurable": {
                "thread_id": configurable["thread_id"],
                "checkpoint_ns": configurable["checkpoint_ns"],
                "checkpoint_id": checkpoint["id"],
            }
        }

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        """The stock saver's rows and commit, in one trip to the database thread instead of four."""
        verb = "REPLACE" if all(w[0] in WRITES_IDX_MAP for w in writes) else "IGNORE"
        await self.setup()
        configurable = config.get("configurable") or {}
        key = (str(configurable["thread_id"]), str(configurable["checkpoint_ns"]), str(configurable["checkpoint_id"]))
        rows = [
            (*key, task_id, task_path, WRITES_IDX_MAP.get(channel, idx), channel, *self.serde.dumps_typed(value))
            for idx, (channel, value) in enumerate(writes)
        ]
        async with self.lock:
            await self._in_db_thread(_put_writes, verb, rows)

    async def _in_db_thread(self, fn: Callable[..., None], *args: Any) -> None:
        """`fn(sqlite3_connection, *args)` on aiosqlite's own thread, as one queued call: every awaited
        aiosqlite call (cursor, execute, close, commit) is a trip to that thread and back, ~0.1 ms of CPU
        each in thread wake-ups, and a step's checkpoints made seven of them per superstep."""
        conn = self.conn
        await conn._execute(fn, conn._conn, *args)  # aiosqlite has no public way to queue a function

    async def adelete_thread(self, thread_id: str) -> None:
        self._histories.clear()
        await super().adelete_thread(thread_id)

    async def _channel_values(self, thread_id: str, ns: str, cid: str) -> Mapping[str, Any]:
        async with self.conn.execute(
            "SELECT type, checkpoint FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?",
            (thread_id, ns, cid),
        ) as cur:
            row = await cur.fetchone()
        return (self.serde.loads_typed((row[0], row[1])).get("channel_values") or {}) if row else {}

    async def _writes(self, thread_id: str, ns: str, chain: dict[str, list[str]]) -> dict[tuple, list]:
        """(channel, checkpoint id) -> the channel's writes stored on that checkpoint."""
        task_path = "task_path" if self._has_task_path else "''"
        found: dict[tuple, list] = {}
        for ch, cids in chain.items():
            for start in range(0, len(cids), _BATCH):
                batch = cids[start : start + _BATCH]
                sql = (
                    f"SELECT checkpoint_id, {task_path}, task_id, idx, type, value FROM writes "
                    "WHERE thread_id = ? AND checkpoint_ns = ? AND channel = ? "
                    f"AND checkpoint_id IN ({','.join('?' * len(batch))})"
                )
                async with self.conn.execute(sql, (thread_id, ns, ch, *batch)) as cur:
                    for cid, *write in await cur.fetchall():
                        found.setdefault((ch, cid), []).append(tuple(write))
        return found


def _put_checkpoint(conn: sqlite3.Connection, row: tuple) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, "
        "checkpoint, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)",
        row,
    )
    conn.commit()


def _put_writes(conn: sqlite3.Connection, verb: str, rows: list[tuple]) -> None:
    conn.executemany(
        f"INSERT OR {verb} INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, "
        "type, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.commit()


def _write_order(write: tuple) -> tuple[str, str, int]:
    task_path, task_id, idx, _type, _value = write
    return writes_sort_key(task_path, task_id, idx)


def _copy(entry: dict[str, Any]) -> DeltaChannelHistory:
    """A cached history the caller may change: its own list of writes."""
    out = DeltaChannelHistory(writes=list(entry["writes"]))
    if "seed" in entry:
        out["seed"] = entry["seed"]
    return out
