"""Retention on the SQLite checkpoint saver: ``aprune``, ``acopy_thread`` and ``adelete_for_runs``, and the
catalogue of threads (ids, sizes, existence) the retention commands read.

langgraph-checkpoint-sqlite 3.1.2 implements only ``adelete_thread`` of LangGraph's retention interface; the
product's saver gets the rest from this mixin, in the same tables the stock saver writes.

Why pruning is more than ``DELETE``: the message history is a ``DeltaChannel``. A checkpoint stores only the
messages of its step; its full history is rebuilt by walking the parent chain back to the nearest
``_DeltaSnapshot`` (every 500 updates). Dropping the ancestors of a kept checkpoint would silently empty its
history. So before ancestors go, every kept checkpoint whose parent is not kept gets its delta channels
materialised as a ``_DeltaSnapshot`` (the "force a fresh snapshot" option of ``BaseCheckpointSaver.prune``),
and its parent link is cleared.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from langgraph.errors import EmptyChannelError

#: ``aprune`` strategies, as ``BaseCheckpointSaver.prune`` names them.
KEEP_LATEST = "keep_latest"
DELETE = "delete"

_Key = tuple[str, str, str]  # thread id, namespace, checkpoint id

_USAGE = """
SELECT c.thread_id, c.n, c.size + coalesce(w.size, 0), c.last FROM
  (SELECT thread_id, count(*) AS n, sum(length(checkpoint) + coalesce(length(metadata), 0)) AS size,
          max(checkpoint_id) AS last FROM checkpoints GROUP BY thread_id) AS c
LEFT JOIN (SELECT thread_id, sum(coalesce(length(value), 0)) AS size FROM writes GROUP BY thread_id) AS w
  ON w.thread_id = c.thread_id
"""


def split_kept(thread_id: str, rows: Sequence[tuple], keep_last: int) -> tuple[dict[str, dict[str, Any]], list[_Key]]:
    """Of a thread's checkpoints ((namespace, id, parent), newest first within each namespace): the newest
    ``keep_last`` per namespace ({namespace: {id: parent}}), and the keys of the rest."""
    kept: dict[str, dict[str, Any]] = {}
    dropped: list[_Key] = []
    for ns, cid, parent in rows:
        in_ns = kept.setdefault(str(ns), {})
        if len(in_ns) < keep_last:
            in_ns[str(cid)] = parent
        else:
            dropped.append((thread_id, str(ns), str(cid)))
    return kept, dropped


class SqliteRetentionMixin:
    """``aprune`` / ``acopy_thread`` / ``adelete_for_runs`` for an ``AsyncSqliteSaver`` subclass.

    The host class provides ``conn`` (aiosqlite), ``lock``, ``serde``, ``setup()``, ``adelete_thread()``,
    ``aget_delta_channel_history()`` and ``delta_specs()`` (the graph's DeltaChannels by field name).
    """

    conn: Any
    lock: Any
    serde: Any

    def delta_specs(self) -> Mapping[str, DeltaChannel]:
        """The DeltaChannels whose history pruning must preserve (none by default)."""
        return {}

    def forget_thread(self, thread_id: str) -> None:
        """Drop what the saver remembers of a thread in memory (after its rows changed under it)."""

    # --- the catalogue: which threads there are, and what they take ------------------------------------
    async def athread_ids(self) -> list[str]:
        """Every thread with a checkpoint, most recently active first."""
        await self.setup()  # type: ignore[attr-defined]
        async with self.lock, self.conn.execute(
                "SELECT thread_id, max(checkpoint_id) AS last FROM checkpoints GROUP BY thread_id "
                "ORDER BY last DESC") as cursor:
            return [str(r[0]) for r in await cursor.fetchall()]

    async def athread_usage(self) -> list[tuple[str, int, int, str]]:
        """(thread, checkpoints, bytes of checkpoints, metadata and writes, newest checkpoint id) per thread."""
        await self.setup()  # type: ignore[attr-defined]
        async with self.lock, self.conn.execute(_USAGE) as cursor:
            return [tuple(row) for row in await cursor.fetchall()]

    async def athread_exists(self, thread_id: str, tables: Sequence[tuple[str, str]]) -> bool:
        """Whether the thread has a checkpoint, or a row in one of ``tables`` ((table, thread column))."""
        await self.setup()  # type: ignore[attr-defined]
        async with self.lock:
            async with self.conn.execute("SELECT 1 FROM checkpoints WHERE thread_id = ? LIMIT 1", (thread_id,)) as cur:
                if await cur.fetchone() is not None:
                    return True
            for table, column in await self._present(tables):
                async with self.conn.execute(f'SELECT 1 FROM "{table}" WHERE "{column}" = ? LIMIT 1',
                                             (thread_id,)) as cur:
                    if await cur.fetchone() is not None:
                        return True
        return False

    async def adelete_thread_rows(self, thread_id: str, tables: Sequence[tuple[str, str]]) -> None:
        """Delete the thread's rows in ``tables`` (its lease, claim, recorded responses), in one transaction."""
        async with self.lock:
            for table, column in await self._present(tables):
                await self.conn.execute(f'DELETE FROM "{table}" WHERE "{column}" = ?', (thread_id,))
            await self.conn.commit()

    async def _present(self, tables: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """The tables that exist in this file (a feature's table may not, yet)."""
        async with self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cursor:
            names = {str(row[0]) for row in await cursor.fetchall()}
        return [(table, column) for table, column in tables if table in names]

    # --- copy -----------------------------------------------------------------------------------------
    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint (all namespaces, the whole parent chain) and write of a thread to a new id.

        The copy keeps the checkpoint ids, so parent links and DeltaChannel histories resolve in the target as
        in the source. Raises ``ValueError`` when the target already has checkpoints (two histories would mix).
        """
        await self.setup()  # type: ignore[attr-defined]
        source, target = str(source_thread_id), str(target_thread_id)
        async with self.lock:
            async with self.conn.execute("SELECT 1 FROM checkpoints WHERE thread_id = ? LIMIT 1", (target,)) as cur:
                if await cur.fetchone() is not None:
                    raise ValueError(f"thread {target} already has checkpoints")
            try:
                await self.conn.execute(
                    "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, "
                    "checkpoint, metadata) SELECT ?, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, "
                    "checkpoint, metadata FROM checkpoints WHERE thread_id = ?", (target, source))
                await self.conn.execute(
                    "INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, "
                    "type, value) SELECT ?, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, "
                    "value FROM writes WHERE thread_id = ?", (target, source))
                await self.conn.commit()
            except BaseException:
                await self.conn.rollback()
                raise

    # --- delete by run ----------------------------------------------------------------------------------
    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints written by these runs (``metadata.run_id``) and the writes stored under them.

        As ``BaseCheckpointSaver.delete_for_runs`` warns, this can cut a live thread's DeltaChannel history; the
        product's retention commands never call it (they prune or delete whole threads).
        """
        if not run_ids:
            return
        await self.setup()  # type: ignore[attr-defined]
        marks = ",".join("?" * len(run_ids))
        async with self.lock:
            # The stock saver stores metadata as UTF-8 JSON in a BLOB: json_extract needs it as TEXT.
            async with self.conn.execute(
                    "SELECT thread_id, checkpoint_ns, checkpoint_id FROM checkpoints "
                    f"WHERE json_extract(CAST(metadata AS TEXT), '$.run_id') IN ({marks})",
                    [str(r) for r in run_ids]) as cur:
                keys = [(str(a), str(b), str(c)) for a, b, c in await cur.fetchall()]
            await self._delete_keys(keys)
        for thread_id in {k[0] for k in keys}:
            self.forget_thread(thread_id)

    # --- prune ------------------------------------------------------------------------------------------
    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = KEEP_LATEST) -> None:
        """Prune threads: ``keep_latest`` keeps the newest checkpoint of each namespace (its message history
        intact), ``delete`` removes the threads' checkpoints and writes."""
        if strategy == DELETE:
            for thread_id in thread_ids:
                await self.adelete_thread(str(thread_id))  # type: ignore[attr-defined]
            return
        if strategy != KEEP_LATEST:
            raise ValueError(f"unknown prune strategy {strategy!r} (use {KEEP_LATEST!r} or {DELETE!r})")
        for thread_id in thread_ids:
            await self.atrim_thread(str(thread_id), keep_last=1)

    async def atrim_thread(self, thread_id: str, *, keep_last: int) -> int:
        """Keep the newest ``keep_last`` checkpoints of each of the thread's namespaces, delete the rest with
        their writes; the kept ones keep their full DeltaChannel values. Returns how many were deleted."""
        if keep_last < 1:
            raise ValueError("keep_last must be at least 1 (delete the thread to remove everything)")
        await self.setup()  # type: ignore[attr-defined]
        async with self.lock, self.conn.execute(
                "SELECT checkpoint_ns, checkpoint_id, parent_checkpoint_id FROM checkpoints WHERE thread_id = ? "
                "ORDER BY checkpoint_ns, checkpoint_id DESC", (thread_id,)) as cur:
            rows = [(str(ns), str(cid), parent) for ns, cid, parent in await cur.fetchall()]
        kept, dropped = split_kept(thread_id, rows, keep_last)
        if not dropped:
            return 0
        # Kept checkpoints whose parent goes: the new roots of the kept history. Their delta values are read
        # now, through the chain that is about to be cut (outside the lock: the read takes it itself).
        roots = [(ns, cid) for ns, in_ns in kept.items() for cid, parent in in_ns.items()
                 if parent is not None and parent not in in_ns]
        rewrites = [await self._snapshotted_row(thread_id, ns, cid) for ns, cid in roots]
        async with self.lock:
            try:
                for (ns, cid), (type_, blob, metadata) in zip(roots, rewrites, strict=True):
                    await self.conn.execute(
                        "UPDATE checkpoints SET type = ?, checkpoint = ?, metadata = ?, parent_checkpoint_id = NULL "
                        "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?",
                        (type_, blob, metadata, thread_id, ns, cid))
                await self._delete_keys(dropped, commit=False)
                await self.conn.commit()
            except BaseException:
                await self.conn.rollback()
                raise
        self.forget_thread(thread_id)
        return len(dropped)

    async def _snapshotted_row(self, thread_id: str, ns: str, checkpoint_id: str) -> tuple[str, bytes, bytes]:
        """The checkpoint row with each delta channel's value stored as a ``_DeltaSnapshot``."""
        async with self.lock, self.conn.execute(
                "SELECT type, checkpoint, metadata FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? "
                "AND checkpoint_id = ?", (thread_id, ns, checkpoint_id)) as cur:
            type_, blob, metadata_blob = await cur.fetchone()
        checkpoint = self.serde.loads_typed((type_, blob))
        metadata = json.loads(metadata_blob) if metadata_blob is not None else {}
        specs = self.delta_specs()
        pending = [name for name in specs if name in checkpoint.get("channel_versions", {})
                   and not isinstance(checkpoint["channel_values"].get(name), _DeltaSnapshot)]
        if pending:
            config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint_id}}
            histories = await self.aget_delta_channel_history(config=config, channels=pending)  # type: ignore[attr-defined]
            counters = dict(metadata.get("counters_since_delta_snapshot") or {})
            for name in pending:
                history = histories.get(name) or {}
                channel = specs[name].from_checkpoint(history.get("seed"))
                channel.replay_writes(list(history.get("writes", [])))
                try:
                    checkpoint["channel_values"][name] = _DeltaSnapshot(channel.get())
                except EmptyChannelError:
                    continue
                counters.pop(name, None)  # a snapshot is here now: the count starts again
            if counters:
                metadata["counters_since_delta_snapshot"] = counters
            else:
                metadata.pop("counters_since_delta_snapshot", None)
        new_type, new_blob = self.serde.dumps_typed(checkpoint)
        return new_type, new_blob, json.dumps(metadata, ensure_ascii=False).encode("utf-8", "ignore")

    async def _delete_keys(self, keys: Sequence[_Key], *, commit: bool = True) -> None:
        """Delete these checkpoints and the writes stored under them (caller holds ``lock``)."""
        for key in keys:
            await self.conn.execute(
                "DELETE FROM writes WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?", key)
            await self.conn.execute(
                "DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?", key)
        if commit:
            await self.conn.commit()
