"""Retention of conversations in the checkpoint database: how much each thread takes, deleting threads,
pruning old ones, and compacting the file.

Everything goes through the saver's own retention methods (``adelete_thread``, ``aprune`` and its
``atrim_thread``, see ``saver_retention``) so that what the product deletes is what LangGraph's interface
deletes; the thread's other rows in the same database (its turn lease, its claim, and any table registered in
``THREAD_TABLES``) go with it. The saver answers the catalogue questions (``athread_usage``, ``athread_exists``,
``adelete_thread_rows``) in its engine's SQL: ``saver_retention`` on SQLite, ``postgres_saver`` on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.runtime.errors import ThreadBusyError, ThreadNotFoundError
from agent.runtime.lease import TurnLeases

#: Tables of the checkpoint database keyed by thread besides LangGraph's own (table, thread column). A
#: feature that adds a per-thread table lists it here, and deleting a thread deletes its rows too; a table
#: that does not exist (yet) in a file is skipped.
THREAD_TABLES: list[tuple[str, str]] = [("turn_leases", "thread_id"), ("thread_claims", "thread_id"),
                                        ("model_responses", "thread_id")]  # recorded for replay (recording.py)

#: 100-ns intervals between the Gregorian epoch of UUID timestamps (1582-10-15) and the Unix epoch.
_UUID_EPOCH_OFFSET = 0x01B21DD213814000

_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_AGE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> dt.timedelta:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s`` as a duration; ``ValueError`` otherwise."""
    match = _AGE.match(text)
    if not match:
        raise ValueError(f"not an age: {text!r} (use a number and s, m, h, d or w, e.g. 30d)")
    return dt.timedelta(**{_AGE_UNITS[match.group(2)]: int(match.group(1))})


def checkpoint_time(checkpoint_id: str) -> dt.datetime | None:
    """When a checkpoint was written, read from its id (LangGraph's ids are time-ordered UUIDv6); None for ids
    of another shape."""
    try:
        value = uuid.UUID(checkpoint_id)
    except ValueError:
        return None
    if value.version != 6:
        return None
    # UUIDv6 keeps the 60-bit timestamp most-significant first: time_high (32), time_mid (16), time_low (12).
    ticks = ((value.int >> 96) << 28) | (((value.int >> 80) & 0xFFFF) << 12) | ((value.int >> 64) & 0x0FFF)
    return dt.datetime.fromtimestamp((ticks - _UUID_EPOCH_OFFSET) / 1e7, tz=dt.UTC)


@dataclass(frozen=True)
class ThreadUsage:
    """What one thread takes in the checkpoint database."""

    thread_id: str
    checkpoints: int
    """Checkpoints of every namespace (the task-flow subgraphs' included)."""
    bytes: int
    """Checkpoint blobs, their metadata and the pending writes stored under them."""
    last_checkpoint: str
    """The newest checkpoint id of the thread (any namespace)."""

    @property
    def last_active(self) -> dt.datetime | None:
        """When the thread last wrote a checkpoint."""
        return checkpoint_time(self.last_checkpoint)


async def thread_usage(saver: Any) -> dict[str, ThreadUsage]:
    """Checkpoint count and bytes of every thread in the checkpoint database."""
    rows = await saver.athread_usage()
    return {str(t): ThreadUsage(str(t), int(n), int(size or 0), str(last)) for t, n, size, last in rows}


async def thread_exists(saver: Any, thread_id: str) -> bool:
    """A thread exists when it has a checkpoint or a row in one of ``THREAD_TABLES`` (e.g. a claim written by a
    first message that failed before any checkpoint)."""
    return await saver.athread_exists(thread_id, THREAD_TABLES)


async def delete_thread(saver: Any, leases: TurnLeases, thread_id: str) -> None:
    """Delete a thread's checkpoints and writes (``adelete_thread``) and its rows in ``THREAD_TABLES``.

    Raises ``ThreadNotFoundError`` for an unknown id and ``ThreadBusyError`` while a turn of the thread runs
    (the turn would write the thread again right after).
    """
    if not await thread_exists(saver, thread_id):
        raise ThreadNotFoundError(f"no thread {thread_id!r}")
    async with leases.hold(thread_id):
        await saver.adelete_thread(thread_id)
        await saver.adelete_thread_rows(thread_id, THREAD_TABLES)


@dataclass
class PruneReport:
    """What a prune did (or, dry, would do)."""

    deleted_threads: list[str] = field(default_factory=list)
    trimmed_threads: list[str] = field(default_factory=list)
    deleted_checkpoints: int = 0
    skipped_busy: list[str] = field(default_factory=list)


async def prune(saver: Any, leases: TurnLeases, *, older_than: dt.timedelta, keep_last: int = 0,
                now: dt.datetime | None = None, dry_run: bool = False,
                delete: Callable[[str], Awaitable[None]] | None = None) -> PruneReport:
    """Prune the threads whose newest checkpoint is older than ``older_than``.

    ``keep_last`` 0 deletes them whole (as ``delete_thread``); N ≥ 1 keeps the newest N checkpoints of each of
    their namespaces (1 is the saver's ``aprune(strategy="keep_latest")``), so they stay readable and
    resumable. Threads with a running turn are skipped. ``delete(thread_id)`` deletes a thread whole (default:
    ``delete_thread``; the runtime's also forgets a kept message, the CLI's also the web UI's history).
    """
    if keep_last < 0:
        raise ValueError("keep_last must be 0 or more")
    cutoff = (now or dt.datetime.now(dt.UTC)) - older_than
    report = PruneReport()
    for usage in sorted((await thread_usage(saver)).values(), key=lambda u: u.last_checkpoint):
        last = usage.last_active
        if last is None or last >= cutoff:
            continue
        if keep_last and usage.checkpoints <= keep_last:
            continue  # nothing to trim (a namespace count can only be smaller than the thread's)
        if dry_run:
            (report.deleted_threads if keep_last == 0 else report.trimmed_threads).append(usage.thread_id)
            continue
        try:
            if keep_last == 0:
                await (delete(usage.thread_id) if delete else delete_thread(saver, leases, usage.thread_id))
                report.deleted_threads.append(usage.thread_id)
                report.deleted_checkpoints += usage.checkpoints
            else:
                async with leases.hold(usage.thread_id):
                    removed = await saver.atrim_thread(usage.thread_id, keep_last=keep_last)
                if removed:
                    report.trimmed_threads.append(usage.thread_id)
                    report.deleted_checkpoints += removed
        except ThreadNotFoundError:
            continue  # deleted meanwhile by someone else
        except ThreadBusyError:
            report.skipped_busy.append(usage.thread_id)  # a turn runs: it is not old after all
    return report


def file_bytes(path: Path) -> int:
    """The database file with its WAL and shared-memory files."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


def _vacuum_sync(path: Path, busy_timeout_ms: int) -> tuple[int, int]:
    before = file_bytes(path)
    conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    try:
        # Fold the WAL into the file first, then rewrite the file without free pages, then empty the WAL again:
        # VACUUM in WAL mode writes the new pages through the WAL.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return before, file_bytes(path)


async def vacuum(path: Path, *, busy_timeout_ms: int = 5000) -> tuple[int, int]:
    """Compact one SQLite file (free pages given back to the file system); bytes before and after."""
    return await asyncio.to_thread(_vacuum_sync, Path(path), busy_timeout_ms)
