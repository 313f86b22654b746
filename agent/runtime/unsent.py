"""Messages that failed before they reached a checkpoint, kept in memory so their sender can retry them.

A message that fails that early (a locked checkpoint file) is in no checkpoint, so the retry route needs the
text from somewhere. It is kept with who sent it: only that sender may retry it, since running it for anyone else
would show them the sender's answer (their orders). Bounded: the oldest are dropped first, so a flood of failing
first messages cannot grow the process without limit.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class UnsentMessage:
    """The customer's text as it was cleaned, the persona asked for, and the sender (None: an operator or the
    anonymous front end)."""

    text: str
    persona: str | None
    sender: str | None


class UnsentMessages:
    """At most one kept message per thread (the latest), at most ``limit`` threads."""

    def __init__(self, limit: int = 10_000) -> None:
        self._kept: OrderedDict[str, UnsentMessage] = OrderedDict()
        self._limit = limit

    def keep(self, thread_id: str, message: UnsentMessage) -> None:
        """Remember the thread's failed message (replacing an earlier one)."""
        self._kept.pop(thread_id, None)
        self._kept[thread_id] = message
        while len(self._kept) > self._limit:
            self._kept.popitem(last=False)

    def kept_for_another(self, thread_id: str, sender: str | None) -> bool:
        """Whether a message of someone other than ``sender`` is kept for the thread."""
        found = self._kept.get(thread_id)
        return found is not None and found.sender != sender

    def take(self, thread_id: str, sender: str | None) -> UnsentMessage | None:
        """The kept message, removed, if this sender sent it; None otherwise (it stays for its sender)."""
        found = self._kept.get(thread_id)
        if found is None or found.sender != sender:
            return None
        return self._kept.pop(thread_id)

    def drop(self, thread_id: str) -> None:
        """Forget the thread's kept message, whoever sent it (the thread is being deleted)."""
        self._kept.pop(thread_id, None)

    def __contains__(self, thread_id: object) -> bool:
        return thread_id in self._kept
