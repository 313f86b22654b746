"""A PostgreSQL server that answers nothing: how long a connection waits for it, and what it raises then.

A server that stopped (a frozen machine, a stalled disk) or that the network cut off refuses nothing and answers
nothing: a statement sent on an open connection would wait for ever (the kernel gives a lost peer up after about a
quarter of an hour), and whoever waits with it (a customer's turn). A connection with ``answer_seconds`` set gives
the server up after that long: it closes, since its state is unknown (the statement may yet run when the server
goes on), and the statement raises ``ServerSilentError``, a ``psycopg.OperationalError``: a turn that meets it says
"try again". A statement waiting on a lock held elsewhere ends sooner, at the session's ``lock_timeout``, with the
server's own error; the limit is that timeout and ``ANSWER_MARGIN_SECONDS`` more.

The limit is for the service's statements, which are short. Commands (an import, a prune, the migrations) wait as
long as they take: their connections have none.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.errors import _WaitTimeout

#: Seconds a statement waits for the server beyond its lock timeout, before the server is taken for gone.
ANSWER_MARGIN_SECONDS = 10.0


class ServerSilentError(psycopg.OperationalError):
    """The server answered nothing within the connection's ``answer_seconds``; the connection is closed."""


def answer_limit(lock_timeout_ms: int) -> float:
    """The ``answer_seconds`` of a service connection whose statements wait ``lock_timeout_ms`` for a lock."""
    return lock_timeout_ms / 1000 + ANSWER_MARGIN_SECONDS


def given_up(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any], seconds: float) -> ServerSilentError:
    """Close the connection whose server did not answer (without a goodbye it would wait for); the error to raise."""
    conn.pgconn.finish()
    return ServerSilentError(f"the database server did not answer within {seconds:g} s")


class AnsweringConnection(psycopg.Connection):
    """A synchronous connection that gives up on a server silent for ``answer_seconds`` (None: no limit). The
    store's and the operator tokens' connections (``tools.db.postgres.PgConnection``)."""

    answer_seconds: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        if timeout is not None or self.answer_seconds is None:
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, self.answer_seconds)
        except _WaitTimeout:
            raise given_up(self, self.answer_seconds) from None


class AsyncAnsweringConnection(psycopg.AsyncConnection):
    """``AnsweringConnection`` for the event loop: the saver's pool connections (its checkpoints, leases and
    recorder; ``agent.runtime.postgres_checkout.KeptCursorConnection``)."""

    answer_seconds: float | None = None

    async def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        if timeout is not None or self.answer_seconds is None:
            return await super().wait(gen, interval, timeout)
        try:
            return await super().wait(gen, interval, self.answer_seconds)
        except _WaitTimeout:
            raise given_up(self, self.answer_seconds) from None
