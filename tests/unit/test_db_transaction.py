"""``AsyncDatabase.run_transaction``: statements in one write transaction (one call to aiosqlite's thread on SQLite),
all or nothing, with each statement's row count, on both engines."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from tools.db.connect import connect_async

pytestmark = pytest.mark.fast

_CLAIM = "INSERT INTO thread_claims (thread_id, owner, claimed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"


@pytest.fixture
async def database(store_engine, tmp_path, request):
    location = (request.getfixturevalue("postgres_server").new_database() if store_engine == "postgres"
                else tmp_path / "checkpoints.db")
    db = await connect_async(location, "checkpoints")
    yield db
    await db.close()


async def _claims(db) -> list[tuple]:
    return [tuple(r) for r in await (await db.execute(
        "SELECT thread_id, owner FROM thread_claims ORDER BY thread_id")).fetchall()]


async def test_each_statement_gives_its_row_count(database):
    counts = await database.run_transaction([(_CLAIM, ("t1", "alice", 1.0)), (_CLAIM, ("t1", "bob", 2.0)),
                                             (_CLAIM, ("t2", "bob", 3.0))])
    assert counts == [1, 0, 1]
    assert await _claims(database) == [("t1", "alice"), ("t2", "bob")]


async def test_a_failing_statement_rolls_the_whole_transaction_back(database):
    with pytest.raises((sqlite3.Error, psycopg.Error)):
        await database.run_transaction([(_CLAIM, ("t1", "alice", 1.0)), ("INSERT INTO no_such_table VALUES (1)", ())])
    assert await _claims(database) == []
    # the connection is usable afterwards, outside any transaction
    assert await database.run_transaction([(_CLAIM, ("t3", "carol", 1.0))]) == [1]
    assert await _claims(database) == [("t3", "carol")]
