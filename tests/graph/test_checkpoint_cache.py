"""The runtime's delta-history cache rebuilds exactly what SQLite alone rebuilds, at every checkpoint."""

from __future__ import annotations

import aiosqlite
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Command

from agent.runtime.storage import open_checkpointer
from agent.testing import ScriptedChatModel, tool_call
from graphs import GraphOptions, build_support_graph
from tests.fixtures_data import small_dataset
from tools import RetailStore


def _dump(values):
    return [m.model_dump() for m in values.get("messages", [])]


async def test_cached_history_equals_uncached_history_at_every_checkpoint(tmp_path):
    store = RetailStore.open(tmp_path / "store.db")
    store.load_json(small_dataset())
    model = ScriptedChatModel()
    conn, saver = await open_checkpointer(tmp_path / "cp.db")  # the runtime's saver, with the cache
    graph = build_support_graph(model=model, store=store, checkpointer=saver, options=GraphOptions(dialogue="agent"))
    config = {"configurable": {"thread_id": "t"}}
    model.extend(["hello"])
    await graph.ainvoke({"messages": [HumanMessage("hi lena.moreau5521@example.com")]}, config)
    for i in range(12):
        model.extend([tool_call("get_order_details", order_id="#W1000002"), f"answer {i}"])
        await graph.ainvoke({"messages": [HumanMessage(f"question {i}")]}, config)
    model.extend([tool_call("cancel_pending_order", order_id="#W1000001", reason="no longer needed"), "cancelled"])
    await graph.ainvoke({"messages": [HumanMessage("cancel #W1000001")]}, config)
    await graph.ainvoke({"messages": [HumanMessage("yes")]}, config)  # typed answer: remove + re-add path
    model.assert_complete()
    assert saver.cache.hits > 10

    plain_conn = await aiosqlite.connect(tmp_path / "cp.db")
    plain = build_support_graph(model=model, store=store, options=GraphOptions(dialogue="agent"),
                                checkpointer=AsyncSqliteSaver(plain_conn))
    history = [snapshot async for snapshot in graph.aget_state_history(config)]
    assert len(history) > 40
    for snapshot in history:
        assert _dump(snapshot.values) == _dump((await plain.aget_state(snapshot.config)).values)

    # a replay from an old checkpoint (same process) still matches SQLite's reconstruction
    old = history[len(history) // 2]
    model.extend(["replayed answer"] * 3)
    await graph.ainvoke(Command(resume="no") if old.next == ("confirm_write",) else None, old.config)
    latest = await graph.aget_state(config)
    assert _dump(latest.values) == _dump((await plain.aget_state(latest.config)).values)
    await plain_conn.close()
    await conn.close()
    store.close()
