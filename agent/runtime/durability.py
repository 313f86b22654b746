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
from pathlib import Path

from tools.db import sqlite_path


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
