"""The PostgreSQL saver's writes, each one statement: a checkpoint with its channel blobs, a step's writes.

LangGraph's ``AsyncPostgresSaver`` sends a checkpoint as a pipeline (an ``executemany`` of its blobs, then the
checkpoint's upsert) and a step's writes as a pipelined ``executemany``, after serialising them on a thread of the
loop's default executor. psycopg's pipeline machinery is Python run per statement and per result: in a profile of
64 signed-in conversations on PostgreSQL (bench/profile_turn.py --database postgres --turn tool) it was the
largest part of the main thread's own time. Here the rows are the same, serialised on the loop (a few small
msgpack dumps), and sent as the ``VALUES`` rows of one statement (as arrays it unnests past ``VALUES_ROWS`` rows):

- a checkpoint: a data-modifying ``WITH`` inserts the blobs (``ON CONFLICT DO NOTHING``, as the stock statement)
  beside the checkpoint's upsert, which is the saver's own ``UPSERT_CHECKPOINTS_SQL`` (the runtime's adds the store
  journal's position);
- a step's writes: one ``INSERT`` with the stock statement's conflict rule (special channels replace what was
  stored, the others keep it). One statement may not touch a row twice, so a batch that
  names one key twice keeps the write the stock saver's row would end with (the last one when replacing, the
  first when keeping).

``test_internals_contract`` checks that the rows are the stock saver's.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
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

#: Up to this many rows a statement lists them as ``VALUES`` rows, one parameter per column: psycopg dumps a str,
#: an int or bytes in C, but an array parameter in Python, element by element, after looking through the list for
#: its element type (in a profile of the PostgreSQL tool turn, a third of an ``aput_writes``). Each row count is a
#: statement of its own, prepared once per connection; a larger batch (rare: a step's writes are a handful) goes
#: as arrays that one statement unnests, as one statement may carry at most 65535 parameters.
VALUES_ROWS = 64

_BLOB_COLUMNS = "checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)"
_BLOB_CONFLICT = "ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING"
_BLOBS_UNNESTED = f"""
WITH blobs AS (
    INSERT INTO {_BLOB_COLUMNS}
    SELECT %s, %s, b.channel, b.version, b.type, b.blob
    FROM unnest(%s::text[], %s::text[], %s::text[], %s::bytea[]) AS b (channel, version, type, blob)
    {_BLOB_CONFLICT}
)
"""

_WRITE_COLUMNS = ("checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, "
                  "blob)")
_WRITE_CONFLICT = "ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) DO "
_WRITES_UNNESTED = f"""
INSERT INTO {_WRITE_COLUMNS}
SELECT %s, %s, %s, %s, %s, w.idx, w.channel, w.type, w.blob
FROM unnest(%s::integer[], %s::text[], %s::text[], %s::bytea[]) AS w (idx, channel, type, blob)
{_WRITE_CONFLICT}"""
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


@cache
def _values(columns: int, rows: int) -> str:
    """``(%s, ...), (%s, ...)``: ``rows`` rows of ``columns`` parameters."""
    row = "(" + ", ".join(["%s"] * columns) + ")"
    return ", ".join([row] * rows)


@cache
def _blobs_listed(rows: int) -> str:
    return f"WITH blobs AS (INSERT INTO {_BLOB_COLUMNS} VALUES {_values(6, rows)} {_BLOB_CONFLICT})\n"


@cache
def _writes_listed(rows: int, replace: bool) -> str:
    return f"INSERT INTO {_WRITE_COLUMNS} VALUES {_values(9, rows)} {_WRITE_CONFLICT}{_REPLACE if replace else _KEEP}"


def blobs_statement(blobs: Sequence[tuple[Any, ...]]) -> tuple[str, list[Any]]:
    """The ``WITH`` clause that inserts a checkpoint's blob rows, and its parameters."""
    if len(blobs) <= VALUES_ROWS:
        return _blobs_listed(len(blobs)), [value for row in blobs for value in row]
    return _BLOBS_UNNESTED, [*blobs[0][:2], *_columns(blobs, 2)]


def writes_statement(rows: Sequence[tuple[Any, ...]], replace: bool) -> tuple[str, list[Any]]:
    """The statement that inserts a step's write rows (each key once), and its parameters."""
    if len(rows) <= VALUES_ROWS:
        return _writes_listed(len(rows), replace), [value for row in rows for value in row]
    return _WRITES_UNNESTED + (_REPLACE if replace else _KEEP), [*rows[0][:5], *_columns(rows, 5)]


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
                with_blobs, blob_params = blobs_statement(blobs)
                await cur.execute(with_blobs + upsert, [*blob_params, *params])
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
        statement, params = writes_statement(list(by_idx.values()), replace)
        async with self._cursor() as cur:  # type: ignore[attr-defined]
            await cur.execute(statement, params)
