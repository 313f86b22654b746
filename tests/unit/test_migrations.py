"""The schema's numbered migrations (tools/db/migrations.py): applied once each, in order, on SQLite files and on
PostgreSQL, to fresh databases and to files an earlier release made; `deskgraph db migrate` applies and checks."""

from __future__ import annotations

import sqlite3
import threading

from typer.testing import CliRunner

from tools import RetailStore
from tools.db.connect import connect
from tools.db.migrations import LATEST, MIGRATIONS, migrate, pending

STORE_VERSIONS = [m.version for m in MIGRATIONS if m.role == "store"]
CHECKPOINT_VERSIONS = [m.version for m in MIGRATIONS if m.role == "checkpoints"]


def _versions(conn) -> list[int]:
    return sorted(int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations").fetchall())


def test_sqlite_files_get_their_roles_migrations(tmp_path):
    RetailStore.open(tmp_path / "store.db").close()
    connect(tmp_path / "cp.db", "checkpoints").close()
    with sqlite3.connect(tmp_path / "store.db") as conn:
        assert _versions(conn) == STORE_VERSIONS
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"orders", "write_ledger", "tickets", "ticket_events", "message_feedback", "operator_tokens"} <= tables
    with sqlite3.connect(tmp_path / "cp.db") as conn:
        assert _versions(conn) == CHECKPOINT_VERSIONS
        assert pending(conn, "sqlite", ("checkpoints",)) == []


def test_a_file_from_an_earlier_release_is_brought_up_to_date(tmp_path):
    # What the first release made: tickets without the columns added later, no schema_migrations table.
    with sqlite3.connect(tmp_path / "store.db") as conn:
        conn.execute("CREATE TABLE tickets (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, "
                     "thread TEXT NOT NULL, customer TEXT, reason TEXT NOT NULL, summary TEXT NOT NULL, "
                     "created TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open')")
        conn.execute("INSERT INTO tickets (key, thread, reason, summary, created) VALUES ('k', 't', 'r', 's', 'now')")
    RetailStore.open(tmp_path / "store.db").close()
    with sqlite3.connect(tmp_path / "store.db") as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(tickets)")]
        assert {"claimed_by", "handed_back", "hand_back_summary", "close_note"} <= set(columns)
        assert conn.execute("SELECT key, status FROM tickets").fetchall() == [("k", "open")]  # nothing lost
        assert _versions(conn) == STORE_VERSIONS


def test_postgres_holds_every_role_and_replicas_migrate_once(postgres_url):
    errors: list[BaseException] = []
    applied: list[int] = []

    def replica() -> None:
        try:
            db = connect(postgres_url, "store")
            applied.extend(m.version for m in migrate(db.conn, "postgres", ("store", "checkpoints")))
            db.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    db = connect(postgres_url, "checkpoints")
    try:
        assert _versions(db) == list(range(1, LATEST + 1))
        assert migrate(db.conn, "postgres", ("store", "checkpoints")) == []  # nothing left to do
        assert applied == []  # the first connect of each thread migrated: every later call found nothing
        for table in ("orders", "tickets", "turn_leases", "thread_claims", "model_responses", "operator_tokens"):
            assert db.execute("SELECT to_regclass(?)", [table]).fetchone()[0] == table
    finally:
        db.close()


def test_the_cli_checks_and_applies(postgres_url):
    from agent.cli import _register, app

    _register()
    runner = CliRunner()
    checked = runner.invoke(app, ["db", "migrate", "--url", postgres_url, "--check"])
    assert checked.exit_code == 1 and f"pending\t{LATEST}\t" in checked.output
    assert "postgresql://" in checked.output
    done = runner.invoke(app, ["db", "migrate", "--url", postgres_url])
    assert done.exit_code == 0, done.output
    assert done.output.count("\tapplied\t") == LATEST and "checkpoint tables up to date" in done.output
    again = runner.invoke(app, ["db", "migrate", "--url", postgres_url, "--check"])
    assert again.exit_code == 0 and "up to date" in again.output


def test_the_cli_migrates_both_sqlite_files_of_a_sqlite_url(tmp_path):
    from agent.cli import _register, app

    _register()
    url = f"sqlite:///{tmp_path}/deskgraph.db"
    runner = CliRunner()
    checked = runner.invoke(app, ["db", "migrate", "--url", url, "--check"])
    assert checked.exit_code == 1, checked.output
    done = runner.invoke(app, ["db", "migrate", "--url", url])
    assert done.exit_code == 0, done.output
    with sqlite3.connect(tmp_path / "deskgraph.db") as conn:
        assert _versions(conn) == STORE_VERSIONS
    with sqlite3.connect(tmp_path / "deskgraph.checkpoints.db") as conn:
        assert _versions(conn) == CHECKPOINT_VERSIONS
        assert conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0] == 0  # LangGraph's tables too
    assert runner.invoke(app, ["db", "migrate", "--url", url, "--check"]).exit_code == 0
