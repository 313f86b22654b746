"""Hand-over tickets, kept in small tables beside the retail store (same database file, own tables).

A ticket goes ``open`` (the agent handed the case over) → ``claimed`` (an operator took it) → ``handed_back`` (the
operator gave the conversation back to the agent) or ``closed``. Everything that happens on a ticket is a row of
its event log: the operator's replies and proposals (which the customer sees), internal notes and reads (which
the customer never sees), the customer's messages while a person has the case, claim, hand-back and close. The
conversation itself stays in the checkpoints; the log is the desk's record of who did what, and the feed that
front ends follow to show operator messages live.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from tools import RetailStore

EventKind = Literal["claimed", "operator_message", "internal_note", "operator_read", "proposal", "proposal_answered",
                    "customer_message", "handed_back", "closed"]

#: What the customer's feed carries; internal notes and an operator's reads never reach a customer.
CUSTOMER_VISIBLE: frozenset[str] = frozenset({"claimed", "operator_message", "proposal", "handed_back", "closed"})

#: Tickets a person still has to act on (the desk's queue).
ACTIVE = ("open", "claimed")


class TicketError(Exception):
    """A desk action that cannot be done on the ticket as it stands (the API answers 409)."""


@dataclass(frozen=True)
class TicketEvent:
    """One row of a ticket's log."""

    id: int
    ticket_id: int
    thread: str
    kind: str
    author: str
    text: str
    created: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def customer_visible(self) -> bool:
        """Whether the customer sees this event."""
        return self.kind in CUSTOMER_VISIBLE


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
    claimed_by: str | None = None
    claimed_at: str | None = None
    handed_back: str | None = None
    hand_back_summary: str | None = None
    notes: tuple[str, ...] = ()
    """The customer's messages after the hand-over."""
    events: tuple[TicketEvent, ...] = ()

    @property
    def waiting_seconds(self) -> int:
        """How long the case has waited for a person: until it was claimed, or until now."""
        start = dt.datetime.fromisoformat(self.created)
        end = dt.datetime.fromisoformat(self.claimed_at) if self.claimed_at else dt.datetime.now(dt.UTC)
        return max(0, int((end - start).total_seconds()))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


_TICKET_COLUMNS = ("id, thread, customer, reason, summary, created, status, closed, close_note, claimed_by, "
                   "claimed_at, handed_back, hand_back_summary")


class TicketDesk:
    """Opens tickets, keeps their log and moves them through claim, hand-back and close."""

    def __init__(self, store: RetailStore) -> None:
        self._store = store  # its tables are migrations 3 to 5 of tools.db.migrations

    # --- the agent's side -------------------------------------------------------------------------------
    def open(self, *, key: str, thread: str, customer: str | None, reason: str, summary: str) -> int:
        """Open a ticket (or return the one already opened under ``key``) and give its id."""
        with self._store.transaction():
            row = self._store.db.execute("SELECT id FROM tickets WHERE key = ?", [key]).fetchone()
            if row:
                return int(row[0])
            cursor = self._store.db.execute(
                "INSERT INTO tickets (key, thread, customer, reason, summary, created, status) "
                "VALUES (?, ?, ?, ?, ?, ?, 'open') RETURNING id",
                [key, thread, customer, reason, summary, _now()],
            )
            return int(cursor.fetchone()[0])

    def add_note(self, ticket_id: int, *, key: str, text: str) -> None:
        """Append a customer message to a ticket, once per ``key`` (it also goes to the log, for the desk's feed)."""
        with self._store.transaction():
            cursor = self._store.db.execute(
                "INSERT INTO ticket_notes (ticket_id, key, text, created) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [ticket_id, key, text, _now()],
            )
            if cursor.rowcount:
                self._log(ticket_id, "customer_message", "customer", text)

    # --- the operator's side ----------------------------------------------------------------------------
    def claim(self, ticket_id: int, operator: str, said: str = "", data: dict[str, Any] | None = None) -> TicketRecord:
        """The operator takes the ticket (``said``: what the customer is told). Claiming one's own claim again
        changes nothing; another operator's claim, or a ticket no longer active, raises ``TicketError``."""
        with self._store.transaction():
            ticket = self.require_claimable(ticket_id, operator)
            if ticket.status == "claimed":  # already this operator's
                return ticket
            self._store.db.execute("UPDATE tickets SET status = 'claimed', claimed_by = ?, claimed_at = ? WHERE id = ?",
                                   [operator, _now(), ticket_id])
            self._log(ticket_id, "claimed", operator, said, data)
        return self._require(ticket_id)

    def require_claimable(self, ticket_id: int, operator: str) -> TicketRecord:
        """The ticket, if ``operator`` may claim it (open, or already theirs); else ``TicketError`` saying why not."""
        ticket = self._require(ticket_id)
        if ticket.status == "claimed" and ticket.claimed_by != operator:
            raise TicketError(f"ticket #{ticket_id} is claimed by {ticket.claimed_by}")
        if ticket.status not in ACTIVE:
            raise TicketError(f"ticket #{ticket_id} is {ticket.status.replace('_', ' ')}")
        return ticket

    def require_claimed_by(self, ticket_id: int, operator: str) -> TicketRecord:
        """The ticket, if ``operator`` holds its claim; else ``TicketError`` saying why not."""
        ticket = self._require(ticket_id)
        if ticket.status != "claimed":
            state = "not claimed yet" if ticket.status == "open" else ticket.status.replace("_", " ")
            raise TicketError(f"ticket #{ticket_id} is {state}: claim it first" if ticket.status == "open"
                              else f"ticket #{ticket_id} is {state}")
        if ticket.claimed_by != operator:
            raise TicketError(f"ticket #{ticket_id} is claimed by {ticket.claimed_by}")
        return ticket

    def log(self, ticket_id: int, kind: EventKind, author: str, text: str = "",
            data: dict[str, Any] | None = None) -> TicketEvent:
        """Append an event to the ticket's log and return it."""
        with self._store.transaction():
            event_id = self._log(ticket_id, kind, author, text, data)
        return self._event(event_id)

    def hand_back(self, ticket_id: int, operator: str, summary: str, said: str = "") -> TicketRecord:
        """The claimer gives the conversation back to the agent, with what they did (``summary``, for the agent and
        colleagues; ``said``: what the customer is told)."""
        with self._store.transaction():
            self.require_claimed_by(ticket_id, operator)
            self._store.db.execute("UPDATE tickets SET status = 'handed_back', handed_back = ?, hand_back_summary = ? "
                                   "WHERE id = ?", [_now(), summary, ticket_id])
            self._log(ticket_id, "handed_back", operator, said, {"summary": summary})
        return self._require(ticket_id)

    def close(self, ticket_id: int, note: str | None = None, *, operator: str = "operator",
              said: str = "") -> TicketRecord | None:
        """Close a ticket with an optional note for the record (``said``: what the customer is told); a closed (or
        handed back) one stays as it was. None: no such ticket."""
        with self._store.transaction():
            cursor = self._store.db.execute(
                "UPDATE tickets SET status = 'closed', closed = ?, close_note = ? WHERE id = ? AND status IN (?, ?)",
                [_now(), note, ticket_id, *ACTIVE],
            )
            if cursor.rowcount:
                self._log(ticket_id, "closed", operator, said, {"note": note} if note else {})
        return self.get(ticket_id)

    # --- reading ----------------------------------------------------------------------------------------
    def get(self, ticket_id: int) -> TicketRecord | None:
        """The ticket with its notes and log, or None."""
        row = self._store.db.execute(f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE id = ?", [ticket_id]).fetchone()
        if not row:
            return None
        notes = self._store.db.execute(
            "SELECT text FROM ticket_notes WHERE ticket_id = ? ORDER BY id", [ticket_id]
        ).fetchall()
        events = self._store.db.execute(f"SELECT {_EVENT_COLUMNS} FROM ticket_events WHERE ticket_id = ? ORDER BY id",
                                        [ticket_id]).fetchall()
        return TicketRecord(*row, notes=tuple(n[0] for n in notes), events=tuple(_event_of(e) for e in events))

    def list(self, status: str | None = None) -> list[TicketRecord]:
        """All tickets, newest first, optionally only those with ``status`` ("active": open or claimed)."""
        statuses = list(ACTIVE) if status == "active" else [status] if status else []
        where = f" WHERE status IN ({', '.join('?' * len(statuses))})" if statuses else ""
        ids = [r[0] for r in self._store.db.execute(f"SELECT id FROM tickets{where} ORDER BY id DESC",
                                                    statuses).fetchall()]
        return [t for t in (self.get(i) for i in ids) if t]

    def active_for_thread(self, thread: str) -> TicketRecord | None:
        """The thread's ticket a person still has (open or claimed), or None."""
        row = self._store.db.execute("SELECT id FROM tickets WHERE thread = ? AND status IN (?, ?) ORDER BY id DESC",
                                     [thread, *ACTIVE]).fetchone()
        return self.get(int(row[0])) if row else None

    def events_after(self, thread: str, after: int, *, customer_only: bool) -> list[TicketEvent]:
        """The thread's log events with an id above ``after``, oldest first (``customer_only``: those the
        customer sees)."""
        rows = self._store.db.execute(f"SELECT {_EVENT_COLUMNS} FROM ticket_events WHERE thread = ? AND id > ? "
                                      "ORDER BY id", [thread, after]).fetchall()
        events = [_event_of(r) for r in rows]
        return [e for e in events if e.customer_visible] if customer_only else events

    def last_event_id(self, thread: str | None = None) -> int:
        """The newest log id (of one thread, or of all), 0 when there is none: where a new follower starts."""
        sql = "SELECT MAX(id) FROM ticket_events" + (" WHERE thread = ?" if thread else "")
        row = self._store.db.execute(sql, [thread] if thread else []).fetchone()
        return int(row[0] or 0)

    # --- internals --------------------------------------------------------------------------------------
    def _require(self, ticket_id: int) -> TicketRecord:
        ticket = self.get(ticket_id)
        if ticket is None:
            raise LookupError(f"no ticket #{ticket_id}")
        return ticket

    def _log(self, ticket_id: int, kind: str, author: str, text: str, data: dict[str, Any] | None = None) -> int:
        thread = self._store.db.execute("SELECT thread FROM tickets WHERE id = ?", [ticket_id]).fetchone()[0]
        cursor = self._store.db.execute(
            "INSERT INTO ticket_events (ticket_id, thread, kind, author, text, data, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [ticket_id, thread, kind, author, text, json.dumps(data or {}, ensure_ascii=False), _now()])
        return int(cursor.fetchone()[0])

    def _event(self, event_id: int) -> TicketEvent:
        row = self._store.db.execute(f"SELECT {_EVENT_COLUMNS} FROM ticket_events WHERE id = ?", [event_id]).fetchone()
        return _event_of(row)


_EVENT_COLUMNS = "id, ticket_id, thread, kind, author, text, created, data"


def _event_of(row: Any) -> TicketEvent:
    return TicketEvent(*row[:7], data=json.loads(row[7] or "{}"))
