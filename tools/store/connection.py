"""The store's SQLite connection: opening, closing, one transaction per tool call."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

import sqlite_utils

from tools.store.schema import _SCHEMA, SCHEMA_VERSION


class UnsupportedDatabaseError(ValueError):
    """A database URL this build cannot open."""


def sqlite_path(location: str | Path) -> str:
    """The SQLite file a store location names: a path as it is, a ``sqlite:///`` URL's path; other URLs raise
    ``UnsupportedDatabaseError``. A URL that went through ``pathlib.Path`` has lost a slash ("postgresql:/host");
    it is recognised too, rather than made into folders."""
    text = str(location)
    scheme, colon, rest = text.partition(":")
    is_url = bool(colon) and len(scheme) > 1 and scheme[0].isalpha() and scheme.replace("+", "").isalnum() \
        and rest.startswith("/")  # "C:/x" (one letter) is a Windows drive; "file:" URIs have no slash after
    if not is_url:
        return text
    if scheme == "sqlite" and rest.startswith("///") and len(rest) > 3:
        return rest[3:]  # sqlite:///var/x.db -> var/x.db ; sqlite:////abs/x.db -> /abs/x.db
    if scheme == "sqlite":
        raise UnsupportedDatabaseError(f"{text!r}: write a SQLite URL as sqlite:///relative/path or "
                                       "sqlite:////absolute/path (as a string: a Path drops a slash)")
    raise UnsupportedDatabaseError(
        f"cannot open {scheme}:// databases: this build keeps its data in SQLite (a file path or sqlite:///path)"
        + ("; PostgreSQL support is not built yet" if scheme.startswith("postgres") else ""))


class StoreConnection:
    """The store's SQLite connection: opening, closing, one transaction per tool call."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self._depth = 0
        self.db = sqlite_utils.Database(conn)

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, path: str | Path = ":memory:", *, busy_timeout_ms: int = 5000) -> Self:
        """Open (creating the file and schema when missing) the store at `path`: a file path, ``:memory:``, or a
        ``sqlite:///relative/path`` / ``sqlite:////absolute/path`` URL. Any other URL (``postgresql://``) is refused
        with ``UnsupportedDatabaseError``, instead of being taken for a file path (it made folders named after the
        scheme)."""
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
        store = cls(conn)
        with store.transaction():
            store.create_tables(_SCHEMA)
            if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return store

    def create_tables(self, schema: str) -> None:
        """Run ``CREATE ... IF NOT EXISTS`` statements (separated by ``;``): the store's own, or the tables another
        layer keeps in this database (tickets, ratings). One by one: executescript would commit a running
        transaction."""
        for statement in schema.split(";"):
            if statement.strip():
                self._conn.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

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
                conn.execute("BEGIN IMMEDIATE")
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

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for a multi-query read (a deferred transaction)."""
        with self._lock:
            conn = self._conn
            if self._depth:
                yield conn
                return
            conn.execute("BEGIN")
            self._depth = 1
            try:
                yield conn
            finally:
                self._depth = 0
                conn.execute("COMMIT")

