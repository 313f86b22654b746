"""Who a thread belongs to before it has a checkpoint: a claim row written by its first sender.

A thread's owner is normally read from its checkpointed state (``identity.thread_owner``). A first message that
fails before anything is checkpointed (a locked file, the model down) leaves no state, and a thread without state
would be anyone's: another customer could retry it, or post into it, and read what the first one asked. So the
first sender claims the thread in the same transaction that takes its turn lease, before anything else of the
turn can fail. Once the thread has a checkpoint, the state decides (its first checkpoint was written by the
claimant, so both agree; a thread checkpointed before claims existed may carry a stale claim, which is why the
state comes first).

Claims live with the leases and checkpoints (``thread_claims``, migration 11 of ``tools.db.migrations``): every
process serving the thread sees them.
"""

from __future__ import annotations

import time

from tools.db.connect import AsyncDatabase

#: The claim of a thread started without a customer token (an operator, or the anonymous web front end):
#: no customer principal may take it over.
NO_CUSTOMER = ""

_CLAIM = "INSERT INTO thread_claims (thread_id, owner, claimed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
_OWNER = "SELECT owner FROM thread_claims WHERE thread_id = ?"


def claimant(customer_id: str | None) -> str:
    """The claim a sender writes: their customer id, or ``NO_CUSTOMER`` for operators and anonymous callers."""
    return customer_id if customer_id is not None else NO_CUSTOMER


def may_enter(owner: str | None, customer_id: str | None) -> bool:
    """Whether a caller may act on a thread with this claim (None: unclaimed). Operators and anonymous front
    ends (customer_id None) reach every thread; a customer only an unclaimed thread or one they claimed."""
    return customer_id is None or owner is None or owner == customer_id


def claim_statement(thread_id: str, owner: str) -> tuple[str, tuple[str, str, float]]:
    """The statement that claims the thread for ``owner`` (``claimant(...)``) unless it is claimed already, for
    the caller's transaction (``AsyncDatabase.run_transaction``)."""
    return _CLAIM, (thread_id, owner, time.time())


async def owner_of(conn: AsyncDatabase, thread_id: str) -> str | None:
    """The thread's claim, or None when nobody has claimed it."""
    row = await (await conn.execute(_OWNER, (thread_id,))).fetchone()
    return None if row is None else str(row[0])


async def claimed_by(conn: AsyncDatabase, owner: str) -> set[str]:
    """The threads claimed by ``owner``."""
    cursor = await conn.execute("SELECT thread_id FROM thread_claims WHERE owner = ?", (owner,))
    return {str(row[0]) for row in await cursor.fetchall()}
