"""The SQLite checkpoint saver's calls run on the event loop's thread when they need not wait, else on aiosqlite's.

Why: each call to aiosqlite's thread costs about 60 µs of CPU in thread wake-ups and GIL hand-overs, more than
the SQL of a checkpoint's insert and commit (WAL, ``synchronous=NORMAL``: an append to the log, no fsync), and a
text turn made about fifteen (its checkpoints, its steps' writes, its reads of the thread). bench/service_load.py
measured about 1 ms less CPU per text turn with these calls on the loop's thread.

Why this cannot stall the loop:
- The loop never waits for a lock. The call runs with ``busy_timeout = 0``, so a write lock held elsewhere (the
  turn leases' connection to the same file, another process) fails at once with "database is locked"; the call is
  then rolled back (nothing of it was written: the lock is taken at the first write) and run again on aiosqlite's
  thread with the configured busy timeout, as before.
- The saver's connection does not checkpoint the WAL (``wal_autocheckpoint = 0``: a checkpoint copies pages and
  fsyncs). Other connections to the file do it when they commit: in the runtime, the turn leases' connection twice
  a turn, on its own thread; SQLite also checkpoints when the last connection closes.
- The calls are serialised by the saver's lock, as every statement of the stock saver is; the connection is opened
  with ``check_same_thread=False`` so that both threads may use it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite

from tools.db.errors import is_busy

T = TypeVar("T")


async def prepare(conn: aiosqlite.Connection) -> None:
    """Settings of a saver connection whose calls may run on the loop's thread (see the module's docstring)."""
    await conn.execute("PRAGMA wal_autocheckpoint = 0")


async def run(conn: aiosqlite.Connection, busy_timeout_ms: int, fn: Callable[..., T], *args: Any) -> T:
    """``fn(sqlite_connection, *args)`` here if it takes no lock wait, else on the connection's thread."""
    raw: sqlite3.Connection = conn._conn
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        return fn(raw, *args)
    except sqlite3.OperationalError as exc:
        if not is_busy(exc):
            raise
        if raw.in_transaction:
            raw.rollback()
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    return await conn._execute(fn, raw, *args)


async def call(saver: Any, fn: Callable[..., T], *args: Any) -> T:
    """``fn(sqlite_connection, *args)`` under the saver's lock (like every statement of the stock saver): on the
    loop's thread when the saver's ``inline_calls`` allow it (see ``run``), else on its connection's thread. The
    saver provides ``conn`` (aiosqlite), ``lock``, ``inline_calls`` and ``busy_timeout_ms``."""
    async with saver.lock:
        if saver.inline_calls:
            return await run(saver.conn, saver.busy_timeout_ms, fn, *args)
        return await saver.conn._execute(fn, saver.conn._conn, *args)
