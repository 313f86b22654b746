"""One statement's connection from the PostgreSQL saver's pool, and a cursor kept on that connection.

A turn runs 15 to 30 single statements on the saver's pool (its checkpoints and writes, the lease, the model
recorder), each on a connection checked out for it. psycopg_pool's ``connection()`` wraps the check-out in two
context managers and commits on the way back (a no-op on these autocommit connections that still takes the
connection's lock), and each statement made a new cursor (with its own adapters and transformer). Here the
connection comes straight from ``getconn``, goes back through ``putconn`` (which rolls back, or discards, a
connection a failure left in a transaction or broken), and runs its statement on a cursor the connection keeps for
the next one: 100 -> 73 us of CPU per statement in a loop of them on this machine (a bare cursor: 55).
"""

from __future__ import annotations

import asyncio
import contextlib
import select
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from weakref import WeakKeyDictionary

import psycopg
from psycopg.rows import RowFactory
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from agent.observability import pool_metrics
from tools.db.silence import AsyncAnsweringConnection

#: Seconds a statement waits for a connection before the server is asked whether it can be reached at all: a busy
#: pool hands one out well within this, a pool whose server went away never does (psycopg_pool would keep the
#: statement, and the customer, waiting for its whole timeout, 30 s).
ASK_SERVER_AFTER = 1.0
#: Seconds that question may take (libpq's connect_timeout: a server behind a dropped route never refuses).
SERVER_ANSWER_SECONDS = 3


class KeptCursorConnection(AsyncAnsweringConnection):
    """A pool connection that keeps one cursor per kind (binary or text results, row factory) for its statements,
    and gives up on a server silent for ``answer_seconds`` (None: no limit; the runtime's pool sets it;
    ``tools.db.silence`` says why).

    A cursor is only used by whoever has the connection checked out; ``execute`` starts it afresh. The cursors
    close with the connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kept_cursors: dict[tuple[bool, Any], psycopg.AsyncCursor[Any]] = {}

    def kept_cursor(self, *, binary: bool, row_factory: RowFactory[Any]) -> psycopg.AsyncCursor[Any]:
        """This connection's cursor of that kind, made on first use."""
        cursor = self._kept_cursors.get((binary, row_factory))
        if cursor is None or cursor.closed:
            cursor = self._kept_cursors[(binary, row_factory)] = self.cursor(binary=binary, row_factory=row_factory)
        return cursor


@asynccontextmanager
async def statement_cursor(pool: AsyncConnectionPool, *, binary: bool,
                           row_factory: RowFactory[Any]) -> AsyncIterator[psycopg.AsyncCursor[Any]]:
    """A cursor on a connection of ``pool``, checked out for the block (one statement, or a few run together)."""
    conn = await checkout(pool)
    try:
        if isinstance(conn, KeptCursorConnection):
            yield conn.kept_cursor(binary=binary, row_factory=row_factory)
        else:  # a pool made elsewhere (a test's, a caller's): a cursor for this block
            async with conn.cursor(binary=binary, row_factory=row_factory) as cursor:
                yield cursor
    except psycopg.OperationalError:
        # A server that went away (a restart, a failover) leaves every idle connection of the pool broken: have
        # them checked, so the retry finds new ones.
        sweep_soon(pool)
        raise
    finally:
        await pool.putconn(conn)


async def checkout(pool: AsyncConnectionPool) -> psycopg.AsyncConnection[Any]:
    """A connection of ``pool``; ``psycopg.OperationalError`` within seconds when the server cannot be reached.

    A connection that takes longer than ``ASK_SERVER_AFTER`` has the server asked (``server_reachable``): a busy
    pool goes on waiting, for the rest of the pool's timeout; a server that refuses, or does not answer, fails the
    statement now, and its turn with "try again"."""
    try:
        return await pool.getconn(timeout=ASK_SERVER_AFTER)
    except PoolTimeout:
        pass
    await server_reachable(pool)
    return await pool.getconn(timeout=max(pool.timeout - ASK_SERVER_AFTER, ASK_SERVER_AFTER))


#: The last question to the server for each pool (``server_reachable``), and when it was answered.
_QUESTIONS: WeakKeyDictionary[AsyncConnectionPool, asyncio.Task[None]] = WeakKeyDictionary()
_ANSWERED: WeakKeyDictionary[AsyncConnectionPool, float] = WeakKeyDictionary()


async def server_reachable(pool: AsyncConnectionPool) -> None:
    """Return when a new connection to the pool's server opens; raise its ``psycopg.OperationalError`` when none
    can. One question at a time per pool: every statement waiting meanwhile takes its answer, and a yes holds for
    ``ASK_SERVER_AFTER`` (an overloaded pool, every statement waiting, must not have the server start a backend
    for each)."""
    loop = asyncio.get_running_loop()
    answered = _ANSWERED.get(pool)
    if answered is not None and loop.time() - answered < ASK_SERVER_AFTER:
        return
    asked = _QUESTIONS.get(pool)
    if asked is None or asked.done():
        asked = _QUESTIONS[pool] = loop.create_task(_ask_server(pool.conninfo))
        asked.add_done_callback(_answer_taken)  # waiters cancelled meanwhile leave nobody to take a failure
    try:
        await asyncio.shield(asked)
    except psycopg.OperationalError as exc:  # one error of its own per waiter (a shared one gathers tracebacks)
        pool_metrics.UNREACHABLE.inc()
        raise psycopg.OperationalError(f"the database server cannot be reached: {exc}") from exc
    _ANSWERED[pool] = loop.time()


def _answer_taken(asked: asyncio.Task[None]) -> None:
    if not asked.cancelled():
        asked.exception()


async def _ask_server(conninfo: str) -> None:
    conn = await psycopg.AsyncConnection.connect(conninfo, connect_timeout=SERVER_ANSWER_SECONDS)
    await conn.close()


class ServerGoodbyeCheck:
    """The pool's check of a connection it is about to hand out (``check=``; set ``pool`` once it exists).

    One non-blocking look at the socket, and a round trip only when the server has said something while no
    statement ran (a shut-down server's goodbye): a broken connection raises and the pool replaces it. (Checking
    every connection with a round trip would cost one per statement, every turn.)

    A connection the server dropped means the others were most likely dropped with it (a restart, a failover), and
    psycopg_pool's check-out tries the next one only after a back-off (one second, then two, four...): a pool of
    dozens of dead connections would take minutes to get through. So the first dead one found has the whole pool
    checked at once, in the background."""

    def __init__(self) -> None:
        self.pool: AsyncConnectionPool | None = None

    async def __call__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
        if not readable:
            return
        try:
            await AsyncConnectionPool.check_connection(conn)
        except Exception:
            if self.pool is not None:
                sweep_soon(self.pool)
            raise


#: The background check under way for each pool (``sweep_soon``).
_SWEEPS: WeakKeyDictionary[AsyncConnectionPool, asyncio.Task[None]] = WeakKeyDictionary()


def sweep_soon(pool: AsyncConnectionPool) -> None:
    """Have every idle connection of the pool checked, in the background, unless that is under way already (a dead
    connection found, or a statement that met a server gone away, calls this; the caller raises at once)."""
    under_way = _SWEEPS.get(pool)
    if under_way is None or under_way.done():
        _SWEEPS[pool] = asyncio.get_running_loop().create_task(_sweep(pool))


async def _sweep(pool: AsyncConnectionPool) -> None:
    """Check every idle connection of the pool; nobody waits for this, so a failure (the pool closing meanwhile)
    ends it quietly."""
    with contextlib.suppress(Exception):
        await pool.check()
