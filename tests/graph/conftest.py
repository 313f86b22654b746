"""Scripted end-to-end fixtures: the real graph, a real SQLite store and real SQLite checkpoints."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from agent.testing import ScriptedChatModel
from graphs import GraphOptions, build_support_graph
from tests.fixtures_data import small_dataset
from tools import RetailStore


class Harness:
    """One graph over files in a temp dir; ``restart()`` reopens everything as a new process would."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.model = ScriptedChatModel()
        self.options = GraphOptions(today=dt.date(2026, 11, 26), context_tokens=32768, dialogue="agent")
        store = RetailStore.open(root / "store.db")
        store.load_json(small_dataset())
        store.close()
        self._open()

    def _open(self) -> None:
        self.store = RetailStore.open(self.root / "store.db")
        self.conn = sqlite3.connect(self.root / "checkpoints.db", check_same_thread=False)
        self.saver = SqliteSaver(self.conn)
        self.graph = build_support_graph(model=self.model, store=self.store, checkpointer=self.saver,
                                         options=self.options)

    def restart(self) -> None:
        """Close the files and build a fresh graph over them (same model script)."""
        self.close()
        self._open()

    def close(self) -> None:
        self.store.close()
        self.conn.close()

    @staticmethod
    def config(thread: str = "t1") -> dict:
        return {"configurable": {"thread_id": thread}}

    def say(self, text: str, thread: str = "t1") -> dict:
        from langchain_core.messages import HumanMessage

        return self.graph.invoke({"messages": [HumanMessage(text)]}, self.config(thread))

    def resume(self, answer: object, thread: str = "t1") -> dict:
        from langgraph.types import Command

        return self.graph.invoke(Command(resume=answer), self.config(thread))

    def order(self, order_id: str) -> dict:
        return self.store.dump_json()["orders"][order_id]


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    yield h
    h.close()
    h.model.assert_complete()
