"""The deployment's databases, opened the way the runtime needs them: the retail store and the checkpoint saver,
on SQLite files (the embedded default) or on the PostgreSQL database that replicas share."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agent.runtime import sqlite_inline
from agent.runtime.checkpoints import CachedAsyncSqliteSaver
from agent.settings import Settings
from graphs.state import delta_channels
from tools import RetailStore
from tools.db import database_engine, sqlite_path
from tools.db.silence import answer_limit
from tools.db.urls import postgres_url

log = logging.getLogger(__name__)


async def open_checkpointer(path: Any, busy_timeout_ms: int = 5000, *, store_mark: Callable[[], int] | None = None,
                            ) -> tuple[aiosqlite.Connection, AsyncSqliteSaver]:
    """The async SQLite saver on its own file, with the delta-history cache.

    WAL with synchronous=NORMAL, and one fsync of the WAL when a turn returns (see ``durability``): a turn
    that returned is on disk, at the cost of one fsync per turn instead of one per step. Readers (an operator
    inspecting threads) never block the writer.
    """
    # check_same_thread=False: the saver's calls run on the loop's thread when they need not wait (sqlite_inline).
    conn = await aiosqlite.connect(sqlite_path(path), check_same_thread=False)
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    await sqlite_inline.prepare(conn)
    saver = CachedAsyncSqliteSaver(conn, delta_channels(), store_mark=store_mark, inline_calls=True,
                                   busy_timeout_ms=busy_timeout_ms)
    await saver.setup()
    return conn, saver


@asynccontextmanager
async def checkpointer(location: Any, busy_timeout_ms: int = 5000, *, store_mark: Callable[[], int] | None = None,
                       pool_size: int = 8) -> AsyncIterator[Any]:
    """The runtime's saver where ``location`` says (a SQLite file, or PostgreSQL on a pool), closed on exit.
    ``store_mark``: the SQLite store journal's position, recorded with every checkpoint (PostgreSQL's saver reads
    its journal's position in the statement that saves a checkpoint)."""
    if database_engine(location) == "postgres":
        from agent.observability import pool_metrics
        from agent.runtime.postgres_saver import open_postgres_checkpointer
        from tools.db.connect import connect

        # The store's tables (its journal among them) are in this database too: every checkpoint records the
        # journal's position (the migrations first, for a saver opened before any store, e.g. by Studio).
        await asyncio.to_thread(lambda: connect(location, "checkpoints", busy_timeout_ms=busy_timeout_ms).close())
        async with open_postgres_checkpointer(postgres_url(location), delta_channels(), pool_size=pool_size,
                                              lock_timeout_ms=busy_timeout_ms, mark_store_journal=True,
                                              answer_seconds=answer_limit(busy_timeout_ms)) as saver:
            pool_metrics.watch(saver.conn)
            yield saver
        return
    from pathlib import Path

    Path(sqlite_path(location)).parent.mkdir(parents=True, exist_ok=True)
    conn, saver = await open_checkpointer(location, busy_timeout_ms, store_mark=store_mark)
    try:
        yield saver
    finally:
        await conn.close()


def open_journal(settings: Settings) -> Any:
    """The store's undo journal, whose ``mark()`` every checkpoint records (recorded replay rewinds a scratch copy
    of the store to it): SQLite triggers installed in the store's file. None on PostgreSQL, where the journal is
    migration 13's triggers and the saver reads its position in the statement that saves a checkpoint."""
    if settings.database_engine == "postgres":
        return None
    from agent.runtime.store_journal import StoreJournal

    return StoreJournal.open(settings.store_location, busy_timeout_ms=settings.sqlite_busy_timeout_ms)


def open_store(settings: Settings) -> RetailStore:
    """The retail store; a brand-new database is filled with generated demo data so the product works at once.
    ``UnsupportedDatabaseError`` for a database URL this build cannot open (before any folder is made)."""
    store = RetailStore.open(settings.store_location, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    if store.counts().get("users", 0) == 0:
        from tools.generator import demo_dataset

        log.info("empty store at %s: generating demo data", settings.store_location)
        store.load_json(demo_dataset())
    # The service's store statements are short: a server silent for longer than this is gone (tools.db.silence).
    store.limit_server_answers(answer_limit(settings.sqlite_busy_timeout_ms))
    return store
