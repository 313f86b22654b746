"""Making a finished turn durable with one fsync instead of one per step.

The SQLite files run in WAL mode with synchronous=NORMAL: each step's commit is appended to the WAL (safe
against a process crash) without waiting for the disk. When a turn returns, one fsync of the WAL makes every
commit of the turn durable against power loss too, because a WAL transaction is durable once its commit frame
is on disk. synchronous=FULL would pay that fsync at every step (several per turn) for no extra guarantee at
the turn boundary.

On PostgreSQL there is nothing to do (the runtime calls this for SQLite files only): a commit returns once the
server has made it durable (its own ``synchronous_commit``).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from graphs.blocking import in_background, off_loop
from tools.db import database_engine, sqlite_path


def make_durable(db_path: str | Path) -> None:
    """fsync the SQLite database's write-ahead log (or the database itself when it has none)."""
    path = Path(sqlite_path(db_path))
    wal = path.with_name(path.name + "-wal")
    target = wal if wal.exists() else path
    if not target.exists():
        return
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WalCheckpoints:
    """Copies a SQLite file's write-ahead log back into the database every so many turns, in the background.

    SQLite does this itself after a commit once the log holds 1000 pages (``wal_autocheckpoint``) on the
    connection that committed, but the saver's connection, which also carries the leases' and the recorder's
    writes (``saver_connection``), has that turned off: it writes on the event loop's thread, and a checkpoint
    copies pages and fsyncs the file. So the runtime calls ``after_turn`` from the blocking executor when a turn has
    returned, and every ``turns`` turns this starts a passive checkpoint on a connection of its own, in the
    background (a turn never waits for it). Passive: it copies what no reader still needs and never waits for, or
    blocks, a writer. A turn writes a few dozen pages, so the log stays around the size SQLite's own default lets
    it reach. (SQLite also checkpoints when the last connection to the file closes.)
    """

    def __init__(self, db_path: str | Path, *, turns: int = 32) -> None:
        self._path = sqlite_path(db_path)
        self._turns = turns
        self._since = 0
        self._conn: sqlite3.Connection | None = None
        self._count = threading.Lock()
        self._checkpointing = threading.Lock()
        self._closed = False

    def after_turn(self) -> None:
        """Count a turn; every ``turns`` turns, start a checkpoint in the background: the turn that counted it
        returns at once (its fsync is done), and a checkpoint under way makes the next one wait for the next
        ``turns`` turns (it copies their pages then)."""
        with self._count:
            self._since += 1
            if self._since < self._turns:
                return
            self._since = 0
        in_background(self.checkpoint)

    def checkpoint(self) -> None:
        """A passive checkpoint now, unless one is under way or this is closed."""
        if not self._checkpointing.acquire(blocking=False):
            return
        try:
            if self._closed:
                return
            if self._conn is None:
                self._conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            self._checkpointing.release()

    def close(self) -> None:
        """Close the checkpointing connection (waits for a checkpoint under way)."""
        with self._checkpointing:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class TurnDurability:
    """What a turn does as it returns, called with whether it wrote the store: one fsync of each SQLite file it
    wrote (``make_durable``; PostgreSQL's commits are durable by themselves), and every so many turns a checkpoint of
    the checkpoint file's log (``WalCheckpoints``)."""

    def __init__(self, checkpoint_location: str | Path | None, store_location: str | Path | None) -> None:
        self._checkpoints, self._store = (
            location if location is not None and database_engine(location) == "sqlite" else None
            for location in (checkpoint_location, store_location))
        # The saver's connection leaves its log to this, after the turn's fsync.
        self._wal = WalCheckpoints(self._checkpoints) if self._checkpoints else None

    async def after_turn(self, wrote_store: bool) -> None:
        """``self(wrote_store)`` off the event loop (an fsync blocks), when there is a SQLite file to make durable:
        on PostgreSQL a turn returns without the hop to a thread and back."""
        if self._checkpoints or (wrote_store and self._store):
            await off_loop(self, wrote_store)

    def __call__(self, wrote_store: bool) -> None:
        """One fsync per turn: everything the turn committed survives a power cut once this returns."""
        if self._checkpoints:
            make_durable(self._checkpoints)
            if self._wal is not None:
                self._wal.after_turn()
        if wrote_store and self._store:
            make_durable(self._store)

    def close(self) -> None:
        """Close the log checkpoints' connection."""
        if self._wal is not None:
            self._wal.close()
