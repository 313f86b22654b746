"""A customer's records are read in one go (``StoreConnection._read_together``): on PostgreSQL the queries, and the
snapshot's BEGIN and COMMIT, are sent together. Inside a write transaction they read its own changes; a failed
read ends what it began; a session the server broke is replaced and the read sent once more."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.pq import TransactionStatus

from tests.unit.retail_ref import example_data

U, O1 = "lena_moreau_3307", "#W1000001"


@pytest.fixture
def store(new_store):
    s = new_store()
    s.load_json(example_data())
    return s


def test_inside_a_write_transaction_the_read_sees_its_changes_and_nothing_after_a_rollback(store):
    before, _ = store.customer_records(U)
    with pytest.raises(RuntimeError), store.transaction() as conn:
        conn.execute("UPDATE users SET zip = ? WHERE user_id = ?", ["99999", U])
        conn.execute("UPDATE orders SET status = ? WHERE order_id = ?", ["cancelled", O1])
        profile, orders = store.customer_records(U)
        assert profile["address"]["zip"] == "99999" and orders[O1]["status"] == "cancelled"
        raise RuntimeError("the tool failed")
    assert store.customer_records(U)[0] == before
    assert store.customer_records(U)[1][O1] == store.order_record(O1)


@pytest.mark.parametrize("store_engine", ["postgres"], indirect=True)
def test_a_failed_read_ends_its_snapshot_and_the_connection_reads_on(store):
    conn = store._conn
    with pytest.raises(psycopg.errors.UndefinedTable):
        conn.read_together([("SELECT 1 FROM users WHERE user_id = ?", [U]), ("SELECT x FROM nowhere", [])],
                           begin="BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    assert conn.raw.info.transaction_status == TransactionStatus.IDLE
    assert store.customer_records(U)[0] == store.user_record(U)


@pytest.mark.parametrize("store_engine", ["postgres"], indirect=True)
def test_a_session_the_server_ended_is_replaced_and_the_read_sent_once_more(store, postgres_server):
    expected = store.customer_records(U)
    pid = store._conn.raw.info.backend_pid
    with psycopg.connect(postgres_server.url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    assert store.customer_records(U) == expected
    assert store._conn.raw.info.backend_pid != pid
