"""The SQLite checkpoint saver's writes, each in one trip to its connection's thread.

aiosqlite runs every call on a thread of the connection's own and wakes the event loop with its result: about
60 µs of CPU per call (two thread wake-ups, a pipe write, an epoll round) whatever the SQL costs. The stock
``AsyncSqliteSaver`` spends three such calls on a checkpoint (execute, close the cursor, commit) and four on a
step's writes (open a cursor, executemany, commit, close), and a turn saves six to nine steps: over half of the
calls a turn makes to SQLite. Here each is one function run on that thread: the same statements, with the same
rows and the same commit per step (durability unchanged), in one call; the runtime's saver runs that function on
the event loop's thread when it need not wait for a lock (``sqlite_inline``). ``test_internals_contract`` checks
that the rows are the stock saver's, byte for byte, on both paths.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import WRITES_IDX_MAP, Checkpoint, CheckpointMetadata, get_checkpoint_metadata

from agent.runtime import sqlite_inline

_PUT = ("INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, "
        "checkpoint, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)")
_WRITES = ("INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, value) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _store(conn: sqlite3.Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """On the connection's thread: the rows, then the commit (a failed statement leaves the transaction to the
    next commit or rollback, as the stock saver's awaits did)."""
    conn.executemany(sql, rows).close()
    conn.commit()


class SqliteOneTripWrites:
    """``aput`` and ``aput_writes`` for an ``AsyncSqliteSaver`` subclass, one connection call each.

    The host class provides ``conn`` (aiosqlite), ``lock``, ``serde``, ``setup()``, ``is_setup``, and
    ``inline_calls`` / ``busy_timeout_ms`` (``sqlite_inline``: the call on the loop's thread when it need not wait).
    """

    conn: Any
    lock: Any
    serde: Any
    is_setup: bool
    inline_calls: bool = False
    busy_timeout_ms: int = 5000

    async def _one_trip(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        # Under the saver's lock (sqlite_inline.call): another coroutine's transaction on this connection (a
        # thread's deletion) is never committed half-way by this commit.
        await sqlite_inline.call(self, _store, sql, rows)

    async def aput(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
                   new_versions: Any) -> RunnableConfig:
        """Save a checkpoint (the stock saver's row) and commit."""
        if not self.is_setup:  # setup() takes the lock just to find it done
            await self.setup()
        configurable = config["configurable"]
        thread_id, checkpoint_ns = configurable["thread_id"], configurable["checkpoint_ns"]
        type_, serialized = self.serde.dumps_typed(checkpoint)
        meta = json.dumps(get_checkpoint_metadata(config, metadata), ensure_ascii=False).encode("utf-8", "ignore")
        await self._one_trip(_PUT, [(str(thread_id), checkpoint_ns, checkpoint["id"],
                                     configurable.get("checkpoint_id"), type_, serialized, meta)])
        return {"configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns,
                                 "checkpoint_id": checkpoint["id"]}}

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str,
                          task_path: str = "") -> None:
        """Save a task's writes (the stock saver's rows: special channels replace, others keep the first) and
        commit."""
        verb = "INSERT OR REPLACE " if all(w[0] in WRITES_IDX_MAP for w in writes) else "INSERT OR IGNORE "
        if not self.is_setup:
            await self.setup()
        configurable = config["configurable"]
        key = (str(configurable["thread_id"]), str(configurable["checkpoint_ns"]), str(configurable["checkpoint_id"]))
        rows = [(*key, task_id, task_path, WRITES_IDX_MAP.get(channel, idx), channel, *self.serde.dumps_typed(value))
                for idx, (channel, value) in enumerate(writes)]
        await self._one_trip(verb + _WRITES, rows)
