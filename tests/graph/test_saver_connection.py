"""The turn leases and the model recorder share the checkpoint saver's connection (SQLite) or pool (PostgreSQL):
``agent.runtime.saver_connection``. On SQLite a process then writes its checkpoint file on one connection: the
statements commit as on a connection of their own, another process sees them at once, and many concurrent turns
never find the file locked by themselves. On PostgreSQL no lease waits for another's round trip."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from contextlib import closing

import psycopg
import pytest

from agent.runtime import SupportRuntime, durability, sqlite_inline
from agent.runtime.durability import WalCheckpoints
from agent.runtime.lease import TurnLeases
from agent.runtime.saver_connection import SaverPool, SaverSqlite
from agent.runtime.storage import open_checkpointer
from graphs.blocking import in_background
from tests.graph.api_support import LENA, shop_settings
from tests.graph.saver_checks import loop_ticks
from tests.graph.test_concurrency import SlowModel
from tools.db.connect import connect

pytestmark = pytest.mark.fast


@pytest.fixture
async def saver(tmp_path):
    conn, saver = await open_checkpointer(tmp_path / "checkpoints.db")
    yield saver, tmp_path / "checkpoints.db"
    await conn.close()


async def test_leases_on_the_savers_connection_commit_each_statement_for_other_processes(saver):
    saver, path = saver
    leases = await TurnLeases.open(path, ttl_seconds=30, saver=saver)
    other = sqlite3.connect(path, isolation_level=None)  # another process, say
    try:
        assert isinstance(leases.conn, SaverSqlite) and leases.conn.conn is saver.conn
        owner = await leases.acquire("t", claim_for="alice")
        assert owner is not None and await leases.acquire("t") is None
        # Committed, not left in an open transaction of the saver's connection: visible elsewhere, file unlocked.
        assert other.execute("SELECT owner FROM turn_leases WHERE thread_id = 't'").fetchall() == [(owner,)]
        assert other.execute("SELECT owner FROM thread_claims WHERE thread_id = 't'").fetchall() == [("alice",)]
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        assert await leases.owner_of("t") == "alice" and await leases.claimed_by("alice") == {"t"}
        assert await leases.renew("t", owner)
        await leases.release("t", owner)
        assert other.execute("SELECT count(*) FROM turn_leases").fetchone() == (0,)
        assert not saver.conn._conn.in_transaction
        with pytest.raises(TypeError, match="run_transaction"):
            async with leases.conn.transaction():
                pass
        await leases.close()  # closes nothing of the saver's
        assert (await saver.aget_tuple({"configurable": {"thread_id": "t"}})) is None
    finally:
        other.close()


async def test_a_lease_waits_for_another_processs_write_lock_without_stalling_the_loop(saver):
    saver, path = saver
    leases = await TurnLeases.open(path, ttl_seconds=30, saver=saver)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
    try:
        async with loop_ticks() as ticks:
            assert await leases.acquire("t", claim_for="bob") is not None
        assert ticks[0] >= 10, f"the loop stalled while the lease waited ({ticks[0]} ticks)"
    finally:
        other.close()


async def test_concurrent_turns_of_one_process_never_find_the_checkpoint_file_locked(tmp_path, monkeypatch):
    locked = []
    real = sqlite_inline.is_busy
    monkeypatch.setattr(sqlite_inline, "is_busy", lambda exc: locked.append(exc) or real(exc))
    model = SlowModel()
    async with SupportRuntime.open(shop_settings(tmp_path), model=model) as runtime:
        assert runtime.leases.conn.conn is runtime.saver.conn
        for _ in range(2):
            outcomes = await asyncio.gather(*[
                runtime.turn(f"c{n}", "Was my order #W1000002 delivered? And where is it now?", customer_id=LENA)
                for n in range(24)])
            assert all(outcome.reply for outcome in outcomes)
        with closing(sqlite3.connect(tmp_path / "cp.db")) as check:
            recorded = check.execute("SELECT count(*) FROM model_responses").fetchone()[0]
            leased = check.execute("SELECT count(*) FROM turn_leases").fetchone()[0]
    assert locked == [], f"{len(locked)} writes found the file locked by the process's own connections"
    assert recorded == model.requests and leased == 0


async def test_leases_on_the_postgres_savers_pool_do_not_wait_for_each_other(postgres_url):
    from agent.runtime.postgres_saver import open_postgres_checkpointer
    from graphs.state import delta_channels

    connect(postgres_url, "checkpoints").close()  # the leases' tables
    async with open_postgres_checkpointer(postgres_url, delta_channels()) as saver:
        leases = await TurnLeases.open(postgres_url, ttl_seconds=30, saver=saver)
        assert isinstance(leases.conn, SaverPool)
        first = await leases.acquire("a", claim_for="alice")
        assert first is not None
        other = psycopg.connect(postgres_url, autocommit=True)
        try:
            other.execute("BEGIN")
            other.execute("SELECT * FROM turn_leases WHERE thread_id = 'a' FOR UPDATE")  # a's row, locked elsewhere
            blocked = asyncio.create_task(leases.release("a", first))
            await asyncio.sleep(0.2)
            assert not blocked.done()
            # The process's other leases go on meanwhile: on a connection of their own, not behind a's.
            second = await asyncio.wait_for(leases.acquire("b", claim_for="bob"), timeout=2)
            assert second is not None and await leases.owner_of("b") == "bob"
            assert other.execute("SELECT owner FROM turn_leases WHERE thread_id = 'b'").fetchall() == [(second,)]
            other.execute("COMMIT")
            await asyncio.wait_for(blocked, timeout=2)
            assert other.execute("SELECT count(*) FROM turn_leases WHERE thread_id = 'a'").fetchone() == (0,)
        finally:
            other.close()
        await leases.close()  # closes nothing of the saver's pool
        assert await saver.aget_tuple({"configurable": {"thread_id": "a", "checkpoint_ns": ""}}) is None


def test_wal_checkpoints_copy_the_log_into_the_database_every_n_turns_in_the_background(tmp_path, monkeypatch):
    path = tmp_path / "c.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint = 0")  # as the saver's connection
    writer.execute("CREATE TABLE t (b BLOB)")
    for _ in range(50):
        writer.execute("INSERT INTO t VALUES (randomblob(4000))")
    size = path.stat().st_size
    started = []
    monkeypatch.setattr(durability, "in_background", lambda fn, *args: started.append((fn, args)))
    wal = WalCheckpoints(path, turns=3)
    wal.after_turn()
    wal.after_turn()
    assert started == [] and path.stat().st_size == size  # not yet: every third turn
    wal.after_turn()
    assert started == [(wal.checkpoint, ())] and path.stat().st_size == size  # started, not waited for
    started[0][0]()
    assert path.stat().st_size > size + 50 * 4000  # the rows' pages are in the database file now
    wal.close()
    wal.checkpoint()  # closed: nothing to do, no error
    writer.close()


def test_a_background_task_that_fails_is_logged(caplog):
    done = threading.Event()

    def fails() -> None:
        done.set()
        raise RuntimeError("disk gone")

    with caplog.at_level(logging.ERROR, logger="graphs.blocking"):
        in_background(fails)
        assert done.wait(5)
        for _ in range(100):
            if "disk gone" in caplog.text:
                break
            time.sleep(0.01)
    assert "background task" in caplog.text and "disk gone" in caplog.text
