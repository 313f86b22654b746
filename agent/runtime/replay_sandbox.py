"""Where a replay runs: a scratch copy of the thread and of the store as it was (the default), or the real files
with every store write rolled back (``--no-sandbox``). Either way no write reaches the real store twice."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver

from agent.runtime import store_journal
from agent.runtime.checkpoints import CachedAsyncSqliteSaver
from graphs.state import delta_channels
from tools import RetailStore
from tools.db import database_engine


@dataclass
class ReplayFiles:
    """The store and checkpoints a replay runs on."""

    store: RetailStore
    saver: BaseCheckpointSaver
    rewound: bool
    """The store was put back to the replay's starting checkpoint (False: the store as it is now)."""


class RolledBackStore(RetailStore):
    """The real store, but every transaction ends in a rollback: reads see it as it is, writes leave no trace."""

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A transaction (or savepoint) whose changes are undone when it ends."""
        with super().transaction() as conn:
            conn.execute("SAVEPOINT replay_fence")
            try:
                yield conn
            finally:
                conn.execute("ROLLBACK TO replay_fence")
                conn.execute("RELEASE replay_fence")


def _copy_thread(real: Path, scratch: Path, thread_id: str) -> None:
    """The thread's checkpoints and writes (every namespace) in a new file with the same tables."""
    conn = sqlite3.connect(str(scratch), isolation_level=None)
    try:
        conn.execute("ATTACH DATABASE ? AS real", [str(real)])
        conn.execute("BEGIN")
        for (sql, name) in conn.execute("SELECT sql, name FROM real.sqlite_master WHERE type = 'table' "
                                        "AND name IN ('checkpoints', 'writes')").fetchall():
            conn.execute(sql)
            conn.execute(f'INSERT INTO main."{name}" SELECT * FROM real."{name}" WHERE thread_id = ?', [thread_id])
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE real")
    finally:
        conn.close()


def _copy_store(real: Path, scratch: Path, mark: int | None) -> bool:
    """A copy of the store, rewound to ``mark`` when known; whether it was rewound."""
    source, target = sqlite3.connect(str(real)), sqlite3.connect(str(scratch), isolation_level=None)
    try:
        source.backup(target)
        if mark is None:
            return False
        store_journal.rewind(target, mark)
        return True
    finally:
        source.close()
        target.close()


@asynccontextmanager
async def sandbox(checkpoint_db: Path, store_db: Path, thread_id: str, mark: int | None) -> AsyncIterator[ReplayFiles]:
    """Scratch copies of the thread and the store (rewound to ``mark``), deleted afterwards: files on SQLite, a
    schema of its own on PostgreSQL (``postgres_replay``)."""
    if database_engine(store_db) == "postgres":
        from agent.runtime.postgres_replay import scratch_schema

        async with scratch_schema(str(store_db), thread_id, mark) as (store, saver, rewound):
            yield ReplayFiles(store, saver, rewound)
        return
    with tempfile.TemporaryDirectory(prefix="deskgraph-replay-") as tmp:
        cp_path, store_path = Path(tmp) / "checkpoints.db", Path(tmp) / "store.db"
        await asyncio.to_thread(_copy_thread, checkpoint_db, cp_path, thread_id)
        rewound = await asyncio.to_thread(_copy_store, store_db, store_path, mark)
        store = RetailStore.open(store_path)
        conn = await aiosqlite.connect(str(cp_path))
        try:
            saver = CachedAsyncSqliteSaver(conn, delta_channels())
            await saver.setup()
            yield ReplayFiles(store, saver, rewound)
        finally:
            await conn.close()
            store.close()


@asynccontextmanager
async def in_place(saver: BaseCheckpointSaver, store_db: Path) -> AsyncIterator[ReplayFiles]:
    """The real checkpoints (the replay becomes a new branch of the thread) and the real store, fenced."""
    store = RolledBackStore.open(store_db)
    try:
        yield ReplayFiles(store, saver, rewound=False)
    finally:
        store.close()
