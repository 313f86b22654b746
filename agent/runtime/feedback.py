"""Thumbs up or down on the agent's messages, kept with the thread and the message they rate.

One rating per person and message: rating again replaces it. The table lives beside the tickets in the store's
database (the deployment's shared state); the message is named by its id in the checkpointed history, which is
also the id the web UI gives the message it draws, so a rating made in the browser lands on the right message.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Literal

from tools import RetailStore

Value = Literal["up", "down"]


@dataclass(frozen=True)
class Feedback:
    """One rating."""

    id: str
    thread: str
    message_id: str
    value: Value
    comment: str | None
    author: str
    created: str


class FeedbackBook:
    """The ratings of one deployment."""

    def __init__(self, store: RetailStore) -> None:
        self._store = store  # message_feedback is migration 6 of tools.db.migrations

    def rate(self, *, thread: str, message_id: str, value: Value, author: str, comment: str | None = None) -> str:
        """Record (or replace) ``author``'s rating of a message; its id."""
        with self._store.transaction():
            row = self._store.db.execute(
                "SELECT id FROM message_feedback WHERE thread = ? AND message_id = ? AND author = ?",
                [thread, message_id, author]).fetchone()
            feedback_id = str(row[0]) if row else uuid.uuid4().hex
            self._store.db.execute(
                "INSERT INTO message_feedback (id, thread, message_id, value, comment, author, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET value = excluded.value, "
                "comment = excluded.comment, created = excluded.created",
                [feedback_id, thread, message_id, 1 if value == "up" else -1, comment, author,
                 dt.datetime.now(dt.UTC).isoformat(timespec="seconds")])
        return feedback_id

    def remove(self, feedback_id: str) -> str | None:
        """Delete a rating; the thread it was in (None: no such rating)."""
        with self._store.transaction():
            row = self._store.db.execute("SELECT thread FROM message_feedback WHERE id = ?", [feedback_id]).fetchone()
            self._store.db.execute("DELETE FROM message_feedback WHERE id = ?", [feedback_id])
        return str(row[0]) if row else None

    def forget_thread(self, thread: str) -> int:
        """Delete a thread's ratings (the thread itself is being deleted); how many went."""
        with self._store.transaction():
            return self._store.db.execute("DELETE FROM message_feedback WHERE thread = ?", [thread]).rowcount

    def get(self, feedback_id: str) -> Feedback | None:
        """One rating, or None."""
        row = self._store.db.execute(f"SELECT {_COLUMNS} FROM message_feedback WHERE id = ?",
                                     [feedback_id]).fetchone()
        return _feedback(row) if row else None

    def for_thread(self, thread: str) -> list[Feedback]:
        """A thread's ratings, oldest first."""
        rows = self._store.db.execute(f"SELECT {_COLUMNS} FROM message_feedback WHERE thread = ? ORDER BY created, id",
                                      [thread]).fetchall()
        return [_feedback(r) for r in rows]

    def counts(self, thread: str) -> tuple[int, int]:
        """(thumbs up, thumbs down) of a thread."""
        row = self._store.db.execute("SELECT COUNT(*) FILTER (WHERE value = 1), COUNT(*) FILTER (WHERE value = -1) "
                                     "FROM message_feedback WHERE thread = ?", [thread]).fetchone()
        return int(row[0]), int(row[1])


_COLUMNS = "id, thread, message_id, value, comment, author, created"


def _feedback(row: tuple) -> Feedback:
    return Feedback(row[0], row[1], row[2], "up" if row[3] == 1 else "down", row[4], row[5], row[6])
