"""The SQLite checkpoint saver's read of one checkpoint, in one trip to its connection's thread.

Why (see ``saver_writes``): each aiosqlite call costs about 60 µs of CPU in thread wake-ups whatever its SQL, and
the stock ``AsyncSqliteSaver.aget_tuple`` makes six (open a cursor, select the checkpoint, fetch it, select its
pending writes, fetch them, close), two or three times a turn (the turn's own read of the thread, the graph's
start, a task flow's start). Here the same two statements run in one function on that thread and the rows are
turned into the same ``CheckpointTuple``; ``test_internals_contract`` compares it with the stock saver's.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointMetadata, CheckpointTuple, get_checkpoint_id
from langgraph.checkpoint.sqlite.utils import load_pending_writes, pending_writes_sql

from agent.runtime import sqlite_inline

_COLUMNS = "SELECT thread_id, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata FROM checkpoints "
_BY_ID = _COLUMNS + "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?"
_LATEST = _COLUMNS + "WHERE thread_id = ? AND checkpoint_ns = ? ORDER BY checkpoint_id DESC LIMIT 1"

_Rows = tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]]


def _select(conn: sqlite3.Connection, writes_sql: str, thread_id: str, checkpoint_ns: str,
            checkpoint_id: str | None) -> _Rows:
    """On the connection's thread: the checkpoint's row (the latest without an id) and its pending writes' rows."""
    cursor = conn.cursor()
    try:
        if checkpoint_id:
            row = cursor.execute(_BY_ID, (thread_id, checkpoint_ns, checkpoint_id)).fetchone()
        else:
            row = cursor.execute(_LATEST, (thread_id, checkpoint_ns)).fetchone()
        if row is None:
            return None, []
        return row, cursor.execute(writes_sql, (thread_id, checkpoint_ns, str(checkpoint_id or row[1]))).fetchall()
    finally:
        cursor.close()


class SqliteOneTripRead:
    """``aget_tuple`` for an ``AsyncSqliteSaver`` subclass, one connection call.

    The host class provides ``conn`` (aiosqlite), ``lock``, ``serde``, ``setup()``, ``is_setup``,
    ``_has_task_path``, and ``inline_calls`` / ``busy_timeout_ms`` (see ``saver_writes``).
    """

    conn: Any
    lock: Any
    serde: Any
    is_setup: bool
    _has_task_path: bool
    inline_calls: bool = False
    busy_timeout_ms: int = 5000

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint ``config`` names (the thread's latest without a checkpoint id), or None."""
        if not self.is_setup:
            await self.setup()
        checkpoint_ns = config["configurable"].get("checkpoint_ns", "")
        checkpoint_id = get_checkpoint_id(config)
        args = (pending_writes_sql(self._has_task_path), str(config["configurable"]["thread_id"]), checkpoint_ns,
                checkpoint_id)
        row, writes = await sqlite_inline.call(self, _select, *args)
        if row is None:
            return None
        thread_id, found_id, parent_id, type_, checkpoint, metadata = row
        if not checkpoint_id:
            config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns,
                                       "checkpoint_id": found_id}}
        parent = ({"configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns,
                                    "checkpoint_id": parent_id}} if parent_id else None)
        return CheckpointTuple(config, self.serde.loads_typed((type_, checkpoint)),
                               cast(CheckpointMetadata, json.loads(metadata) if metadata is not None else {}),
                               parent, load_pending_writes(writes, self.serde))
