"""Connections to the deployment's database for code beside the store (leases, recorded responses, operator
tokens): one ``execute`` over either engine, explicit transactions, the schema migrated on first connect.

``location`` is what the settings name for the role: a SQLite path (or ``sqlite:///`` URL), or the
``postgresql://`` URL that holds every role.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from tools.db.migrations import Role, migrate, roles_of
from tools.db.postgres import PgConnection, register_untyped_numbers, to_psycopg
from tools.db.urls import Engine, connect_options, database_engine, postgres_url, sqlite_path

#: A constraint a write broke (a duplicate key), on either engine.
INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, psycopg.IntegrityError)


class Database:
    """A synchronous connection in autocommit mode; ``transaction()`` for more than one statement."""

    def __init__(self, conn: Any, engine: Engine) -> None:
        self.conn = conn
        self.engine = engine

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql, params)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One write transaction: the database's write lock on SQLite (BEGIN IMMEDIATE), a plain one on
        PostgreSQL (row locks and constraints do the rest there)."""
        self.conn.execute("BEGIN IMMEDIATE" if self.engine == "sqlite" else "BEGIN")
        try:
            yield self
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def connect(location: str | Path, role: Role, *, busy_timeout_ms: int = 5000, migrated: bool = True,
            answer_seconds: float | None = None) -> Database:
    """A connection to the role's database, its schema brought up to date (``migrated=False``: as it is, for
    ``deskgraph db migrate --check``). ``answer_seconds``: on PostgreSQL, how long a statement waits for a silent
    server once the schema is up to date (``tools.db.silence``; None: as long as it takes)."""
    engine = database_engine(location)
    if engine == "postgres":
        conn: Any = PgConnection.connect(postgres_url(location),
                                         session=[f"SET lock_timeout = {int(busy_timeout_ms)}"])
    else:
        path = sqlite_path(location)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    if migrated:
        migrate(conn, engine, roles_of(engine, role))
    if engine == "postgres":
        conn.answer_seconds = answer_seconds
    return Database(conn, engine)


class AsyncDatabase:
    """An asynchronous connection in autocommit mode (aiosqlite or psycopg's AsyncConnection). On PostgreSQL, a
    connection the server broke is replaced at the next statement by ``reopen`` (as ``PgConnection`` does)."""

    def __init__(self, conn: Any, engine: Engine, reopen: Callable[[], Awaitable[Any]] | None = None) -> None:
        self.conn = conn
        self.engine = engine
        self._reopen = reopen
        self._closed = False

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; the cursor (``rowcount``, ``await fetchone()``/``fetchall()``)."""
        if self.engine == "sqlite":
            return await self.conn.execute(sql, params)
        reconnects = self._reopen is not None and not self._closed
        if self.conn.closed and reconnects:
            self.conn = await self._reopen()
        outside = self.conn.info.transaction_status == TransactionStatus.IDLE
        try:
            return await self._run(sql, params)
        except psycopg.OperationalError:
            # The session was dead before the statement (outside a transaction nothing of it ran): once more on a
            # new one. Inside a transaction it fails with the transaction (see ``tools.db.postgres``).
            if not (outside and self.conn.closed and reconnects):
                raise
        self.conn = await self._reopen()
        return await self._run(sql, params)

    async def _run(self, sql: str, params: Sequence[Any]) -> Any:
        cursor = self.conn.cursor()
        if params:
            await cursor.execute(to_psycopg(sql), tuple(params))
        else:
            await cursor.execute(sql)
        return cursor

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncDatabase]:
        await self.execute("BEGIN IMMEDIATE" if self.engine == "sqlite" else "BEGIN")
        try:
            yield self
        except BaseException:
            await self.execute("ROLLBACK")
            raise
        await self.execute("COMMIT")

    async def run_transaction(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        """Run the statements in one write transaction; each one's ``rowcount``.

        On SQLite the whole transaction is one call to aiosqlite's thread rather than one per statement plus the
        BEGIN and the COMMIT: each call costs about 60 µs of CPU in thread wake-ups, more than these statements.
        """
        if self.engine != "sqlite":
            async with self.transaction():
                return [(await self.execute(sql, params)).rowcount for sql, params in statements]
        return await self.conn._execute(_sqlite_transaction, self.conn._conn, statements)

    async def close(self) -> None:
        self._closed = True
        await self.conn.close()


def _sqlite_transaction(conn: sqlite3.Connection, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
    """On aiosqlite's thread: the statements in ``Database.transaction`` (BEGIN IMMEDIATE ... COMMIT)."""
    with Database(conn, "sqlite").transaction() as db:
        return [db.execute(sql, params).rowcount for sql, params in statements]


async def connect_async(location: str | Path, role: Role, *, busy_timeout_ms: int = 5000) -> AsyncDatabase:
    """An async connection to the role's database, its schema brought up to date."""
    import asyncio

    engine = database_engine(location)
    # Migrating is a handful of statements once per process: done on a thread with a sync connection.
    await asyncio.to_thread(lambda: connect(location, role, busy_timeout_ms=busy_timeout_ms).close())
    if engine == "postgres":
        async def open_pg() -> Any:
            url = postgres_url(location)
            conn = await psycopg.AsyncConnection.connect(url, autocommit=True, application_name="deskgraph",
                                                         **connect_options(url))
            register_untyped_numbers(conn)
            await conn.execute(f"SET lock_timeout = {int(busy_timeout_ms)}")
            return conn

        return AsyncDatabase(await open_pg(), engine, reopen=open_pg)
    import aiosqlite

    conn = await aiosqlite.connect(sqlite_path(location), isolation_level=None)
    await conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    # No fsync per commit (a lease taken and given back each turn would pay two): in WAL mode a commit is safe
    # against a crash of the process without one, and the fsync of the shared log when a turn returns
    # (agent.runtime.durability) makes what this connection committed before it durable too.
    await conn.execute("PRAGMA synchronous=NORMAL")
    return AsyncDatabase(conn, engine)
