"""One turn at a time per thread, across processes: a lease row in the deployment database.

A turn takes the thread's lease before it reads the thread and gives it back in ``finally``. Taking it is
one atomic statement (``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired``), so of two processes racing on
one database exactly one wins. A running turn renews its lease (heartbeat); a process killed with -9 stops
renewing, and its lease is taken over once it has expired, so a crash never blocks a thread for long.

A message turn also claims its thread for its sender in the same transaction (``claims``): the first thing a
turn does, so nothing of the turn can fail before the thread is someone's. Whether a caller may enter the thread is
the runtime's decision (the checkpointed state first, the claim while there is none).

The same SQL runs on SQLite (the checkpoint file) and on PostgreSQL (the one database replicas share); the table
is migration 10 of ``tools.db.migrations``. Times are the clock of the process, so replicas on several machines
need synced clocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from agent.runtime import claims
from agent.runtime.errors import ThreadBusyError
from agent.runtime.saver_connection import SaverPool, SaverSqlite, shared_with
from tools.db.connect import AsyncDatabase, connect, connect_async

log = logging.getLogger(__name__)

_ACQUIRE = """
INSERT INTO turn_leases (thread_id, owner, expires_at, heartbeat_at) VALUES (?, ?, ?, ?)
ON CONFLICT (thread_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
    heartbeat_at = excluded.heartbeat_at
WHERE turn_leases.expires_at <= excluded.heartbeat_at OR turn_leases.owner = ?
"""
_RENEW = "UPDATE turn_leases SET expires_at = ?, heartbeat_at = ? WHERE thread_id = ? AND owner = ?"
_RELEASE = "DELETE FROM turn_leases WHERE thread_id = ? AND owner = ?"


class TurnLeases:
    """The lease table on one database connection (autocommit: every statement is its own transaction)."""

    def __init__(self, conn: AsyncDatabase, ttl_seconds: float = 30.0) -> None:
        self.conn = conn
        self.ttl = ttl_seconds
        self._process = f"{socket.gethostname()}:{os.getpid()}"
        # A connection of its own serves every turn of the process: a transaction must not interleave with another
        # coroutine's statements on it. The saver's connection or pool runs each call whole (saver_connection).
        self._lock: Any = (contextlib.nullcontext() if isinstance(conn, SaverSqlite | SaverPool)
                           else asyncio.Lock())
        # Leases of this process whose taking or giving back failed midway (the database went away, or answered
        # nothing and was given up): the statement may have run, or may yet run when the server goes on, leaving
        # a lease no turn holds. The thread's next turn here takes such a lease over at once, instead of being
        # refused as busy until it expires.
        self._unsure: dict[str, str] = {}

    @classmethod
    async def open(cls, path: str | Path, *, ttl_seconds: float = 30.0, busy_timeout_ms: int = 5000,
                   saver: Any = None) -> TurnLeases:
        """Connect to the checkpoints' database (a SQLite file or the PostgreSQL URL), its tables migrated.

        ``saver``: the runtime's saver on that database, whose connection (SQLite) or pool (PostgreSQL) the leases
        then share (``saver_connection``).
        """
        if saver is not None:
            await asyncio.to_thread(lambda: connect(path, "checkpoints", busy_timeout_ms=busy_timeout_ms).close())
            return cls(shared_with(saver), ttl_seconds)
        return cls(await connect_async(path, "checkpoints", busy_timeout_ms=busy_timeout_ms), ttl_seconds)

    async def close(self) -> None:
        """Close the connection (leases still held expire on their own)."""
        await self.conn.close()

    async def acquire(self, thread_id: str, *, claim_for: str | None = None) -> str | None:
        """Take the thread's lease; its owner id, or None when a live turn holds it.

        With ``claim_for`` (a message turn: ``claims.claimant`` of its sender) an unclaimed thread is claimed in
        the same transaction, whether or not the lease is free.
        """
        owner = f"{self._process}:{uuid.uuid4().hex[:12]}"
        now = time.time()
        lease = (thread_id, owner, now + self.ttl, now, self._unsure.get(thread_id))
        try:
            async with self._lock:
                if claim_for is None:  # one statement: atomic in autocommit
                    taken = (await self.conn.execute(_ACQUIRE, lease)).rowcount
                elif self.conn.engine == "postgres":
                    # One statement, so one round trip instead of four (BEGIN, claim, lease, COMMIT): the claim is
                    # a data-modifying WITH, run with the lease's upsert in the statement's transaction.
                    claim, claim_params = claims.claim_statement(thread_id, claim_for)
                    taken = (await self.conn.execute(f"WITH claimed AS ({claim}) {_ACQUIRE}",
                                                     (*claim_params, *lease))).rowcount
                else:  # SQLite: one call (AsyncDatabase.run_transaction)
                    *_, taken = await self.conn.run_transaction([claims.claim_statement(thread_id, claim_for),
                                                                 (_ACQUIRE, lease)])
        except BaseException:
            self._unsure[thread_id] = owner
            raise
        if taken == 1:
            self._unsure.pop(thread_id, None)
        return owner if taken == 1 else None

    async def ping(self) -> None:
        """One round trip to the database (readiness); raises when it does not answer."""
        async with self._lock:
            await (await self.conn.execute("SELECT 1")).fetchone()

    async def owner_of(self, thread_id: str) -> str | None:
        """The thread's claim (a customer id, ``claims.NO_CUSTOMER``), or None when unclaimed."""
        async with self._lock:
            return await claims.owner_of(self.conn, thread_id)

    async def claimed_by(self, owner: str) -> set[str]:
        """The threads claimed by ``owner`` (a customer id): the threads a customer started."""
        async with self._lock:
            return await claims.claimed_by(self.conn, owner)

    async def renew(self, thread_id: str, owner: str) -> bool:
        """Push the expiry forward; False when the lease was lost (expired and taken over)."""
        now = time.time()
        async with self._lock:
            cursor = await self.conn.execute(_RENEW, (now + self.ttl, now, thread_id, owner))
        return cursor.rowcount == 1

    async def release(self, thread_id: str, owner: str) -> None:
        """Give the lease back (only our own: a taken-over lease belongs to someone else now)."""
        try:
            async with self._lock:
                await self.conn.execute(_RELEASE, (thread_id, owner))
        except BaseException:
            self._unsure[thread_id] = owner
            raise

    @asynccontextmanager
    async def hold(self, thread_id: str, *, claim_for: str | None = None) -> AsyncIterator[str]:
        """The lease for the duration of the block, renewed in the background; ``ThreadBusyError`` if taken."""
        owner = await self.acquire(thread_id, claim_for=claim_for)
        if owner is None:
            raise ThreadBusyError(thread_id)
        heartbeat = asyncio.create_task(self._heartbeat(thread_id, owner))
        try:
            yield owner
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            # Shielded: a cancelled turn (client gone, shutdown) must still free the thread at once.
            await asyncio.shield(self.release(thread_id, owner))

    async def _heartbeat(self, thread_id: str, owner: str) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                if not await self.renew(thread_id, owner):
                    log.error("turn lease of thread %s was lost (expired and taken over)", thread_id,
                              extra={"thread_id": thread_id})
                    return
            except Exception as exc:  # noqa: BLE001 - a failed renewal is retried at the next beat
                log.warning("turn lease renewal failed: %r", exc, extra={"thread_id": thread_id})
