"""The runtime's checkpoint saver on PostgreSQL: LangGraph's ``AsyncPostgresSaver`` on a connection pool, with the
delta-history cache (``checkpoints``), the thread copy that forking needs and the catalogue of threads the
retention commands read.

The stock saver takes one ``asyncio.Lock`` around every statement, pool or not: one turn's reads and writes would
wait for every other turn's. On a pool each statement gets a connection of its own, so the lock is only taken
for a single connection or a pipeline (where it is needed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.postgres import _ainternal
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import AsyncConnectionPool

from agent.runtime.checkpoints import DeltaHistoryCache, _AsyncCachingSaver

_USAGE = """
SELECT c.thread_id, c.n, c.size + coalesce(b.size, 0) + coalesce(w.size, 0), c.last FROM
  (SELECT thread_id, count(*) AS n, sum(octet_length(checkpoint::text) + octet_length(metadata::text)) AS size,
          max(checkpoint_id) AS last FROM checkpoints GROUP BY thread_id) AS c
LEFT JOIN (SELECT thread_id, sum(coalesce(octet_length(blob), 0)) AS size FROM checkpoint_blobs
           GROUP BY thread_id) AS b ON b.thread_id = c.thread_id
LEFT JOIN (SELECT thread_id, sum(octet_length(blob)) AS size FROM checkpoint_writes GROUP BY thread_id) AS w
  ON w.thread_id = c.thread_id
"""

_SETUP_LOCK_KEY = 0x646B_6370  # "dkcp": pg_advisory_lock's key while the saver's tables are set up

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


class CachedAsyncPostgresSaver(_AsyncCachingSaver, AsyncPostgresSaver):
    """``AsyncPostgresSaver`` with the delta-history cache, ``acopy_thread`` and a lock-free pool."""

    def __init__(self, conn: Any, channels: Mapping[str, DeltaChannel],
                 store_mark: Callable[[], Any] | None = None, **kwargs: Any) -> None:
        super().__init__(conn, **kwargs)
        self.cache = DeltaHistoryCache(channels)
        self.store_mark = store_mark

    @asynccontextmanager
    async def _cursor(self, *, pipeline: bool = False) -> AsyncIterator[Any]:
        if self.pipe or not isinstance(self.conn, AsyncConnectionPool):
            async with super()._cursor(pipeline=pipeline) as cur:
                yield cur
            return
        async with _ainternal.get_connection(self.conn) as conn:
            if pipeline:
                async with conn.pipeline(), conn.cursor(binary=True, row_factory=dict_row) as cur:
                    yield cur
            else:
                async with conn.cursor(binary=True, row_factory=dict_row) as cur:
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

    async def atrim_thread(self, thread_id: str, *, keep_last: int) -> int:
        """Not on PostgreSQL yet: keeping the newest checkpoints of a thread whose message history is a
        DeltaChannel means rewriting the new oldest one as a snapshot (LangGraph's own prune refuses such
        threads too). Delete old threads whole instead (``threads prune`` without ``--keep-last``)."""
        raise NotImplementedError("trimming a thread to its newest checkpoints is not available on PostgreSQL; "
                                  "prune without --keep-last deletes old threads whole")


@asynccontextmanager
async def open_postgres_checkpointer(url: str, channels: Mapping[str, DeltaChannel], *,
                                     store_mark: Callable[[], Any] | None = None, max_size: int = 20,
                                     lock_timeout_ms: int = 5000) -> AsyncIterator[CachedAsyncPostgresSaver]:
    """The saver on a pool of ``max_size`` connections, its tables set up; the pool closes on exit."""
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}

    async def configure(conn: Any) -> None:
        # A statement waits this long for a lock held elsewhere (an operator's long transaction), then the turn
        # fails with "try again" instead of hanging, as SQLite's busy timeout does. (A SET, not the URL's
        # options: those may carry a search_path, a replay's scratch schema.)
        await conn.execute(f"SET lock_timeout = {int(lock_timeout_ms)}")

    # check: a connection is tried before it is handed out, so one the server broke (a restart, a failover) is
    # replaced instead of failing a turn.
    async with AsyncConnectionPool(url, min_size=1, max_size=max_size, kwargs=kwargs, configure=configure,
                                   check=AsyncConnectionPool.check_connection, open=False) as pool:
        await pool.wait()
        saver = CachedAsyncPostgresSaver(pool, channels, store_mark=store_mark)
        # Replicas starting together: the saver's own migrations run once, one replica after the other.
        async with pool.connection() as lock_conn:
            await lock_conn.execute("SELECT pg_advisory_lock(%s)", (_SETUP_LOCK_KEY,))
            try:
                await saver.setup()
            finally:
                await lock_conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))
        yield saver
