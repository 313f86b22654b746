"""The PostgreSQL saver's read of a checkpoint, its pending writes decoded on the loop.

The stock ``AsyncPostgresSaver`` turns a checkpoint's row into a ``CheckpointTuple`` on the loop but decodes its
pending writes with ``asyncio.to_thread``: a hop to the loop's default executor and back for every read, two or
three a turn, whatever the writes (usually none, or a handful of small msgpack values). The hop cost more CPU
than the decoding: a read of the latest checkpoint (no writes) took 246 us of CPU with it, 130 without. Only a
read with many writes (an interrupted step of a wide fan-out) still decodes them on a thread.
``test_internals_contract`` compares the tuple with the stock saver's.
"""

from __future__ import annotations

import copy
from contextvars import ContextVar
from typing import Any

import orjson
from langgraph.checkpoint.base import CheckpointTuple, get_checkpoint_id

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


#: The thread whose read is being kept (``PostgresReadOnce``), for ``_load_checkpoint_tuple`` to see its row.
_KEEPING: ContextVar[str | None] = ContextVar("deskgraph_keeping_read", default=None)


class PostgresReadOnce(PostgresInlineRead):
    """A turn reads its thread's latest checkpoint twice, under its lease: the runtime's read (who may enter, what
    the turn starts from) and, a moment later, the graph's own as it starts. With ``keep_next_read(thread)`` (the
    runtime, once it holds the thread's lease) the first read's row is kept and the second is answered from it, one
    statement less a turn. The row is kept once and given once; any write to the thread in this process drops it,
    and no other process writes the thread while the lease is held. A read by id or of a task flow's namespace goes
    to the database as always.

    The kept row's JSON (the checkpoint without its blobs, the metadata) is a copy: LangGraph's loop updates the
    checkpoint it starts from in place, and the first reader's snapshot must not change under it. The blobs are
    bytes, decoded afresh by the second read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kept_reads: dict[str, Any] = {}

    def keep_next_read(self, thread_id: str) -> None:
        """Keep the next read of the thread's latest checkpoint for the read after it."""
        self._kept_reads[str(thread_id)] = None

    def drop_kept_read(self, thread_id: str) -> None:
        """Stop keeping (the lease is given back, or the thread was written)."""
        self._kept_reads.pop(str(thread_id), None)

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        self.drop_kept_read(config["configurable"]["thread_id"])
        return await super().aput(config, checkpoint, metadata, new_versions)  # type: ignore[misc]

    async def aput_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> None:
        self.drop_kept_read(config["configurable"]["thread_id"])
        return await super().aput_writes(config, writes, task_id, task_path)  # type: ignore[misc]

    async def adelete_thread(self, thread_id: str) -> None:
        self.drop_kept_read(thread_id)
        return await super().adelete_thread(thread_id)  # type: ignore[misc]

    async def aget_tuple(self, config: Any) -> CheckpointTuple | None:
        configurable = config.get("configurable", {})
        thread = str(configurable.get("thread_id"))
        if get_checkpoint_id(config) or configurable.get("checkpoint_ns") or thread not in self._kept_reads:
            return await super().aget_tuple(config)  # type: ignore[misc]
        kept = self._kept_reads[thread]
        if kept is not None:
            del self._kept_reads[thread]
            return await self._load_checkpoint_tuple(kept)
        token = _KEEPING.set(thread)
        try:
            return await super().aget_tuple(config)  # type: ignore[misc]
        finally:
            _KEEPING.reset(token)

    async def _load_checkpoint_tuple(self, value: Any) -> CheckpointTuple:
        thread = _KEEPING.get()
        if thread is not None and thread in self._kept_reads and value["thread_id"] == thread:
            self._kept_reads[thread] = {**value, "checkpoint": _copy(value["checkpoint"]),
                                        "metadata": _copy(value["metadata"])}
        return await super()._load_checkpoint_tuple(value)


def _copy(document: Any) -> Any:
    """A deep copy of a JSON document (orjson's round trip, or ``copy.deepcopy`` for what orjson refuses)."""
    try:
        return orjson.loads(orjson.dumps(document))
    except TypeError:
        return copy.deepcopy(document)
