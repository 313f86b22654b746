"""Why the runtime refused to start a turn. Nothing was written; front ends map these to their own answers
(the HTTP service to 404, 409 and 422)."""

from __future__ import annotations


class TurnRefusedError(Exception):
    """The runtime did not start the turn; the thread is unchanged."""


class ThreadNotFoundError(TurnRefusedError, LookupError):
    """No such thread for this caller (a customer's view: another customer's thread does not exist)."""


class ThreadBusyError(TurnRefusedError):
    """Another turn of this thread is running (in this process or another on the same database)."""

    def __init__(self, thread_id: str) -> None:
        super().__init__("a turn is already running in this thread")
        self.thread_id = thread_id


class InvalidInputError(TurnRefusedError, ValueError):
    """The input cannot be used (unknown persona, bad thread id, unknown customer)."""


class NothingPendingError(TurnRefusedError):
    """A confirmation was sent, but no write waits for one in this thread."""


class MessageNotFoundError(TurnRefusedError, LookupError):
    """No agent message with that id in the thread (e.g. a rating of a message that is not there)."""
