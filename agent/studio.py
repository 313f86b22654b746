"""LangGraph Studio and ``langgraph dev``: the support graph as ``langgraph.json`` names it.

The server asks ``make_graph`` for the graph on every request, so the parts that are slow to make (the store
connection, the model client, and the embedded model server when no external one is configured) are made once
per process, off the event loop. The graph is compiled without a checkpointer: the server attaches the one that
``checkpointer`` yields, the same SQLite checkpoint file the CLI, the web chat and the HTTP service use, so a run
made in Studio is a thread that ``deskgraph threads show`` reads, and the reverse.

Studio drives the graph directly, not through ``SupportRuntime``: no turn lease, no thread claims, no event
stream. It is a developer's tool; point it at a copy of production data, never at a live deployment's files.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

from agent.runtime.storage import checkpointer as open_saver
from agent.runtime.storage import open_store
from agent.runtime.wiring import graph_options
from agent.settings import Settings, get_settings
from graphs import build_support_graph

_graph: CompiledStateGraph | None = None
_lock = threading.Lock()  # not an asyncio lock: the server may call the factory from more than one event loop


def _model(settings: Settings) -> Any:
    """The chat model on the configured server, or on the embedded one, started now and stopped at exit."""
    from agent.llm import build_chat_model, model_server

    server = model_server(settings)
    base_url = server.__enter__()
    atexit.register(server.__exit__, None, None, None)
    return build_chat_model(settings, base_url=base_url)


def build_graph(settings: Settings) -> CompiledStateGraph:
    """The support graph over the configured store and model, without a checkpointer (the server adds one)."""
    return build_support_graph(model=_model(settings), store=open_store(settings), options=graph_options(settings))


def _cached_graph() -> CompiledStateGraph:
    global _graph
    with _lock:
        if _graph is None:
            _graph = build_graph(get_settings())
        return _graph


async def make_graph() -> CompiledStateGraph:
    """Graph factory for ``langgraph.json``: built from the settings on first use, then the same object."""
    # Opening SQLite and starting a model server block: keep them off the server's event loop.
    return _graph if _graph is not None else await asyncio.to_thread(_cached_graph)


@asynccontextmanager
async def checkpointer() -> AsyncIterator[BaseCheckpointSaver]:
    """The deployment's checkpoints (the SQLite file or PostgreSQL), for ``langgraph.json``'s ``checkpointer.path``."""
    settings = get_settings()
    async with open_saver(settings.checkpoint_location, settings.sqlite_busy_timeout_ms) as saver:
        yield saver
