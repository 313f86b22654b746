"""Hand-over tickets, kept in a small table beside the retail store (same SQLite file, own tables)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tools import RetailStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,          -- idempotency key: a re-run turn never opens a second ticket
    thread TEXT NOT NULL,
    customer TEXT,
    reason TEXT NOT NULL,
    summary TEXT NOT NULL,
    created TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    closed TEXT,                       -- when an operator closed it
    close_note TEXT                    -- the operator's closing note
);
CREATE TABLE IF NOT EXISTS ticket_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    key TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    created TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class TicketRecord:
    """One ticket as an operator sees it."""

    id: int
    thread: str
    customer: str | None
    reason: str
    summary: str
    created: str
    status: str
    closed: str | None = None
    close_note: str | None = None
    notes: tuple[str, ...] = ()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class TicketDesk:
    """Opens tickets and appends the customer's later messages to them."""

    def __init__(self, store: RetailStore) -> None:
        self._store = store
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                store.db.execute(statement)
        # Files made before tickets could be closed lack the two columns; add them in place.
        have = {row[1] for row in store.db.execute("PRAGMA table_info(tickets)").fetchall()}
        for column in ("closed", "close_note"):
            if column not in have:
                store.db.execute(f"ALTER TABLE tickets ADD COLUMN {column} TEXT")

    def open(self, *, key: str, thread: str, customer: str | None, reason: str, summary: str) -> int:
        """Open a ticket (or return the one already opened under ``key``) and give its id."""
        with self._store.transaction():
            row = self._store.db.execute("SELECT id FROM tickets WHERE key = ?", [key]).fetchone()
            if row:
                return int(row[0])
            cursor = self._store.db.execute(
                "INSERT INTO tickets (key, thread, customer, reason, summary, created, status) "
                "VALUES (?, ?, ?, ?, ?, ?, 'open')",
                [key, thread, customer, reason, summary, _now()],
            )
            return int(cursor.lastrowid)

    def add_note(self, ticket_id: int, *, key: str, text: str) -> None:
        """Append a customer message to a ticket, once per ``key``."""
        with self._store.transaction():
            self._store.db.execute(
                "INSERT OR IGNORE INTO ticket_notes (ticket_id, key, text, created) VALUES (?, ?, ?, ?)",
                [ticket_id, key, text, _now()],
            )

    def close(self, ticket_id: int, note: str | None = None) -> TicketRecord | None:
        """Close an open ticket with an optional note; a closed one stays as it was. None: no such ticket."""
        with self._store.transaction():
            self._store.db.execute(
                "UPDATE tickets SET status = 'closed', closed = ?, close_note = ? WHERE id = ? AND status != 'closed'",
                [_now(), note, ticket_id],
            )
        return self.get(ticket_id)

    def get(self, ticket_id: int) -> TicketRecord | None:
        """The ticket with its notes, or None."""
        row = self._store.db.execute(
            "SELECT id, thread, customer, reason, summary, created, status, closed, close_note FROM tickets "
            "WHERE id = ?", [ticket_id]
        ).fetchone()
        if not row:
            return None
        notes = self._store.db.execute(
            "SELECT text FROM ticket_notes WHERE ticket_id = ? ORDER BY id", [ticket_id]
        ).fetchall()
        return TicketRecord(*row, notes=tuple(n[0] for n in notes))

    def list(self, status: str | None = None) -> list[TicketRecord]:
        """All tickets, newest first, optionally only those with ``status``."""
        sql = "SELECT id FROM tickets" + (" WHERE status = ?" if status else "") + " ORDER BY id DESC"
        ids = [r[0] for r in self._store.db.execute(sql, [status] if status else []).fetchall()]
        return [t for t in (self.get(i) for i in ids) if t]
