"""The store's connection, on SQLite or PostgreSQL: opening (and migrating), closing, one transaction per tool
call."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import sqlite_utils

from tools.db.migrations import ROLES, migrate
from tools.db.urls import Engine, UnsupportedDatabaseError, database_engine, postgres_url, sqlite_path
from tools.store.schema import SCHEMA_VERSION

__all__ = ["StoreConnection", "UnsupportedDatabaseError", "sqlite_path"]

#: Serialises the store's write transactions on PostgreSQL, as BEGIN IMMEDIATE does on SQLite: a tool checks
#: its preconditions and then writes, and no other writer may come in between (pg_advisory_xact_lock's key).
_WRITE_LOCK_KEY = 0x646B_7374  # "dkst"
#: A multi-query read's transaction on PostgreSQL: one snapshot for all its queries, as SQLite's read transaction.
_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"


class StoreConnection:
    """The store's connection: opening, closing, one transaction per tool call.

    ``engine`` says which database it is on; ``db.execute`` and the connection a transaction yields take the
    same SQL on both (see ``tools.db``).
    """

    def __init__(self, conn: Any, engine: Engine = "sqlite") -> None:
        self._conn = conn
        self.engine = engine
        self._lock = threading.RLock()
        self._depth = 0
        if engine == "sqlite":
            self.db = sqlite_utils.Database(conn)
        else:
            from tools.db.postgres import PgDatabase

            self.db = PgDatabase(conn)

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, path: str | Path = ":memory:", *, busy_timeout_ms: int = 5000) -> Self:
        """Open the store at `path` and bring its schema up to date (``tools.db.migrations``): a SQLite file path,
        ``:memory:``, a ``sqlite:///relative/path`` / ``sqlite:////absolute/path`` URL, or a
        ``postgresql://user@host/db`` URL (the whole deployment's database: every role's tables are migrated).
        Any other URL is refused with ``UnsupportedDatabaseError`` before anything is made."""
        if database_engine(path) == "postgres":
            return cls._open_postgres(str(path), busy_timeout_ms)
        path = sqlite_path(path)
        if path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves (one transaction per tool call).
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, cached_statements=256)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            # In WAL mode synchronous=NORMAL never corrupts the database; a commit becomes
            # durable at the next checkpoint (a power cut may lose only the last commits).
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = OFF")
        migrate(conn, "sqlite", ("store",))
        if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return cls(conn)

    @classmethod
    def _open_postgres(cls, url: str, busy_timeout_ms: int) -> Self:
        from tools.db.postgres import PgConnection

        # A write waits this long for another's lock (the store's write lock included), like SQLite's busy timeout.
        conn = PgConnection.connect(postgres_url(url), session=[f"SET lock_timeout = {int(busy_timeout_ms)}"])
        migrate(conn, "postgres", ROLES)
        return cls(conn, "postgres")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def limit_server_answers(self, seconds: float | None) -> None:
        """On PostgreSQL, give up a statement whose server says nothing for ``seconds`` (``tools.db.silence``: a
        frozen or cut-off server; None: wait as long as it takes). SQLite has no server: its busy timeout bounds
        the waits."""
        if self.engine == "postgres":
            self._conn.answer_seconds = seconds

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT, ROLLBACK on any exception).

        Nested use becomes a SAVEPOINT. Inside, use `store.db.execute(...)` / the yielded
        connection; do not call sqlite-utils helpers that commit on their own (`insert_all`).
        """
        with self._lock:
            conn = self._conn
            if self._depth == 0:
                if self.engine == "sqlite":
                    conn.execute("BEGIN IMMEDIATE")
                else:
                    conn.execute("BEGIN")
                    conn.execute("SELECT pg_advisory_xact_lock(?)", [_WRITE_LOCK_KEY])
                self._depth = 1
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                else:
                    conn.execute("COMMIT")
                finally:
                    self._depth = 0
            else:
                name = f"sp{self._depth}"
                conn.execute(f"SAVEPOINT {name}")
                self._depth += 1
                try:
                    yield conn
                except BaseException:
                    conn.execute(f"ROLLBACK TO {name}")
                    conn.execute(f"RELEASE {name}")
                    raise
                else:
                    conn.execute(f"RELEASE {name}")
                finally:
                    self._depth -= 1

    def _read_together(self, statements: list[tuple[str, list[Any]]]) -> list[list[tuple]]:
        """The rows of several queries that need no answer of each other, from one snapshot. On PostgreSQL they go
        together, with the snapshot's BEGIN and COMMIT: one round trip where a read of a customer took nine (each
        one, on a busy process, a wait for the GIL as well as for the server)."""
        with self._lock:
            if self.engine == "postgres":
                return self._conn.read_together(statements, begin=None if self._depth else _SNAPSHOT)
            with self._read() as conn:
                return [conn.execute(sql, params).fetchall() for sql, params in statements]

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for a multi-query read (a deferred transaction)."""
        with self._lock:
            conn = self._conn
            if self._depth:
                yield conn
                return
            # PostgreSQL: a snapshot for the whole read, as SQLite's read transaction gives.
            conn.execute("BEGIN" if self.engine == "sqlite" else _SNAPSHOT)
            self._depth = 1
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")  # nothing to keep; and a session gone with the failure has nothing to end
                raise
            else:
                conn.execute("COMMIT")
            finally:
                self._depth = 0
