"""Operator tokens: random, shown once, stored only as a SHA-256 hash in the deployment database.

The tokens are 256 random bits, so a plain SHA-256 (no slow KDF) is enough: there is nothing to brute-force.
The table lives in the store's SQLite file today; the interface (issue, list, revoke, verify) is all a
PostgreSQL version would have to provide.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

#: Operator tokens carry this prefix so they are recognisable in a leaked log or a secret scanner.
PREFIX = "dgo_"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS operator_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    revoked TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS operator_tokens_active_name ON operator_tokens(name) WHERE revoked IS NULL;
"""


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

    def __init__(self, db_path: str | Path, busy_timeout_ms: int = 5000) -> None:
        self.db_path = Path(db_path)
        self.busy_timeout_ms = busy_timeout_ms
        self._ready = False

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.db_path, timeout=self.busy_timeout_ms / 1000)) as conn:
            if not self._ready:
                conn.executescript(_SCHEMA)
                self._ready = True
            with conn:  # one transaction, committed on success
                yield conn

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
        except sqlite3.IntegrityError as exc:
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
