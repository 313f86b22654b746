"""Scripted end-to-end fixtures: the real graph, a real SQLite store and real SQLite checkpoints."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agent.testing import ScriptedChatModel
from graphs import GraphOptions, build_support_graph
from tests.fixtures_data import small_dataset
from tools import RetailStore


class Harness:
    """One graph over files in a temp dir; ``restart()`` reopens everything as a new process would.

    The graph's nodes are async (as the runtime runs them): the harness drives it on an event loop of its own,
    with the async SQLite saver, behind plain synchronous calls."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.model = ScriptedChatModel()
        self.options = GraphOptions(today=dt.date(2026, 11, 26), context_tokens=32768, dialogue="agent")
        self.loop = asyncio.new_event_loop()
        store = RetailStore.open(root / "store.db")
        store.load_json(small_dataset())
        store.close()
        self._open()

    def _open(self) -> None:
        self.store = RetailStore.open(self.root / "store.db")
        async def saver() -> AsyncSqliteSaver:  # the saver belongs to the loop it is made on
            return AsyncSqliteSaver(await aiosqlite.connect(self.root / "checkpoints.db"))

        self.saver = self.run(saver())
        self.conn = self.saver.conn
        self.graph = build_support_graph(model=self.model, store=self.store, checkpointer=self.saver,
                                         options=self.options)

    def run(self, coroutine: Any) -> Any:
        """Run a coroutine on the harness's loop."""
        return self.loop.run_until_complete(coroutine)

    def restart(self) -> None:
        """Close the files and build a fresh graph over them (same model script)."""
        self._close_files()
        self._open()

    def _close_files(self) -> None:
        self.store.close()
        self.run(self.conn.close())

    def close(self) -> None:
        self._close_files()
        self.loop.close()

    @staticmethod
    def config(thread: str = "t1") -> dict:
        return {"configurable": {"thread_id": thread}}

    def say(self, text: str, thread: str = "t1") -> dict:
        from langchain_core.messages import HumanMessage

        return self.run(self.graph.ainvoke({"messages": [HumanMessage(text)]}, self.config(thread)))

    def resume(self, answer: object, thread: str = "t1", config: dict | None = None) -> dict:
        from langgraph.types import Command

        return self.run(self.graph.ainvoke(Command(resume=answer), config or self.config(thread)))

    def state(self, thread: str = "t1") -> Any:
        """The thread's state snapshot."""
        return self.run(self.graph.aget_state(self.config(thread)))

    def order(self, order_id: str) -> dict:
        return self.store.dump_json()["orders"][order_id]


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    yield h
    h.close()
    h.model.assert_complete()


@pytest.fixture(params=["sqlite", "postgres"])
def on_both_engines(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test runs twice: on the SQLite files, and with ``DESKGRAPH_DATABASE_URL`` naming a fresh PostgreSQL
    database (inherited by the server processes the test starts: replicas of one deployment)."""
    if request.param == "postgres":
        monkeypatch.setenv("DESKGRAPH_DATABASE_URL", request.getfixturevalue("postgres_server").new_database())
    else:
        monkeypatch.delenv("DESKGRAPH_DATABASE_URL", raising=False)
    return request.param
