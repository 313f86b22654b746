"""The turn leases' and the model recorder's statements on the checkpoint saver's own connection (SQLite) or its
pool (PostgreSQL): ``shared_with(saver)``.

Why one connection: SQLite lets one connection at a time write a file. When the saver (a turn's steps), the leases
(taken and given back each turn) and the recorder (each model answer) wrote the checkpoint file on three
connections, their commits collided under load. A saver call that found the file locked (``sqlite_inline``) then
waited in SQLite's busy handler, which sleeps 1, 2, 5 ms and more, while it held the saver's lock, so every other
conversation's step queued behind it. At 64 concurrent conversations a checkpoint write took 6 to 7 ms of wall time
for well under 0.1 ms of SQL. On one connection the process's writes never meet each other: they run one after the
other under the saver's lock, on the loop's thread when the file is free (as the saver's own calls do). Only
another process (a second ``deskgraph serve``, the CLI) can still hold the file, and then the call waits on
aiosqlite's thread as before.

The saver's connection does not checkpoint its write-ahead log (``sqlite_inline``); the leases' connection used
to. ``durability.WalCheckpoints`` does it now, off the loop.

On PostgreSQL nothing collides (row locks), but the leases had one connection for the whole process, taken in
turn under a lock: at 64 conversations a lease took 13 ms on average (p99 70 ms) waiting for other turns' round
trips. On the saver's pool each statement has a connection of its own.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from psycopg.rows import tuple_row

from agent.runtime import sqlite_inline
from agent.runtime.postgres_checkout import statement_cursor
from tools.db.connect import AsyncDatabase, Database
from tools.db.postgres import to_psycopg

T = TypeVar("T")


class Rows:
    """What a statement returned, read to the end before the saver's lock is given back: ``rowcount`` and the
    rows, through the awaitable ``fetchone``/``fetchall`` of an aiosqlite cursor."""

    def __init__(self, rowcount: int, rows: list[tuple[Any, ...]]) -> None:
        self.rowcount = rowcount
        self._rows = deque(rows)

    async def fetchone(self) -> tuple[Any, ...] | None:
        """The next row, or None."""
        return self._rows.popleft() if self._rows else None

    async def fetchall(self) -> list[tuple[Any, ...]]:
        """The rows not read yet."""
        rows, self._rows = list(self._rows), deque()
        return rows


def _statement(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> Rows:
    """One statement in a transaction of its own (the saver's connection opens one before a write; committed
    here, as on the autocommit connections the callers were written for)."""
    cursor = conn.execute(sql, tuple(params))
    try:
        rows = cursor.fetchall()
        rowcount = cursor.rowcount
    finally:
        cursor.close()
    if conn.in_transaction:
        conn.commit()
    return Rows(rowcount, rows)


def _transaction(conn: sqlite3.Connection, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
    """The statements in one write transaction (``Database.transaction``: BEGIN IMMEDIATE ... COMMIT)."""
    with Database(conn, "sqlite").transaction() as db:
        return [db.execute(sql, params).rowcount for sql, params in statements]


class _OnTheSavers(AsyncDatabase):
    """What the saver-backed databases share: closing closes nothing (the connection or pool is the saver's), and
    ``transaction()`` is not offered (a block that awaits between its statements would hold the saver's lock, or a
    pool connection, across them): ``run_transaction`` runs a transaction's statements in one call."""

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncDatabase]:
        raise TypeError(f"{type(self).__name__} runs a transaction in one call: use run_transaction()")
        yield self  # pragma: no cover - makes this an async generator

    async def close(self) -> None:
        """Nothing to close: the saver's."""
        self._closed = True


class SaverSqlite(_OnTheSavers):
    """An ``AsyncDatabase`` whose statements run on a ``CachedAsyncSqliteSaver``'s connection, under its lock."""

    def __init__(self, saver: Any) -> None:
        super().__init__(saver.conn, "sqlite")
        self._saver = saver

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(sqlite3_connection, *args)`` as the saver runs its own calls (``sqlite_inline.call``: under its lock,
        on the loop's thread unless the file is locked by another process); ``fn`` commits what it writes."""
        return await sqlite_inline.call(self._saver, fn, *args)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        """Run one statement (committed); its ``rowcount`` and rows."""
        return await self.call(_statement, sql, params)

    async def run_transaction(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        """Run the statements in one write transaction; each one's ``rowcount``."""
        return await self.call(_transaction, statements)


class SaverPool(_OnTheSavers):
    """An ``AsyncDatabase`` whose statements each run on a connection of a PostgreSQL saver's pool (autocommit,
    the pool's ``lock_timeout``), read to the end before the connection goes back."""

    def __init__(self, saver: Any) -> None:
        super().__init__(None, "postgres")
        self._pool = saver.conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        """Run one statement (committed); its ``rowcount`` and rows."""
        async with statement_cursor(self._pool, binary=False, row_factory=tuple_row) as cursor:
            return await _run_pg(cursor, sql, params)

    async def run_transaction(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        """Run the statements in one transaction; each one's ``rowcount``."""
        async with statement_cursor(self._pool, binary=False, row_factory=tuple_row) as cursor, \
                cursor.connection.transaction():
            return [(await _run_pg(cursor, sql, params)).rowcount for sql, params in statements]


async def _run_pg(cursor: Any, sql: str, params: Sequence[Any]) -> Rows:
    await cursor.execute(to_psycopg(sql), tuple(params)) if params else await cursor.execute(sql)
    rows = await cursor.fetchall() if cursor.description else []
    return Rows(cursor.rowcount, rows)


def shared_with(saver: Any) -> SaverSqlite | SaverPool:
    """Statements on the runtime's saver's connection (SQLite) or pool (PostgreSQL)."""
    from agent.runtime.postgres_saver import CachedAsyncPostgresSaver

    return SaverPool(saver) if isinstance(saver, CachedAsyncPostgresSaver) else SaverSqlite(saver)
