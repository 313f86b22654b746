"""SQL written for SQLite, run on PostgreSQL through psycopg.

The layers above write one SQL text for both engines: ``?`` parameters, ``ON CONFLICT`` and ``RETURNING``
(which SQLite has too), plain column names. This connection turns ``?`` into psycopg's ``%s`` and keeps
numbers exact:

- Python numbers are sent untyped (as text), so PostgreSQL takes the type of the column or the comparison they
  meet; a float is sent as ``repr`` and an int as its digits.
- The money columns (``MONEY_COLUMNS``: price, amount, balance, exchange_price_difference) are TEXT holding that
  JSON number, so 58 stays 58, 58.0 stays 58.0 and -0.0 stays -0.0, as SQLite's ``ANY`` keeps them; rows read
  through this connection give them back as numbers, found by column name.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any, TypeVar

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format, TransactionStatus

from tools.db.silence import AnsweringConnection, ServerSilentError
from tools.db.urls import connect_options

T = TypeVar("T")

#: Columns that hold a JSON number of the dataset (int or float, exactly as loaded).
MONEY_COLUMNS = frozenset({"price", "amount", "balance", "exchange_price_difference"})


class _UntypedNumberDumper(Dumper):
    """An int or float as untyped text: the server casts it to what the statement needs."""

    format = Format.TEXT
    oid = 0  # "unknown": typed by its context, like a string literal

    def dump(self, obj: int | float) -> bytes:
        return (repr(obj) if isinstance(obj, float) else str(int(obj))).encode()


def register_untyped_numbers(conn: psycopg.Connection | psycopg.AsyncConnection) -> None:
    """Send this connection's int and float parameters untyped (see the module's docstring)."""
    conn.adapters.register_dumper(int, _UntypedNumberDumper)
    conn.adapters.register_dumper(float, _UntypedNumberDumper)


@lru_cache(maxsize=1024)
def to_psycopg(sql: str) -> str:
    """``?`` parameters to ``%s``; a literal ``%`` doubled (psycopg would read it as a placeholder)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _decode_money(text: Any) -> Any:
    return json.loads(text) if isinstance(text, str) else text


class PgCursor:
    """The parts of ``sqlite3.Cursor`` the product uses, over a psycopg cursor."""

    def __init__(self, cursor: psycopg.Cursor) -> None:
        self._cursor = cursor
        desc = cursor.description or ()
        self._money = [i for i, col in enumerate(desc) if col.name in MONEY_COLUMNS]

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def description(self) -> Any:
        return self._cursor.description

    def _row(self, row: tuple | None) -> tuple | None:
        if row is None or not self._money:
            return row
        values = list(row)
        for i in self._money:
            values[i] = _decode_money(values[i])
        return tuple(values)

    def fetchone(self) -> tuple | None:
        return self._row(self._cursor.fetchone()) if self._cursor.description else None

    def fetchall(self) -> list[tuple]:
        if not self._cursor.description:
            return []
        return [self._row(r) for r in self._cursor.fetchall()]

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.fetchall())


#: Statements that end a transaction (or a savepoint): on a session that is gone there is none left to end.
_ENDING = ("ROLLBACK", "RELEASE", "COMMIT")


class _NoResult:
    """A cursor's result where no statement ran."""

    rowcount = 0
    description = None


_NO_RESULT: Any = _NoResult()


class PgConnection:
    """A psycopg connection in autocommit mode (transactions are issued explicitly, as on SQLite), answering
    ``execute``/``executemany`` like ``sqlite3.Connection``. Thread-safe: one statement at a time.

    A connection the server broke (a restart, a failover) is replaced by a new session, set up the same way
    (``session``: statements such as ``SET lock_timeout``). A statement outside a transaction that finds the old
    session dead (a BEGIN, a read) is sent once more on the new one: nothing of it ran. Inside a transaction the
    statement fails, and with it the transaction, which the caller rolls back; the next statement reconnects.
    A statement the server did not answer within ``answer_seconds`` (``tools.db.silence``) is not sent again: it
    may yet run.
    """

    def __init__(self, url: str, session: Sequence[str] = ()) -> None:
        self.url = url
        self.session = tuple(session)
        self._lock = threading.RLock()
        self._answer_seconds: float | None = None
        self.raw = self._open()

    @property
    def answer_seconds(self) -> float | None:
        """How long a statement waits for the server's answer (None: as long as it takes)."""
        return self._answer_seconds

    @answer_seconds.setter
    def answer_seconds(self, seconds: float | None) -> None:
        with self._lock:
            self._answer_seconds = self.raw.answer_seconds = seconds

    def _open(self) -> psycopg.Connection:
        conn = AnsweringConnection.connect(self.url, autocommit=True, application_name="deskgraph",
                                           **connect_options(self.url))
        register_untyped_numbers(conn)
        for statement in self.session:
            conn.execute(statement)
        conn.answer_seconds = self._answer_seconds  # a session replacing a broken one: the same limit
        return conn

    @classmethod
    def connect(cls, url: str, *, session: Sequence[str] = ()) -> PgConnection:
        """Connect (autocommit; the caller begins and ends transactions)."""
        return cls(url, session)

    def _live(self) -> psycopg.Connection:
        if self.raw.closed and not self._closed_by_us:
            self.raw = self._open()
        return self.raw

    _closed_by_us = False

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> PgCursor:
        with self._lock:
            if self.raw.closed and not self._closed_by_us and sql.startswith(_ENDING):
                # The session broke or was given up (tools.db.silence) in a transaction, which ended with it: a
                # new session has nothing to roll back (and opening one would wait on a silent server again),
                # nor anything to commit.
                if sql.startswith("COMMIT"):
                    raise psycopg.OperationalError("the connection was lost: its transaction was not committed")
                return PgCursor(_NO_RESULT)
            return self._sent(lambda conn: self._run(conn, sql, params))

    def _sent(self, send: Callable[[psycopg.Connection], T]) -> T:
        """``send`` on the live session; once more on a new one when it found the session dead outside a
        transaction (nothing of it ran). Not after ``ServerSilentError``: what was given up may yet run."""
        conn = self._live()
        outside = conn.info.transaction_status == TransactionStatus.IDLE
        try:
            return send(conn)
        except ServerSilentError:
            raise
        except psycopg.OperationalError:
            if not (outside and conn.closed and not self._closed_by_us):
                raise
        return send(self._live())

    @staticmethod
    def _run(conn: psycopg.Connection, sql: str, params: Sequence[Any] | None) -> PgCursor:
        cursor = conn.cursor()
        if params:
            cursor.execute(to_psycopg(sql), tuple(params))
        else:  # no parameters: psycopg leaves the text alone (a "%" stays single)
            cursor.execute(sql)
        return PgCursor(cursor)

    def read_together(self, statements: Sequence[tuple[str, Sequence[Any]]], *,
                      begin: str | None) -> list[list[tuple]]:
        """The rows of several reads, sent together (psycopg's pipeline: one round trip instead of one each), in
        the transaction ``begin`` starts and a COMMIT ends, sent with them (None: in the caller's transaction).
        Found dead before it was sent, the session is replaced and the reads sent once more, as ``execute`` does."""
        with self._lock:
            return self._sent(lambda conn: self._read_together(conn, statements, begin))

    @staticmethod
    def _read_together(conn: psycopg.Connection, statements: Sequence[tuple[str, Sequence[Any]]],
                       begin: str | None) -> list[list[tuple]]:
        cursors = []
        try:
            with conn.pipeline():
                if begin:
                    conn.execute(begin)
                for sql, params in statements:
                    cursor = conn.cursor()
                    cursor.execute(to_psycopg(sql), tuple(params))
                    cursors.append(cursor)
                if begin:
                    conn.execute("COMMIT")
        except psycopg.Error:
            # A failed read leaves the transaction begun here aborted: end it (a session gone has none to end).
            if begin and not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
            raise
        return [PgCursor(cursor).fetchall() for cursor in cursors]

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> PgCursor:
        with self._lock:
            cursor = self._live().cursor()
            cursor.executemany(to_psycopg(sql), [tuple(r) for r in rows])
            return PgCursor(cursor)

    def close(self) -> None:
        with self._lock:
            self._closed_by_us = True
            self.raw.close()

    @property
    def closed(self) -> bool:
        return self.raw.closed


class PgDatabase:
    """What ``store.db`` offers on PostgreSQL: ``execute`` (sqlite-utils' Database has the same)."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> PgCursor:
        return self.conn.execute(sql, params)
