"""The PostgreSQL saver's writes, each one statement: a checkpoint with its channel blobs, a step's writes.

LangGraph's ``AsyncPostgresSaver`` sends a checkpoint as a pipeline (an ``executemany`` of its blobs, then the
checkpoint's upsert) and a step's writes as a pipelined ``executemany``, after serialising them on a thread of the
loop's default executor. psycopg's pipeline machinery is Python run per statement and per result: in a profile of
64 signed-in conversations on PostgreSQL (bench/profile_turn.py --database postgres --turn tool) it was the
largest part of the main thread's own time. Here the rows are the same, serialised on the loop (a few small
msgpack dumps), and sent as arrays that one statement unnests:

- a checkpoint: a data-modifying ``WITH`` inserts the blobs (``ON CONFLICT DO NOTHING``, as the stock statement)
  beside the checkpoint's upsert, which is the saver's own ``UPSERT_CHECKPOINTS_SQL`` (the runtime's adds the store
  journal's position);
- a step's writes: one ``INSERT ... SELECT FROM unnest`` with the stock statement's conflict rule (special
  channels replace what was stored, the others keep it). One statement may not touch a row twice, so a batch that
  names one key twice keeps the write the stock saver's row would end with (the last one when replacing, the
  first when keeping).

``test_internals_contract`` checks that the rows are the stock saver's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    Checkpoint,
    CheckpointMetadata,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from psycopg.types.json import Jsonb

_BLOBS = """
WITH blobs AS (
    INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
    SELECT %s, %s, b.channel, b.version, b.type, b.blob
    FROM unnest(%s::text[], %s::text[], %s::text[], %s::bytea[]) AS b (channel, version, type, blob)
    ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING
)
"""

_WRITES = """
INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob)
SELECT %s, %s, %s, %s, %s, w.idx, w.channel, w.type, w.blob
FROM unnest(%s::integer[], %s::text[], %s::text[], %s::bytea[]) AS w (idx, channel, type, blob)
ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) DO
"""
_REPLACE = "UPDATE SET channel = EXCLUDED.channel, type = EXCLUDED.type, blob = EXCLUDED.blob"
_KEEP = "NOTHING"


def split_channel_values(checkpoint: Checkpoint) -> tuple[dict[str, Any], dict[str, Any]]:
    """The checkpoint as its row stores it (primitive values inline, a delta snapshot as a marker) and the values
    that go to blobs: the stock ``aput``'s split."""
    inline = checkpoint.copy()
    inline["channel_values"] = dict(checkpoint["channel_values"])
    blobs: dict[str, Any] = {}
    for key, value in checkpoint["channel_values"].items():
        if isinstance(value, _DeltaSnapshot):
            blobs[key] = inline["channel_values"].pop(key)
            inline["channel_values"][key] = True
        elif value is not None and not isinstance(value, (str, int, float, bool)):
            blobs[key] = inline["channel_values"].pop(key)
    return inline, blobs


def _columns(rows: Sequence[tuple[Any, ...]], start: int) -> list[list[Any]]:
    """The rows' columns from ``start`` on, as lists (one array parameter each)."""
    return [list(column) for column in zip(*(row[start:] for row in rows), strict=True)] if rows else []


class PostgresOneTripWrites:
    """``aput`` and ``aput_writes`` for an ``AsyncPostgresSaver`` subclass, one statement each.

    The host class provides ``_cursor``, ``serde``, ``_dump_blobs``, ``_dump_writes`` and
    ``UPSERT_CHECKPOINTS_SQL`` (LangGraph's saver), and ``pipe`` (a saver on a caller's pipeline keeps the stock
    path).
    """

    pipe: Any
    UPSERT_CHECKPOINTS_SQL: str

    async def aput(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
                   new_versions: Any) -> RunnableConfig:
        if self.pipe:
            return await super().aput(config, checkpoint, metadata, new_versions)  # type: ignore[misc]
        configurable = config["configurable"]
        thread_id, checkpoint_ns = configurable["thread_id"], configurable["checkpoint_ns"]
        inline, blob_values = split_channel_values(checkpoint)
        versions = {k: v for k, v in new_versions.items() if k in blob_values}
        blobs = self._dump_blobs(thread_id, checkpoint_ns, blob_values, versions)  # type: ignore[attr-defined]
        upsert = self.UPSERT_CHECKPOINTS_SQL.strip().rstrip(";")
        params = [thread_id, checkpoint_ns, checkpoint["id"], configurable.get("checkpoint_id"), Jsonb(inline),
                  Jsonb(get_serializable_checkpoint_metadata(config, metadata))]
        async with self._cursor() as cur:  # type: ignore[attr-defined]
            if blobs:
                await cur.execute(_BLOBS + upsert, [thread_id, checkpoint_ns, *_columns(blobs, 2), *params])
            else:
                await cur.execute(upsert, params)
        return {"configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns,
                                 "checkpoint_id": checkpoint["id"]}}

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str,
                          task_path: str = "") -> None:
        if self.pipe or not writes:
            return await super().aput_writes(config, writes, task_id, task_path)  # type: ignore[misc]
        configurable = config["configurable"]
        replace = all(channel in WRITES_IDX_MAP for channel, _ in writes)
        rows = self._dump_writes(configurable["thread_id"], configurable["checkpoint_ns"],  # type: ignore[attr-defined]
                                 configurable["checkpoint_id"], task_id, task_path, writes)
        # One row per idx, the one the stock saver's statements, run one by one, would leave.
        by_idx: dict[int, tuple[Any, ...]] = {}
        for row in rows:
            if replace or row[5] not in by_idx:
                by_idx[row[5]] = row
        kept = list(by_idx.values())
        async with self._cursor() as cur:  # type: ignore[attr-defined]
            await cur.execute(_WRITES + (_REPLACE if replace else _KEEP),
                              [*kept[0][:5], *_columns(kept, 5)])
