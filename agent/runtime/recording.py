"""Every model response, recorded with the checkpoint that asked for it, so a replay needs no model.

``RecordingChatModel`` wraps the runtime's model. Each request a graph node makes (the agent loop's tool-calling
turns, the flows' schema-constrained reading of a message, worded replies, ticket summaries) goes to the real
model and its answer (the message the node received) is written to ``model_responses`` in the checkpoint
database, keyed by thread, the checkpoint the asking task ran from (and its namespace: a task flow's own
checkpoints) and the call's index within that task. ``recorded_responses`` reads them back for a replay.

Written in the process that runs the turn, before the node gets the answer (on SQLite on the saver's own
connection, ``saver_connection``): a response the graph acted on is on disk whenever the step's checkpoint is.
The table is migration 12 of ``tools.db.migrations`` (the checkpoints' database: the SQLite file, or PostgreSQL).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import ConfigDict, PrivateAttr

from agent.runtime.observer import count_model_answer
from agent.runtime.saver_connection import SaverPool, SaverSqlite, shared_with
from graphs.blocking import off_loop
from tools.db.connect import Database, connect

_SERDE = JsonPlusSerializer()

_UPSERT = ("INSERT INTO model_responses (thread_id, checkpoint_ns, checkpoint_id, call_index, root_checkpoint_id, "
           "node, type, response, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
           "ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, call_index) DO UPDATE SET "
           "root_checkpoint_id = excluded.root_checkpoint_id, node = excluded.node, type = excluded.type, "
           "response = excluded.response, created = excluded.created")
#: PostgreSQL runs a data-modifying WITH beside the statement it precedes: the rows it deletes (call_index > 0)
#: are never the row the upsert writes (call_index 0).
_FORGET_LATER_CALLS_SQLITE = ("DELETE FROM model_responses WHERE thread_id = ? AND checkpoint_ns = ? "
                              "AND checkpoint_id = ? AND call_index > 0")
_FORGET_LATER_CALLS = f"WITH forgotten AS ({_FORGET_LATER_CALLS_SQLITE}) "


@dataclass(frozen=True)
class AskedFrom:
    """Where in a thread a model request comes from, read from the asking node's config."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    root_checkpoint_id: str
    node: str
    execution: object
    """The task's run (its scratchpad): a task re-run after a failure or an interrupt counts its calls afresh."""


def asked_from(config: RunnableConfig | None) -> AskedFrom | None:
    """The thread, checkpoint and node a request comes from; None outside a checkpointed graph run."""
    configurable = (config or {}).get("configurable") or {}
    task_ns = configurable.get("checkpoint_ns")
    checkpoints = configurable.get("checkpoint_map") or {}
    if not configurable.get("thread_id") or not task_ns or "" not in checkpoints:
        return None
    parent_ns = task_ns.rpartition("|")[0]
    return AskedFrom(
        thread_id=str(configurable["thread_id"]),
        checkpoint_ns=parent_ns,
        checkpoint_id=str(checkpoints.get(parent_ns, checkpoints[""])),
        root_checkpoint_id=str(checkpoints[""]),
        node=node_path(task_ns),
        execution=configurable.get("__pregel_scratchpad"),
    )


def node_path(checkpoint_ns: str) -> str:
    """A task namespace without its task ids: ``flow_cancel:1f0…|understand:9a2…`` -> ``flow_cancel/understand``."""
    return "/".join(part.split(":")[0] for part in checkpoint_ns.split("|") if part)


class ModelRecorder:
    """Writes responses to ``model_responses``: from the event loop (``arecord``) on the saver's own connection or
    pool when it has them (``saver_connection``), else on a connection of its own (``record``: a model asked
    synchronously, from a thread)."""

    def __init__(self, conn: Database, shared: SaverSqlite | SaverPool | None = None) -> None:
        self._conn = conn
        self._shared = shared
        self._lock = threading.Lock()
        # Calls so far per task run, by the run's scratchpad (kept referenced so its id stays unique).
        self._calls: OrderedDict[int, tuple[object, int]] = OrderedDict()

    @classmethod
    def open(cls, path: str | Path, *, busy_timeout_ms: int = 5000, saver: Any = None) -> ModelRecorder:
        """Connect to the checkpoints' database (its tables migrated). ``saver``: the runtime's saver on that
        database, whose connection or pool ``arecord`` then shares."""
        db = connect(path, "checkpoints", busy_timeout_ms=busy_timeout_ms)
        if db.engine == "sqlite":
            # Like the checkpoints' own connection (storage.open_checkpointer): each record's commit is appended to
            # the write-ahead log without an fsync of its own. The fsync of that log when the turn returns
            # (durability) makes it durable with the turn's checkpoints, and a checkpoint that survives a power cut
            # has every record written before it too (the log is replayed in order, up to its first missing commit).
            db.execute("PRAGMA synchronous = NORMAL")
        return cls(db, shared_with(saver) if saver is not None else None)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def _call_index(self, where: AskedFrom) -> int:
        with self._lock:
            key = id(where.execution)
            _, count = self._calls.get(key, (where.execution, 0))
            self._calls[key] = (where.execution, count + 1)
            self._calls.move_to_end(key)
            while len(self._calls) > 1024:
                self._calls.popitem(last=False)
            return count

    def _row(self, where: AskedFrom, message: BaseMessage) -> tuple[int, tuple[str, str, str], list[Any]]:
        kind, blob = _SERDE.dumps_typed(message)
        index = self._call_index(where)
        key = (where.thread_id, where.checkpoint_ns, where.checkpoint_id)
        return index, key, [*key, index, where.root_checkpoint_id, where.node, kind, blob, time.time()]

    def record(self, where: AskedFrom, message: BaseMessage) -> None:
        """Store one response (a task's first call replaces what an earlier, failed run of it recorded), on the
        recorder's own connection."""
        index, key, row = self._row(where, message)
        with self._lock:
            if self._conn.engine == "postgres":
                self._conn.execute(*_postgres_statement(index, key, row))
            else:
                _write_sqlite(self._conn.conn, index, key, row)

    async def arecord(self, where: AskedFrom, message: BaseMessage) -> None:
        """``record`` from the event loop: on the saver's connection or pool when shared, else off the loop."""
        if self._shared is None:
            await off_loop(self.record, where, message)
            return
        index, key, row = self._row(where, message)
        if isinstance(self._shared, SaverSqlite):
            await self._shared.call(_write_sqlite, index, key, row)
        else:
            await self._shared.execute(*_postgres_statement(index, key, row))


def _postgres_statement(index: int, key: tuple[str, str, str], row: list[Any]) -> tuple[str, list[Any]]:
    """One statement (one round trip): a task's first call also forgets the later calls of an earlier run."""
    return (_UPSERT, row) if index > 0 else (_FORGET_LATER_CALLS + _UPSERT, [*key, *row])


def _write_sqlite(conn: sqlite3.Connection, index: int, key: tuple[str, str, str], row: list[Any]) -> None:
    """One response in one transaction (see ``ModelRecorder.record``)."""
    with Database(conn, "sqlite").transaction() as db:
        if index == 0:
            db.execute(_FORGET_LATER_CALLS_SQLITE, key)
        db.execute(_UPSERT, row)


@dataclass(frozen=True)
class RecordedResponse:
    """One recorded model response."""

    root_checkpoint_id: str
    checkpoint_ns: str
    checkpoint_id: str
    call_index: int
    node: str
    message: BaseMessage


async def recorded_responses(saver: Any, thread_id: str,
                             root_checkpoint_ids: Sequence[str]) -> list[RecordedResponse]:
    """The responses given to tasks that ran from these checkpoints of the conversation graph, in order (read
    where the saver keeps the checkpoints: the SQLite file, or PostgreSQL)."""
    from agent.runtime.postgres_saver import CachedAsyncPostgresSaver

    wanted = list(root_checkpoint_ids)
    if isinstance(saver, CachedAsyncPostgresSaver):
        from agent.runtime.postgres_replay import recorded_responses_rows

        rows = await recorded_responses_rows(saver, thread_id, wanted)
    else:
        rows = await _sqlite_rows(saver.conn, thread_id, wanted)
    found = [RecordedResponse(r[1], r[2], r[3], r[4], r[5], _SERDE.loads_typed((r[6], bytes(r[7]))))
             for r in sorted(rows)]
    position = {cid: i for i, cid in enumerate(wanted)}
    return sorted(found, key=lambda r: position[r.root_checkpoint_id])  # stable: seq order within a checkpoint


async def _sqlite_rows(conn: aiosqlite.Connection, thread_id: str, wanted: list[str]) -> list[tuple]:
    if not await _has_table(conn):
        return []
    rows: list[tuple] = []
    for start in range(0, len(wanted), 500):  # SQLite's limit on bound parameters
        chunk = wanted[start:start + 500]
        cursor = await conn.execute(
            "SELECT seq, root_checkpoint_id, checkpoint_ns, checkpoint_id, call_index, node, type, response "
            f"FROM model_responses WHERE thread_id = ? AND root_checkpoint_id IN ({','.join('?' * len(chunk))})",
            [thread_id, *chunk])
        rows += list(await cursor.fetchall())
    return rows


async def _has_table(conn: aiosqlite.Connection) -> bool:
    cursor = await conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'model_responses'")
    return await cursor.fetchone() is not None


class RecordingChatModel(BaseChatModel):
    """The runtime's model with every answer recorded; otherwise exactly the wrapped model (same requests,
    streaming, tool binding, structured output)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseChatModel
    _recorder: ModelRecorder = PrivateAttr()

    def __init__(self, inner: BaseChatModel, recorder: ModelRecorder, **kwargs: Any) -> None:
        # The wrapped model's own callbacks (an evaluation's usage counter), tags and metadata run with every
        # request as before: the requests go through this model's machinery, not the wrapped one's.
        kwargs = {"callbacks": inner.callbacks, "tags": inner.tags, "metadata": inner.metadata, **kwargs}
        super().__init__(inner=inner, **kwargs)
        self._recorder = recorder

    @property
    def _llm_type(self) -> str:
        return self.inner._llm_type

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable:
        """The wrapped model's own tool binding (its request arguments), bound to this model."""
        bound = self.inner.bind_tools(tools, **kwargs)
        return self.bind(**getattr(bound, "kwargs", {}))

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Ask the wrapped model; count its answer for the turn and record it against the asking checkpoint."""
        message = super().invoke(input, config, **kwargs)
        count_model_answer(config, message)
        if (where := asked_from(config)) is not None:
            self._recorder.record(where, message)
        return message

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Ask the wrapped model; count its answer for the turn and record it against the asking checkpoint."""
        message = await super().ainvoke(input, config, **kwargs)
        count_model_answer(config, message)
        if (where := asked_from(config)) is not None:
            await self._recorder.arecord(where, message)
        return message

    # The wrapped model does the work; these only forward (private hooks of BaseChatModel, see the contract test).
    def _should_stream(self, *, async_api: bool, **kwargs: Any) -> bool:
        return self.inner._should_stream(async_api=async_api, **kwargs)

    def _should_use_protocol_streaming(self, *, async_api: bool, **kwargs: Any) -> bool:
        return self.inner._should_use_protocol_streaming(async_api=async_api, **kwargs)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return self.inner._generate(messages, stop=stop, run_manager=run_manager, **kwargs)

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return await self.inner._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        return self.inner._stream(messages, stop=stop, run_manager=run_manager, **kwargs)

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        async for chunk in self.inner._astream(messages, stop=stop, run_manager=run_manager, **kwargs):
            yield chunk
