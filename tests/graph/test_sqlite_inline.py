"""The SQLite saver's calls run on the event loop's thread when they need not wait for a lock, and on aiosqlite's
thread (with the busy timeout) when another connection holds the file's write lock: the loop never waits."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.base import empty_checkpoint

from agent.runtime.storage import open_checkpointer
from tests.graph.saver_checks import loop_ticks

pytestmark = pytest.mark.fast

CONFIG = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}


def _checkpoint(n: int) -> dict:
    return {**empty_checkpoint(), "id": f"1f0-{n:04d}", "channel_values": {"stage": "intake"},
            "channel_versions": {"stage": n}}


@pytest.fixture
async def saver(tmp_path):
    conn, saver = await open_checkpointer(tmp_path / "checkpoints.db", busy_timeout_ms=5000)
    trips: list[str] = []
    real = conn._execute

    async def counted(fn, *args, **kwargs):
        trips.append(getattr(fn, "__name__", repr(fn)))
        return await real(fn, *args, **kwargs)

    conn._execute = counted
    yield saver, trips, tmp_path / "checkpoints.db"
    await conn.close()


async def test_uncontended_calls_stay_on_the_loop_and_settings_hold(saver):
    saver, trips, _ = saver
    saved = await saver.aput(CONFIG, _checkpoint(1), {"source": "loop", "step": 1}, {"stage": 1})
    await saver.aput_writes(saved, [("messages", [HumanMessage("hi", id="h")])], task_id="task-1")
    found = await saver.aget_tuple({"configurable": {"thread_id": "t"}})
    assert found.checkpoint["id"] == "1f0-0001" and found.pending_writes[0][1] == "messages"
    assert trips == []  # no call went to aiosqlite's thread
    raw = saver.conn._conn
    assert raw.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0


async def test_a_write_lock_held_elsewhere_moves_the_call_to_the_thread_and_the_loop_keeps_running(saver):
    saver, trips, path = saver
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process's writer, say
    asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
    async with loop_ticks() as ticks:
        started = time.monotonic()
        await saver.aput(CONFIG, _checkpoint(2), {"source": "loop", "step": 1}, {"stage": 2})
        waited = time.monotonic() - started
    assert trips == ["_store"], "the locked write should have gone to aiosqlite's thread"
    assert waited >= 0.25 and ticks[0] >= 10, f"the loop stalled: {ticks[0]} ticks in {waited:.2f} s"
    assert (await saver.aget_tuple({"configurable": {"thread_id": "t"}})).checkpoint["id"] == "1f0-0002"
    assert saver.conn._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert not saver.conn._conn.in_transaction
    other.close()
