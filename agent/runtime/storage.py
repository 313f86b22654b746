"""The deployment's files: the retail store and the checkpoint database, opened the way the runtime needs them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import aiosqlite
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agent.runtime.checkpoints import CachedAsyncSqliteSaver
from agent.settings import Settings
from graphs.state import delta_channels
from tools import RetailStore

log = logging.getLogger(__name__)


async def open_checkpointer(path: Any, busy_timeout_ms: int = 5000, *, store_mark: Callable[[], int] | None = None,
                            ) -> tuple[aiosqlite.Connection, AsyncSqliteSaver]:
    """The async SQLite saver on its own file, with the delta-history cache.

    WAL with synchronous=NORMAL, and one fsync of the WAL when a turn returns (see ``durability``): a turn
    that returned is on disk, at the cost of one fsync per turn instead of one per step. Readers (an operator
    inspecting threads) never block the writer.
    """
    conn = await aiosqlite.connect(str(path))
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    saver = CachedAsyncSqliteSaver(conn, delta_channels(), store_mark=store_mark)
    await saver.setup()
    return conn, saver


def open_store(settings: Settings) -> RetailStore:
    """The retail store; a brand-new file is filled with generated demo data so the product works at once.
    ``UnsupportedDatabaseError`` for a database URL this build cannot open (before any folder is made)."""
    store = RetailStore.open(settings.store_db, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    if store.counts().get("users", 0) == 0:
        from tools.generator import demo_dataset

        log.info("empty store at %s: generating demo data", settings.store_db)
        store.load_json(demo_dataset())
    return store
