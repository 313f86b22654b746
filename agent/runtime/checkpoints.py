"""SQLite checkpoint savers that remember the reconstructed message history between steps.

With a ``DeltaChannel`` each checkpoint stores only the messages written in its step, so checkpoint growth
per turn is constant. Reading a thread, however, replays every write since the last snapshot through the
reducer, deserialising the whole history on every turn: the cost grows with the conversation. These savers
keep, per recent checkpoint, the value LangGraph reconstructed (or that follows from the parent's value and
the writes stored under it, which the saver sees as Python objects on the way in) and answer
``get_delta_channel_history`` with that value as the seed and no writes to replay. On a miss (a new process,
an old checkpoint) they ask SQLite as usual and remember the result. The files on disk are exactly what the
stock savers write; only reads get faster.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from threading import RLock
from typing import Any

from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.base import Checkpoint, DeltaChannelHistory, writes_sort_key
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agent.runtime.saver_reads import SqliteOneTripRead
from agent.runtime.saver_retention import SqliteRetentionMixin
from agent.runtime.saver_writes import SqliteOneTripWrites
from agent.runtime.store_journal import MARK_KEY

_Key = tuple[str, str, str]  # thread id, namespace, checkpoint id


def _key(config: Mapping[str, Any], checkpoint_id: str | None = None) -> _Key | None:
    conf = config.get("configurable", {})
    cid = checkpoint_id or conf.get("checkpoint_id")
    return (str(conf.get("thread_id")), str(conf.get("checkpoint_ns", "")), str(cid)) if cid else None


class DeltaHistoryCache:
    """Reconstructed DeltaChannel values of recent checkpoints, plus the writes stored under them."""

    def __init__(self, channels: Mapping[str, DeltaChannel], max_checkpoints: int = 4096) -> None:
        self.channels = dict(channels)
        self.max_checkpoints = max_checkpoints
        self._values: OrderedDict[_Key, dict[str, Any]] = OrderedDict()
        self._writes: dict[_Key, dict[tuple[str, int], tuple[tuple[str, str, int], str, Any]]] = {}
        self._lock = RLock()
        self.hits = 0
        self.misses = 0

    def _value_after(self, channel: str, base: Any, writes: list[tuple[str, str, Any]]) -> Any:
        replayed = self.channels[channel].from_checkpoint(base)
        replayed.replay_writes(writes)
        return replayed.get()

    def record_writes(self, config: Mapping[str, Any], writes: Sequence[tuple[str, Any]], task_id: str,
                      task_path: str) -> None:
        """Remember a task's writes to delta channels under the checkpoint they are pending at."""
        key = _key(config)
        if key is None:
            return
        with self._lock:
            stored = self._writes.setdefault(key, {})
            for idx, (channel, value) in enumerate(writes):
                if channel in self.channels:
                    # Like the saver's INSERT OR IGNORE: the first write of (task, idx) wins.
                    stored.setdefault((task_id, idx), (writes_sort_key(task_path, task_id, idx), channel, value))

    def record_checkpoint(self, config: Mapping[str, Any], checkpoint: Checkpoint) -> None:
        """Derive the new checkpoint's values from its parent's value and the writes pending there."""
        new_key = _key(config, checkpoint["id"])
        parent = _key(config)
        with self._lock:
            if new_key is None or new_key in self._values:
                return
            base = self._values.get(parent) if parent else {}
            if base is None:
                return  # parent unknown here: the next read asks SQLite and seeds the cache
            pending = sorted(self._writes.get(parent, {}).values(), key=lambda w: w[0]) if parent else []
            values: dict[str, Any] = {}
            for channel in self.channels:
                stored = checkpoint["channel_values"].get(channel)
                if isinstance(stored, _DeltaSnapshot):
                    values[channel] = stored.value
                elif channel in checkpoint["channel_versions"]:
                    ws = [("", ch, v) for _, ch, v in pending if ch == channel]
                    prior = base.get(channel)
                    values[channel] = self._value_after(channel, prior, ws) if (prior is not None or ws) else None
            self._store(new_key, values)

    def _store(self, key: _Key, values: dict[str, Any]) -> None:
        self._values[key] = values
        self._values.move_to_end(key)
        while len(self._values) > self.max_checkpoints:
            old, _ = self._values.popitem(last=False)
            self._writes.pop(old, None)

    def reconcile(self, config: Mapping[str, Any], pending_writes: Sequence[tuple[str, str, Any]]) -> None:
        """Forget this checkpoint's value when the database holds delta writes under it that this process did not
        record (another replica's unfinished step): deriving its child from memory would miss them."""
        key = _key(config)
        if key is None:
            return
        with self._lock:
            known = {task for task, _ in self._writes.get(key, {})}
            if any(ch in self.channels and task not in known for task, ch, _ in pending_writes):
                self._values.pop(key, None)

    def forget_thread(self, thread_id: str) -> None:
        """Drop everything remembered of one thread (its rows were deleted or rewritten)."""
        with self._lock:
            for key in [k for k in self._values if k[0] == thread_id]:
                del self._values[key]
            for key in [k for k in self._writes if k[0] == thread_id]:
                del self._writes[key]

    def lookup(self, config: Mapping[str, Any], channels: Sequence[str]) -> dict[str, DeltaChannelHistory] | None:
        """The histories as a seed with nothing to replay, when every channel is known for this checkpoint."""
        key = _key(config)
        with self._lock:
            values = self._values.get(key) if key else None
            if values is None or any(values.get(ch) is None for ch in channels):
                self.misses += 1
                return None
            self.hits += 1
            self._values.move_to_end(key)
            # A fresh list per read: the graph's state must never alias the cached value.
            return {ch: {"seed": list(values[ch]), "writes": []} for ch in channels}

    def learn(self, config: Mapping[str, Any], histories: Mapping[str, DeltaChannelHistory]) -> None:
        """Remember what SQLite answered (after a miss) as this checkpoint's values."""
        key = _key(config)
        if key is None:
            return
        values = {}
        for channel, history in histories.items():
            if channel in self.channels:
                seed = history.get("seed")
                seed = seed.value if isinstance(seed, _DeltaSnapshot) else seed
                values[channel] = self._value_after(channel, seed, list(history["writes"]))
        with self._lock:
            self._store(key, values)


class _CachingMixin:
    cache: DeltaHistoryCache

    def _cached_history(self, config: Any, channels: Sequence[str]) -> Mapping[str, DeltaChannelHistory] | None:
        if not config.get("configurable", {}).get("checkpoint_id"):
            return None
        return self.cache.lookup(config, channels)


class CachedSqliteSaver(_CachingMixin, SqliteSaver):
    """``SqliteSaver`` with the delta-history cache (synchronous callers: tests, benchmarks)."""

    def __init__(self, conn: Any, channels: Mapping[str, DeltaChannel], **kwargs: Any) -> None:
        super().__init__(conn, **kwargs)
        self.cache = DeltaHistoryCache(channels)

    def put_writes(self, config, writes, task_id, task_path=""):  # noqa: ANN001, ANN201, D102
        self.cache.record_writes(config, writes, task_id, task_path)
        return super().put_writes(config, writes, task_id, task_path)

    def put(self, config, checkpoint, metadata, new_versions):  # noqa: ANN001, ANN201, D102
        result = super().put(config, checkpoint, metadata, new_versions)
        self.cache.record_checkpoint(config, checkpoint)
        return result

    def get_delta_channel_history(self, *, config, channels):  # noqa: ANN001, ANN201, D102
        cached = self._cached_history(config, channels)
        if cached is not None:
            return cached
        histories = super().get_delta_channel_history(config=config, channels=channels)
        if config.get("configurable", {}).get("checkpoint_id"):
            self.cache.learn(config, histories)
        return histories


class _AsyncCachingSaver(_CachingMixin):
    """The async saver's side of the cache, for any engine: writes and checkpoints are remembered on the way in,
    histories answered from memory when known.

    With ``store_mark`` (``store_journal.mark`` of the retail store) every checkpoint's metadata also says how
    far the store's undo journal had got when it was saved: a recorded replay rewinds a scratch copy of the store
    to exactly that point (``agent.runtime.replay``).
    """

    store_mark: Callable[[], int] | None

    def delta_specs(self) -> Mapping[str, DeltaChannel]:  # noqa: D102
        return self.cache.channels

    def forget_thread(self, thread_id: str) -> None:  # noqa: D102
        self.cache.forget_thread(thread_id)

    async def adelete_thread(self, thread_id: str) -> None:  # noqa: D102
        await super().adelete_thread(thread_id)
        self.cache.forget_thread(str(thread_id))

    async def aget_tuple(self, config):  # noqa: ANN001, ANN201, D102
        found = await super().aget_tuple(config)
        if found is not None and found.pending_writes:
            # Writes another process stored at this checkpoint (a turn it began and did not finish) are not in
            # this process's memory: the next checkpoint's history must then come from the database.
            self.cache.reconcile(found.config, found.pending_writes)
        return found

    async def aput_writes(self, config, writes, task_id, task_path=""):  # noqa: ANN001, ANN201, D102
        self.cache.record_writes(config, writes, task_id, task_path)
        return await super().aput_writes(config, writes, task_id, task_path)

    async def aput(self, config, checkpoint, metadata, new_versions):  # noqa: ANN001, ANN201, D102
        if self.store_mark is not None:
            # Read after the step's nodes committed their store writes and before the next step starts
            # (durability="sync"): the mark is the store as this checkpoint saw it. (PostgreSQL's saver reads it
            # in the statement that saves the checkpoint instead.)
            metadata = {**metadata, MARK_KEY: self.store_mark()}
        result = await super().aput(config, checkpoint, metadata, new_versions)
        self.cache.record_checkpoint(config, checkpoint)
        return result

    async def aget_delta_channel_history(self, *, config, channels):  # noqa: ANN001, ANN201, D102
        cached = self._cached_history(config, channels)
        if cached is not None:
            return cached
        histories = await super().aget_delta_channel_history(config=config, channels=channels)
        if config.get("configurable", {}).get("checkpoint_id"):
            self.cache.learn(config, histories)
        return histories


class CachedAsyncSqliteSaver(_AsyncCachingSaver, SqliteRetentionMixin, SqliteOneTripWrites, SqliteOneTripRead,
                             AsyncSqliteSaver):
    """``AsyncSqliteSaver`` with the delta-history cache (the runtime's saver on SQLite), the retention methods the
    stock saver lacks (``aprune``, ``acopy_thread``, ``adelete_for_runs``: see ``saver_retention``), and its
    writes and its read of a checkpoint in one call each (``saver_writes``, ``saver_reads``): to the connection's
    thread, or with ``inline_calls`` on the loop's thread when it need not wait for a lock (``sqlite_inline``; the
    connection must then be opened with ``check_same_thread=False`` and ``sqlite_inline.prepare``d)."""

    def __init__(self, conn: Any, channels: Mapping[str, DeltaChannel],
                 store_mark: Callable[[], int] | None = None, *, inline_calls: bool = False,
                 busy_timeout_ms: int = 5000, **kwargs: Any) -> None:
        super().__init__(conn, **kwargs)
        self.cache = DeltaHistoryCache(channels)
        self.store_mark = store_mark
        self.inline_calls = inline_calls
        self.busy_timeout_ms = busy_timeout_ms
