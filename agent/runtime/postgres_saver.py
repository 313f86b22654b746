"""The runtime's checkpoint saver on PostgreSQL: LangGraph's ``AsyncPostgresSaver`` on a connection pool, with the
delta-history cache (``checkpoints``), the thread copy that forking needs and the catalogue of threads the
retention commands read.

The stock saver takes one ``asyncio.Lock`` around every statement, pool or not: one turn's reads and writes would
wait for every other turn's. On a pool each statement gets a connection of its own, so the lock is only taken
for a single connection or a pipeline (where it is needed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.postgres import _ainternal
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from langgraph.errors import EmptyChannelError
from psycopg.rows import dict_row, tuple_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from agent.runtime.checkpoints import DeltaHistoryCache, _AsyncCachingSaver
from agent.runtime.postgres_checkout import KeptCursorConnection, ServerGoodbyeCheck, statement_cursor
from agent.runtime.postgres_json import use_orjson
from agent.runtime.postgres_reads import PostgresReadOnce
from agent.runtime.postgres_writes import PostgresOneTripWrites
from agent.runtime.saver_retention import KEEP_LATEST, split_kept
from agent.runtime.store_journal import MARK_KEY
from tools.db.migrations import STARTUP_LOCK_TIMEOUT_MS
from tools.db.urls import connect_options

_USAGE = """
SELECT c.thread_id, c.n, c.size + coalesce(b.size, 0) + coalesce(w.size, 0), c.last FROM
  (SELECT thread_id, count(*) AS n, sum(octet_length(checkpoint::text) + octet_length(metadata::text)) AS size,
          max(checkpoint_id) AS last FROM checkpoints GROUP BY thread_id) AS c
LEFT JOIN (SELECT thread_id, sum(coalesce(octet_length(blob), 0)) AS size FROM checkpoint_blobs
           GROUP BY thread_id) AS b ON b.thread_id = c.thread_id
LEFT JOIN (SELECT thread_id, sum(octet_length(blob)) AS size FROM checkpoint_writes GROUP BY thread_id) AS w
  ON w.thread_id = c.thread_id
"""

#: LangGraph's checkpoint upsert, the metadata completed with the store journal's position when the statement runs
#: (after the step's store writes committed: the store as this checkpoint saw it; see store_journal.MARK_KEY).
_UPSERT_WITH_JOURNAL_MARK = f"""
    INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
    VALUES (%s, %s, %s, %s, %s, %s::jsonb || jsonb_build_object('{MARK_KEY}',
            (SELECT coalesce(max(seq), 0) FROM store_journal)))
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)
    DO UPDATE SET checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata
"""

# Rewriting a new root of a trimmed thread (atrim_thread).
_SNAPSHOT_BLOB = ("INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob) "
                  "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (thread_id, checkpoint_ns, channel, version) "
                  "DO UPDATE SET type = EXCLUDED.type, blob = EXCLUDED.blob")
_SNAPSHOT_MARKER = ("UPDATE checkpoints SET checkpoint = jsonb_set(checkpoint, array['channel_values'] || %s::text[], "
                    "'true') WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id = %s")
_CUT_PARENT = ("UPDATE checkpoints SET parent_checkpoint_id = NULL, metadata = (metadata - "
               "'counters_since_delta_snapshot') || CASE WHEN %s::jsonb = '{}'::jsonb THEN '{}'::jsonb ELSE "
               "jsonb_build_object('counters_since_delta_snapshot', %s::jsonb) END "
               "WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id = %s")
_UNREFERENCED_BLOBS = ("DELETE FROM checkpoint_blobs AS b WHERE b.thread_id = %s AND b.checkpoint_ns = %s AND NOT EXISTS "
                       "(SELECT 1 FROM checkpoints AS c WHERE c.thread_id = b.thread_id AND c.checkpoint_ns = "
                       "b.checkpoint_ns AND c.checkpoint -> 'channel_versions' ->> b.channel = b.version)")

_SETUP_LOCK_KEY = 0x646B_6370  # "dkcp": pg_advisory_lock's key while the saver's tables are set up
_SETUP_POLL_SECONDS = 0.1

_COPY = (
    "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, "
    "metadata) SELECT %(target)s, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata "
    "FROM checkpoints WHERE thread_id = %(source)s",
    "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob) "
    "SELECT %(target)s, checkpoint_ns, channel, version, type, blob FROM checkpoint_blobs WHERE thread_id = %(source)s",
    "INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, "
    "task_path) SELECT %(target)s, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path "
    "FROM checkpoint_writes WHERE thread_id = %(source)s",
)


class CachedAsyncPostgresSaver(_AsyncCachingSaver, PostgresReadOnce, PostgresOneTripWrites, AsyncPostgresSaver):
    """``AsyncPostgresSaver`` with the delta-history cache, ``acopy_thread``, a lock-free pool, its writes in one
    statement each (``postgres_writes``), its reads without a thread hop and a turn's second read of its thread
    answered from its first (``postgres_reads``).

    With ``mark_store_journal`` (the store in the same database) every checkpoint's metadata gets the store
    journal's position in the statement that saves it, instead of a query of its own per checkpoint.
    """

    def __init__(self, conn: Any, channels: Mapping[str, DeltaChannel],
                 *, mark_store_journal: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(conn, **kwargs)
        self.cache = DeltaHistoryCache(channels)
        self.store_mark = None  # the journal's position is read by the saving statement itself (above)
        if mark_store_journal:
            self.UPSERT_CHECKPOINTS_SQL = _UPSERT_WITH_JOURNAL_MARK

    @asynccontextmanager
    async def _cursor(self, *, pipeline: bool = False) -> AsyncIterator[Any]:
        if self.pipe or not isinstance(self.conn, AsyncConnectionPool):
            async with super()._cursor(pipeline=pipeline) as cur:
                yield cur
        elif pipeline:  # the stock statements run together (adelete_thread): on one connection, in a pipeline
            async with statement_cursor(self.conn, binary=True, row_factory=dict_row) as cur, \
                    cur.connection.pipeline():
                yield cur
        else:
            async with statement_cursor(self.conn, binary=True, row_factory=dict_row) as cur:
                yield cur

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint, blob and write of a thread to a new id, in one transaction (the checkpoint ids
        are kept, so parent links and delta histories resolve in the copy). ``ValueError`` when the target has
        checkpoints already (two histories would mix)."""
        source, target = str(source_thread_id), str(target_thread_id)
        async with _ainternal.get_connection(self.conn) as conn, conn.transaction(), conn.cursor() as cur:
            await cur.execute("SELECT 1 FROM checkpoints WHERE thread_id = %s LIMIT 1", (target,))
            if await cur.fetchone() is not None:
                raise ValueError(f"thread {target!r} already has checkpoints")
            for sql in _COPY:
                await cur.execute(sql, {"source": source, "target": target})

    # --- the catalogue the retention commands read (saver_retention has the SQLite side) ----------------
    async def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        async with _ainternal.get_connection(self.conn) as conn, conn.cursor(row_factory=tuple_row) as cur:
            await cur.execute(sql, params)
            return await cur.fetchall() if cur.description else []

    async def athread_ids(self) -> list[str]:
        """Every thread with a checkpoint, most recently active first."""
        rows = await self._rows("SELECT thread_id, max(checkpoint_id) AS last FROM checkpoints GROUP BY thread_id "
                                "ORDER BY last DESC")
        return [str(r[0]) for r in rows]

    async def athread_usage(self) -> list[tuple[str, int, int, str]]:
        """(thread, checkpoints, bytes of checkpoints, channel blobs and writes, newest checkpoint id)."""
        return [tuple(r) for r in await self._rows(_USAGE)]

    async def athread_exists(self, thread_id: str, tables: Sequence[tuple[str, str]]) -> bool:
        """Whether the thread has a checkpoint, or a row in one of ``tables`` ((table, thread column))."""
        if await self._rows("SELECT 1 FROM checkpoints WHERE thread_id = %s LIMIT 1", (thread_id,)):
            return True
        return any([await self._rows(f'SELECT 1 FROM "{table}" WHERE "{column}" = %s LIMIT 1', (thread_id,))
                    for table, column in tables])

    async def adelete_thread_rows(self, thread_id: str, tables: Sequence[tuple[str, str]]) -> None:
        """Delete the thread's rows in ``tables`` (its lease, claim, recorded responses), in one transaction."""
        async with _ainternal.get_connection(self.conn) as conn, conn.transaction(), conn.cursor() as cur:
            for table, column in tables:
                await cur.execute(f'DELETE FROM "{table}" WHERE "{column}" = %s', (thread_id,))

    # --- retention: keep a thread's newest checkpoints, their message history whole -----------------------
    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = KEEP_LATEST) -> None:
        """``keep_latest`` keeps the newest checkpoint of each namespace with its whole DeltaChannel history
        (LangGraph's PostgreSQL prune refuses such threads), ``delete`` removes the threads."""
        if isinstance(thread_ids, str):
            raise TypeError("thread_ids must be a sequence of thread IDs, not a str")
        if strategy != KEEP_LATEST:
            await super().aprune(thread_ids, strategy=strategy)
            return
        for thread_id in thread_ids:
            await self.atrim_thread(str(thread_id), keep_last=1)

    async def atrim_thread(self, thread_id: str, *, keep_last: int) -> int:
        """Keep the newest ``keep_last`` checkpoints of each of the thread's namespaces, delete the rest with their
        writes and the channel blobs nothing kept refers to; how many checkpoints went.

        A kept checkpoint whose parent goes becomes a root: each of its delta channels' values (rebuilt through the
        chain about to be cut) is stored as a ``_DeltaSnapshot`` blob at the channel's version there, where the
        history walk stops, and its parent link is cleared. (The same as ``saver_retention`` on SQLite.)
        """
        if keep_last < 1:
            raise ValueError("keep_last must be at least 1 (delete the thread to remove everything)")
        rows = await self._rows("SELECT checkpoint_ns, checkpoint_id, parent_checkpoint_id FROM checkpoints "
                                "WHERE thread_id = %s ORDER BY checkpoint_ns, checkpoint_id DESC", (thread_id,))
        self.drop_kept_read(thread_id)
        kept, dropped = split_kept(thread_id, rows, keep_last)
        if not dropped:
            return 0
        roots = [(ns, cid) for ns, in_ns in kept.items() for cid, parent in in_ns.items()
                 if parent is not None and parent not in in_ns]
        snapshots = [await self._snapshots(thread_id, ns, cid) for ns, cid in roots]
        async with _ainternal.get_connection(self.conn) as conn, conn.transaction(), \
                conn.cursor(row_factory=tuple_row) as cur:
            for (ns, cid), (blobs, counters) in zip(roots, snapshots, strict=True):
                for channel, version, type_, blob in blobs:
                    await cur.execute(_SNAPSHOT_BLOB, (thread_id, ns, channel, version, type_, blob))
                    await cur.execute(_SNAPSHOT_MARKER, ([channel], thread_id, ns, cid))
                await cur.execute(_CUT_PARENT, (Jsonb(counters), Jsonb(counters), thread_id, ns, cid))
            for ns in {ns for _, ns, _ in dropped}:
                ids = [cid for _, n, cid in dropped if n == ns]
                await cur.execute("DELETE FROM checkpoint_writes WHERE thread_id = %s AND checkpoint_ns = %s "
                                  "AND checkpoint_id = ANY(%s)", (thread_id, ns, ids))
                await cur.execute("DELETE FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = %s "
                                  "AND checkpoint_id = ANY(%s)", (thread_id, ns, ids))
                await cur.execute(_UNREFERENCED_BLOBS, (thread_id, ns))
        self.forget_thread(thread_id)
        return len(dropped)

    async def _snapshots(self, thread_id: str, ns: str, checkpoint_id: str) -> tuple[list[tuple], dict]:
        """The delta channels' values at a checkpoint as ``_DeltaSnapshot`` blobs (channel, version, type, bytes),
        and its metadata's counters since the last snapshot without them."""
        [(checkpoint, metadata)] = await self._rows(
            "SELECT checkpoint, metadata FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = %s "
            "AND checkpoint_id = %s", (thread_id, ns, checkpoint_id))
        versions = checkpoint.get("channel_versions", {})
        specs = self.delta_specs()
        names = [name for name in specs if name in versions]
        config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint_id}}
        histories = await self.aget_delta_channel_history(config=config, channels=names) if names else {}
        blobs = []
        counters = dict((metadata or {}).get("counters_since_delta_snapshot") or {})
        for name in names:
            history = histories.get(name) or {}
            seed = history.get("seed")
            channel = specs[name].from_checkpoint(seed.value if isinstance(seed, _DeltaSnapshot) else seed)
            channel.replay_writes(list(history.get("writes", [])))
            try:
                value = channel.get()
            except EmptyChannelError:
                continue
            type_, blob = self.serde.dumps_typed(_DeltaSnapshot(value))
            blobs.append((name, str(versions[name]), type_, blob))
            counters.pop(name, None)  # a snapshot is here now: the count starts again
        return blobs, counters


async def _set_up_once(conn: Any) -> None:
    """The saver's tables and LangGraph's migrations, one replica after the other when replicas start together.

    The migrations build indexes CONCURRENTLY, which waits for every transaction in the database holding an older
    snapshot, and a statement waiting in ``pg_advisory_lock`` holds one: the replica waiting for the setup lock and
    the one holding it would wait for each other until a lock timeout failed the start. So a replica polls with
    ``pg_try_advisory_lock``, idle between tries, and sets up on the lock's own connection, under the startup lock
    timeout (an index may wait for another replica's store migration to commit)."""
    deadline = time.monotonic() + STARTUP_LOCK_TIMEOUT_MS / 1000
    while not (await (await conn.execute("SELECT pg_try_advisory_lock(%s) AS taken",
                                         (_SETUP_LOCK_KEY,))).fetchone())["taken"]:
        if time.monotonic() > deadline:
            raise psycopg.errors.LockNotAvailable("another replica has been setting the checkpoint tables up for "
                                                  f"{STARTUP_LOCK_TIMEOUT_MS // 1000} s")
        await asyncio.sleep(_SETUP_POLL_SECONDS)
    try:
        await AsyncPostgresSaver(conn).setup()
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))


#: How long the pool keeps replacing a broken connection in the background (psycopg_pool backs off, doubling from
#: one second) before it gives the slot up. A slot given up is opened again, at once, for the next statement that
#: waits: after an outage the first turn then gets a connection as soon as the server is back, instead of when
#: some back-off timer next fires (after a minute's outage, a minute later).
_RECONNECT_SECONDS = 10.0


def _kept_open(pool_size: int) -> int:
    """The connections a pool of ``pool_size`` opens at start and keeps (see ``open_postgres_checkpointer``)."""
    return max(1, pool_size * 3 // 4)


@asynccontextmanager
async def open_postgres_checkpointer(url: str, channels: Mapping[str, DeltaChannel], *,
                                     pool_size: int = 8,
                                     lock_timeout_ms: int = 5000, mark_store_journal: bool = False,
                                     answer_seconds: float | None = None,
                                     ) -> AsyncIterator[CachedAsyncPostgresSaver]:
    """The saver on a pool of up to ``pool_size`` connections, its tables set up; the pool closes on exit.

    The pool opens three quarters of them at once and keeps them: at 64 conversations on one replica a pool that
    started with one and grew to 20 queued a third of the statements, and a statement that waits for a connection
    costs the loop a task and a condition (bench/profile_turn.py --database postgres, text turn: 10.4 ms of CPU per
    turn with 20 grown, 9.6 with 32 opened, 9.2-9.5 with 48). The last quarter is room to grow: after an outage
    psycopg_pool replaces each broken connection with back-off (seconds, doubling), but for a statement that waits
    it opens a new connection at once, while the pool is below its maximum.

    ``answer_seconds``: how long a statement waits for the server to answer (``KeptCursorConnection``; None, the
    default for commands, waits as long as it takes)."""
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row, **connect_options(url)}

    async def configure(conn: Any) -> None:
        use_orjson(conn)
        # A statement waits this long for a lock held elsewhere (an operator's long transaction), then the turn
        # fails with "try again" instead of hanging, as SQLite's busy timeout does. (A SET, not the URL's
        # options: those may carry a search_path, a replay's scratch schema.)
        await conn.execute(f"SET lock_timeout = {int(lock_timeout_ms)}")
        if isinstance(conn, KeptCursorConnection):
            conn.answer_seconds = answer_seconds

    check = ServerGoodbyeCheck()
    async with AsyncConnectionPool(url, min_size=_kept_open(pool_size), max_size=pool_size, kwargs=kwargs,
                                   configure=configure, check=check,
                                   connection_class=KeptCursorConnection, reconnect_timeout=_RECONNECT_SECONDS,
                                   open=False) as pool:
        check.pool = pool
        await pool.wait()
        saver = CachedAsyncPostgresSaver(pool, channels, mark_store_journal=mark_store_journal)
        async with pool.connection() as setup_conn:
            setup_conn.answer_seconds = None  # another replica's set-up may hold the lock for a while
            await setup_conn.execute(f"SET lock_timeout = {STARTUP_LOCK_TIMEOUT_MS}")
            try:
                await _set_up_once(setup_conn)
            finally:
                await configure(setup_conn)  # back in the pool as the pool made it
        yield saver
