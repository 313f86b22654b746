"""The PostgreSQL saver's read of a checkpoint, its pending writes decoded on the loop.

The stock ``AsyncPostgresSaver`` turns a checkpoint's row into a ``CheckpointTuple`` on the loop but decodes its
pending writes with ``asyncio.to_thread``: a hop to the loop's default executor and back for every read, two or
three a turn, whatever the writes (usually none, or a handful of small msgpack values). The hop cost more CPU
than the decoding: a read of the latest checkpoint (no writes) took 246 us of CPU with it, 130 without. Only a
read with many writes (an interrupted step of a wide fan-out) still decodes them on a thread.
``test_internals_contract`` compares the tuple with the stock saver's.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import CheckpointTuple

#: Pending writes decoded on the loop up to this many; more go to a thread, as the stock saver sends all.
INLINE_WRITES = 32


class PostgresInlineRead:
    """``_load_checkpoint_tuple`` for an ``AsyncPostgresSaver`` subclass (which provides ``_load_blobs`` and
    ``_load_writes``)."""

    async def _load_checkpoint_tuple(self, value: Any) -> CheckpointTuple:
        writes = value["pending_writes"]
        if writes and len(writes) > INLINE_WRITES:
            return await super()._load_checkpoint_tuple(value)  # type: ignore[misc]
        checkpoint = value["checkpoint"]
        configurable = {"thread_id": value["thread_id"], "checkpoint_ns": value["checkpoint_ns"]}
        parent = value["parent_checkpoint_id"]
        return CheckpointTuple(
            {"configurable": {**configurable, "checkpoint_id": value["checkpoint_id"]}},
            {**checkpoint, "channel_values": {**(checkpoint.get("channel_values") or {}),
                                              **self._load_blobs(value["channel_values"])}},  # type: ignore[attr-defined]
            value["metadata"],
            {"configurable": {**configurable, "checkpoint_id": parent}} if parent else None,
            self._load_writes(writes),  # type: ignore[attr-defined]
        )
