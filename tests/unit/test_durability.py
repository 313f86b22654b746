"""What a turn does as it returns (agent.runtime.durability.TurnDurability): one fsync of each SQLite file it wrote,
none on PostgreSQL, and every 32 turns a checkpoint of the checkpoint file's log, started in the background."""

from __future__ import annotations

import os
import sqlite3

import pytest

from agent.runtime import durability

pytestmark = pytest.mark.fast


@pytest.fixture
def synced(monkeypatch) -> list[str]:
    """The files fsynced from now on, by name."""
    names: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        names.append(os.path.basename(os.readlink(f"/proc/self/fd/{fd}")))
        real(fd)

    monkeypatch.setattr(durability.os, "fsync", fsync)
    return names


def _wal_file(path) -> sqlite3.Connection:  # noqa: ANN001 - a pytest path
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    return conn


def test_a_turn_fsyncs_the_logs_of_the_files_it_wrote_and_checkpoints_every_32_turns(tmp_path, synced, monkeypatch):
    started = []
    monkeypatch.setattr(durability, "in_background", lambda fn, *args: started.append(fn))
    files = [_wal_file(tmp_path / name) for name in ("cp.db", "store.db")]
    turn_done = durability.TurnDurability(tmp_path / "cp.db", f"sqlite:///{tmp_path / 'store.db'}")
    turn_done(False)
    assert synced == ["cp.db-wal"]  # the store was not written
    turn_done(True)
    assert synced[1:] == ["cp.db-wal", "store.db-wal"]
    for _ in range(29):
        turn_done(False)
    assert started == []
    turn_done(False)  # the 32nd turn
    assert len(started) == 1
    turn_done.close()
    for conn in files:
        conn.close()


def test_nothing_to_sync_on_postgresql(synced):
    turn_done = durability.TurnDurability("postgresql://deskgraph@db/shop", "postgresql://deskgraph@db/shop")
    turn_done(True)
    turn_done.close()
    assert synced == []


async def test_a_turn_leaves_the_loop_only_when_a_file_is_to_be_synced(tmp_path, synced, monkeypatch):
    """after_turn hops to a thread for the fsync; on PostgreSQL (nothing to sync) it does not hop at all."""
    hops = []

    async def off_loop(fn, *args):
        hops.append(args)
        return fn(*args)

    monkeypatch.setattr(durability, "off_loop", off_loop)
    on_postgres = durability.TurnDurability("postgresql://deskgraph@db/shop", "postgresql://deskgraph@db/shop")
    await on_postgres.after_turn(True)
    assert hops == [] and synced == []
    file = _wal_file(tmp_path / "cp.db")
    on_sqlite = durability.TurnDurability(tmp_path / "cp.db", None)
    await on_sqlite.after_turn(False)
    assert hops == [(False,)] and synced == ["cp.db-wal"]
    on_sqlite.close()
    file.close()
