"""Checks the conformance suite does not make, shared by the SQLite and the PostgreSQL saver's tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint


async def two_writers_lose_nothing(first: Any, second: Any, steps: int = 40) -> None:
    """Two savers (two processes' connections to one database) write checkpoints and pending writes to the same
    thread at the same time, each its own chain of parents: every checkpoint and write is stored once, each chain
    is intact, and a reader sees the newest checkpoint of either."""

    async def writer(name: str, saver: Any) -> list[str]:
        config = {"configurable": {"thread_id": "shared", "checkpoint_ns": ""}}
        ids = []
        checkpoint = empty_checkpoint()
        for step in range(steps):
            checkpoint = create_checkpoint(checkpoint, None, step)
            checkpoint["channel_values"] = {"by": f"{name}-{step}"}
            # new_versions names the channel's version: PostgreSQL's saver stores only the channels named there.
            config = await saver.aput(config, checkpoint, {"source": "loop", "step": step, "writer": name},
                                      {"by": str(step + 1)})
            await saver.aput_writes(config, [("by", f"{name}-{step}")], task_id=f"{name}-task-{step}")
            ids.append(config["configurable"]["checkpoint_id"])
            await asyncio.sleep(0)  # let the other writer in between every step
        return ids

    chains = await asyncio.gather(writer("a", first), writer("b", second))
    stored = [t async for t in first.alist({"configurable": {"thread_id": "shared"}})]
    assert len(stored) == 2 * steps and len({t.config["configurable"]["checkpoint_id"] for t in stored}) == 2 * steps
    by_id = {t.config["configurable"]["checkpoint_id"]: t for t in stored}
    for name, ids in zip("ab", chains, strict=True):
        for step, checkpoint_id in enumerate(ids):
            found = by_id[checkpoint_id]
            assert found.metadata["writer"] == name and found.checkpoint["channel_values"] == {"by": f"{name}-{step}"}
            parent = found.parent_config["configurable"]["checkpoint_id"] if found.parent_config else None
            assert parent == (ids[step - 1] if step else None)
            assert [w[2] for w in found.pending_writes] == [f"{name}-{step}"]
    latest = await second.aget_tuple({"configurable": {"thread_id": "shared"}})
    assert latest.config["configurable"]["checkpoint_id"] == max(chains[0][-1], chains[1][-1])


@asynccontextmanager
async def loop_ticks(every: float = 0.01) -> AsyncIterator[list[int]]:
    """How often the event loop got round to a task that wakes every ``every`` seconds during the block (a loop
    blocked by a call that waits for a lock ticks little): ``ticks[0]``."""
    ticks = [0]

    async def ticker() -> None:
        while True:
            await asyncio.sleep(every)
            ticks[0] += 1

    beat = asyncio.create_task(ticker())
    try:
        yield ticks
    finally:
        beat.cancel()
