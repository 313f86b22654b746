"""One statement's connection from the saver's pool (``agent.runtime.postgres_checkout``): a cursor kept per
connection and kind, a connection a failure left in a transaction or broken handled by the pool, and a pool of
plain connections served too."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import AsyncConnectionPool

from agent.observability import REGISTRY
from agent.runtime import postgres_checkout
from agent.runtime.postgres_checkout import (
    KeptCursorConnection,
    ServerGoodbyeCheck,
    checkout,
    statement_cursor,
)


def _pool(url: str, *, connection_class: type = KeptCursorConnection, size: int = 1) -> AsyncConnectionPool:
    return AsyncConnectionPool(url, min_size=size, max_size=size, kwargs={"autocommit": True},
                               connection_class=connection_class, open=False)


async def test_a_connection_keeps_one_cursor_of_each_kind(postgres_url):
    async with _pool(postgres_url) as pool:
        await pool.wait()
        async with statement_cursor(pool, binary=True, row_factory=dict_row) as first:
            await first.execute("SELECT 1 AS one")
            assert await first.fetchone() == {"one": 1}
        async with statement_cursor(pool, binary=True, row_factory=dict_row) as again:
            await again.execute("SELECT 2 AS two")
            assert await again.fetchall() == [{"two": 2}]  # started afresh: nothing left of the first result
        async with statement_cursor(pool, binary=False, row_factory=tuple_row) as other:
            await other.execute("SELECT 'x'")
            assert await other.fetchone() == ("x",)
        assert again is first and other is not first
        assert pool.get_stats()["pool_available"] == 1  # every check-out went back


async def test_a_failed_transaction_goes_back_rolled_back(postgres_url):
    async with _pool(postgres_url) as pool:
        await pool.wait()
        async with statement_cursor(pool, binary=False, row_factory=tuple_row) as cursor:
            await cursor.execute("CREATE TABLE kept (n integer)")
        with pytest.raises(psycopg.errors.DivisionByZero):
            async with statement_cursor(pool, binary=False, row_factory=tuple_row) as cursor:
                await cursor.execute("BEGIN")
                await cursor.execute("INSERT INTO kept VALUES (1)")
                await cursor.execute("SELECT 1 / 0")
        async with statement_cursor(pool, binary=False, row_factory=tuple_row) as cursor:
            await cursor.execute("SELECT count(*) FROM kept")
            assert await cursor.fetchone() == (0,)
            assert cursor.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


async def test_a_connection_the_server_dropped_is_replaced(postgres_url):
    """A broken connection raises once; the pool is checked, and the next statement runs on a new connection."""
    async with _pool(postgres_url) as pool:
        await pool.wait()
        async with statement_cursor(pool, binary=False, row_factory=tuple_row) as cursor:
            await cursor.execute("SELECT pg_backend_pid()")
            (pid,) = await cursor.fetchone()
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        with pytest.raises(psycopg.OperationalError):
            async with statement_cursor(pool, binary=False, row_factory=tuple_row) as cursor:
                await cursor.execute("SELECT 1")
        async with statement_cursor(pool, binary=False, row_factory=tuple_row) as cursor:
            await cursor.execute("SELECT pg_backend_pid()")
            assert (await cursor.fetchone())[0] != pid


async def test_a_pool_of_plain_connections_gets_a_cursor_per_block(postgres_url):
    async with _pool(postgres_url, connection_class=psycopg.AsyncConnection) as pool:
        await pool.wait()
        async with statement_cursor(pool, binary=True, row_factory=dict_row) as cursor:
            await cursor.execute("SELECT 1 AS one")
            assert await cursor.fetchone() == {"one": 1}
        assert cursor.closed


async def test_a_pool_whose_connections_all_died_is_swept_at_once(postgres_url):
    """The server dropped every connection (a restart, a failover): the first dead one found has the whole pool
    checked, so the next statement runs on a new connection. psycopg_pool's own check-out would try the next
    connection only after a back-off (1, 2, 4 s...): through 8 dead ones, past the pool's 5 s timeout."""
    check = ServerGoodbyeCheck()
    pool = AsyncConnectionPool(postgres_url, min_size=8, max_size=8, kwargs={"autocommit": True}, timeout=5,
                               connection_class=KeptCursorConnection, check=check, open=False)
    async with pool:
        check.pool = pool
        await pool.wait()
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as admin:
            others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            await admin.execute(f"SELECT pg_terminate_backend(pid) {others}")
            # pg_terminate_backend returns before the backends have said goodbye: wait until they are gone.
            while (await (await admin.execute(f"SELECT count(*) {others}")).fetchone())[0]:
                await asyncio.sleep(0.01)
        async with statement_cursor(pool, binary=False, row_factory=tuple_row) as cursor:
            await cursor.execute("SELECT 1")
            assert await cursor.fetchone() == (1,)
        assert pool.get_stats().get("connections_lost", 0) >= 1


async def test_a_statement_fails_within_seconds_when_the_server_cannot_be_reached(monkeypatch):
    """Nothing listens where the pool connects (a server down): the statement's wait for a connection ends with
    the server asked and refusing, not after the pool's timeout (60 s here, 30 s in the product)."""
    import socket

    monkeypatch.setattr(postgres_checkout, "ASK_SERVER_AFTER", 0.2)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    pool = AsyncConnectionPool(f"postgresql://postgres@127.0.0.1:{port}/nothing", min_size=1, max_size=1,
                               timeout=60, reconnect_timeout=60, open=False)
    await pool.open(wait=False)
    unreachable = REGISTRY.get_sample_value("deskgraph_database_unreachable_total")
    try:
        with pytest.raises(psycopg.OperationalError, match="cannot be reached"):
            await asyncio.wait_for(checkout(pool), timeout=15)
        assert REGISTRY.get_sample_value("deskgraph_database_unreachable_total") == unreachable + 1  # in /metrics
    finally:
        await pool.close(timeout=0)


async def test_a_busy_pool_keeps_the_statement_waiting_for_a_connection(postgres_url, monkeypatch):
    """Every connection is in use: the server, asked once for all the statements waiting, answers, and each
    statement gets the connection given back after the question (not an error)."""
    monkeypatch.setattr(postgres_checkout, "ASK_SERVER_AFTER", 0.2)
    asked = []
    ask = postgres_checkout._ask_server

    async def counted(conninfo: str) -> None:
        asked.append(conninfo)
        await ask(conninfo)

    monkeypatch.setattr(postgres_checkout, "_ask_server", counted)
    async with _pool(postgres_url) as pool:
        await pool.wait()
        held = await pool.getconn()
        waiting = []
        for _ in range(3):  # each waits past ASK_SERVER_AFTER at its own moment, after the first was answered
            waiting.append(asyncio.create_task(checkout(pool)))
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.4)
        assert len(asked) == 1 and not any(task.done() for task in waiting)  # one answer, good for a while
        await pool.putconn(held)
        for _ in range(3):
            done, _pending = await asyncio.wait(waiting, timeout=5, return_when=asyncio.FIRST_COMPLETED)
            (task,) = done
            waiting.remove(task)
            assert task.result() is held
            await pool.putconn(held)


async def test_the_runtime_pool_has_the_configured_size(postgres_url, tmp_path, monkeypatch):
    """DESKGRAPH_DATABASE_POOL_SIZE sizes a replica's pool: three quarters kept open from the start, each
    connection set up with orjson for its JSON and with limits on waiting for a server that answers nothing."""
    from psycopg.adapt import PyFormat
    from psycopg.types.json import Jsonb

    from agent.runtime import SupportRuntime, postgres_json
    from agent.testing import ScriptedChatModel
    from tests.graph.api_support import shop_settings
    from tools.db.silence import answer_limit

    monkeypatch.setenv("DESKGRAPH_DATABASE_URL", postgres_url)
    settings = shop_settings(tmp_path, database_pool_size=8)
    async with SupportRuntime.open(settings, model=ScriptedChatModel()) as runtime:
        pool = runtime.saver.conn
        assert (pool.min_size, pool.max_size) == (6, 8)
        assert pool.get_stats()["pool_size"] == 6
        async with pool.connection() as conn:  # set up as the saver's: JSON in orjson (postgres_json)
            assert conn.adapters.get_dumper(Jsonb, PyFormat.BINARY)(Jsonb, conn).dumps is postgres_json.dumps
            # A server that answers nothing is given up: on connecting, and on a statement past its lock timeout.
            assert "connect_timeout=10" in conn.info.dsn
            assert conn.answer_seconds == answer_limit(settings.sqlite_busy_timeout_ms)
        assert runtime.store._conn.answer_seconds == answer_limit(settings.sqlite_busy_timeout_ms)  # the store's too
