"""The database errors a caller can outlast: a locked SQLite file, a PostgreSQL lock wait that timed out, a server
that went away. A turn that meets one fails with "try again" and keeps the conversation."""

from __future__ import annotations

import sqlite3

import psycopg

#: What a database raises when it is locked, unreachable or gone (both engines).
UNAVAILABLE: tuple[type[Exception], ...] = (sqlite3.OperationalError, psycopg.OperationalError)


def is_busy(exc: BaseException) -> bool:
    """A lock held elsewhere (SQLite's "database is locked", PostgreSQL's lock_timeout) or a lost server."""
    if isinstance(exc, sqlite3.OperationalError):
        return "locked" in str(exc)
    return isinstance(exc, psycopg.OperationalError)
