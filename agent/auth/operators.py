"""Operator tokens: random, shown once, stored only as a SHA-256 hash in the deployment database.

The tokens are 256 random bits, so a plain SHA-256 (no slow KDF) is enough: there is nothing to brute-force.
The table lives in the store's database (the SQLite file, or PostgreSQL shared by every replica).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tools.db.connect import INTEGRITY_ERRORS, Database, connect

#: Operator tokens carry this prefix so they are recognisable in a leaked log or a secret scanner.
PREFIX = "dgo_"

class OperatorTokenError(ValueError):
    """An operator token cannot be issued or revoked as asked."""


@dataclass(frozen=True)
class TokenRecord:
    """An operator token as listed (never the token itself)."""

    name: str
    created: str
    revoked: str | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class OperatorTokens:
    """The operator tokens of one deployment database."""

    def __init__(self, db_path: str | Path, busy_timeout_ms: int = 5000, *,
                 answer_seconds: float | None = None) -> None:
        self.db_path = db_path  # the store's database: a SQLite file or the PostgreSQL URL
        self.busy_timeout_ms = busy_timeout_ms
        self.answer_seconds = answer_seconds  # the service's: a silent PostgreSQL server is given up (tools.db.silence)
        self._db: Database | None = None
        self._lock = threading.Lock()

    @contextmanager
    def _conn(self) -> Iterator[Database]:
        """One transaction on this object's connection (opened, and the schema migrated, on first use)."""
        with self._lock:
            if self._db is None:
                self._db = connect(self.db_path, "store", busy_timeout_ms=self.busy_timeout_ms,
                                   answer_seconds=self.answer_seconds)
            with self._db.transaction():
                yield self._db

    def close(self) -> None:
        """Close the connection (the next call opens a new one)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def issue(self, name: str) -> str:
        """A new token for operator ``name``; returned once, only its hash is kept."""
        name = name.strip()
        if not name:
            raise OperatorTokenError("an operator token needs a name")
        token = PREFIX + secrets.token_urlsafe(32)
        try:
            with self._conn() as conn:
                conn.execute("INSERT INTO operator_tokens (name, token_hash, created) VALUES (?, ?, ?)",
                             (name, _hash(token), _now()))
        except INTEGRITY_ERRORS as exc:
            raise OperatorTokenError(f"operator {name!r} already has a token; revoke it first") from exc
        return token

    def list(self) -> list[TokenRecord]:
        """Every token ever issued (active and revoked), oldest first."""
        with self._conn() as conn:
            rows = conn.execute("SELECT name, created, revoked FROM operator_tokens ORDER BY id").fetchall()
        return [TokenRecord(*row) for row in rows]

    def revoke(self, name: str) -> bool:
        """Revoke operator ``name``'s active token; False when there was none."""
        with self._conn() as conn:
            cur = conn.execute("UPDATE operator_tokens SET revoked = ? WHERE name = ? AND revoked IS NULL",
                               (_now(), name))
        return cur.rowcount > 0

    def verify(self, token: str) -> str | None:
        """The operator's name for an active token, else None."""
        if not token.startswith(PREFIX):
            return None
        digest = _hash(token)
        with self._conn() as conn:
            row = conn.execute("SELECT name, token_hash FROM operator_tokens WHERE token_hash = ? AND revoked IS NULL",
                               (digest,)).fetchone()
        # The lookup is by hash (an index); comparing again in constant time costs nothing and keeps it obvious.
        return row[0] if row and hmac.compare_digest(row[1], digest) else None
