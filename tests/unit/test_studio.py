"""`langgraph.json` names a graph factory and a checkpointer that import, build and open (what `langgraph dev` and
LangGraph Studio load), without a model server: the external URL is only stored by the client."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

from agent.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]


def _load(spec: str):  # noqa: ANN202 - whatever the file exports
    """Import ``./path/to/file.py:name`` the way the LangGraph server does: by file path."""
    path, _, name = spec.partition(":")
    module_spec = importlib.util.spec_from_file_location("studio_under_test", ROOT / path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module, getattr(module, name)


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DESKGRAPH_STORE_DB", str(tmp_path / "store.db"))
    monkeypatch.setenv("DESKGRAPH_CHECKPOINT_DB", str(tmp_path / "checkpoints.db"))
    monkeypatch.setenv("DESKGRAPH_LLM_BASE_URL", "http://127.0.0.1:9/v1")  # never called while building
    monkeypatch.setenv("DESKGRAPH_DIALOGUE", "flows")
    get_settings.cache_clear()
    yield json.loads((ROOT / "langgraph.json").read_text())
    get_settings.cache_clear()


def test_langgraph_json_graph_imports_and_compiles(configured, tmp_path):
    assert set(configured["graphs"]) == {"support"}
    _, factory = _load(configured["graphs"]["support"])
    graph = asyncio.run(factory())
    assert isinstance(graph, CompiledStateGraph) and graph.checkpointer is None  # the server attaches its own
    assert asyncio.run(factory()) is graph  # built once per process: the server asks on every request
    assert {"begin_turn", "understand", "cancel"} <= set(graph.get_graph().nodes)
    assert "cancel:confirm" in graph.get_graph(xray=True).nodes
    # Studio's input form is generated from the state schema.
    assert "messages" in graph.get_input_jsonschema()["properties"]
    assert (tmp_path / "store.db").exists()  # the configured store, not a default path


def test_langgraph_json_checkpointer_opens_the_configured_file(configured, tmp_path):
    _, open_saver = _load(configured["checkpointer"]["path"])

    async def opened() -> type:
        async with open_saver() as saver:
            assert isinstance(saver, BaseCheckpointSaver)
            return type(saver)

    asyncio.run(opened())
    assert (tmp_path / "checkpoints.db").exists()
