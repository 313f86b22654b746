"""Conditional edges of the graphs' builder (graphs.blocking.StateGraphOnLoop) route on the loop, and are traced as
runs of their own only when a callback handler listens."""

from __future__ import annotations

from typing import Any, Literal, TypedDict
from uuid import UUID

import pytest
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.callbacks.manager import AsyncCallbackManager
from langgraph.graph import END, START

from graphs.blocking import QuietRoute, StateGraphOnLoop


class Count(TypedDict, total=False):
    n: int
    path: list[str]


def choose(state: Count) -> Literal["small", "large"]:
    return "large" if state.get("n", 0) > 10 else "small"


def _graph() -> Any:
    builder = StateGraphOnLoop(Count)
    builder.add_node("start", lambda s: {"path": ["start"]})
    builder.add_node("small", lambda s: {"path": [*s["path"], "small"]})
    builder.add_node("large", lambda s: {"path": [*s["path"], "large"]})
    builder.add_edge(START, "start")
    builder.add_conditional_edges("start", choose)  # no path map: the Literal draws the edges
    builder.add_edge("small", END)
    builder.add_edge("large", END)
    return builder.compile()


class ChainStarts(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.names: list[str] = []

    async def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.names.append(kwargs.get("name") or "")


@pytest.fixture
def route_starts(monkeypatch) -> list[str]:
    """Names of the runs started on any callback manager, handlers or not."""
    started: list[str] = []
    original = AsyncCallbackManager.on_chain_start

    async def on_chain_start(self: AsyncCallbackManager, serialized: Any, inputs: Any, **kwargs: Any) -> Any:
        started.append(kwargs.get("name") or "")
        return await original(self, serialized, inputs, **kwargs)

    monkeypatch.setattr(AsyncCallbackManager, "on_chain_start", on_chain_start)
    return started


async def test_a_route_with_nobody_listening_starts_no_run_and_still_routes(route_starts):
    graph = _graph()
    assert (await graph.ainvoke({"n": 3}))["path"] == ["start", "small"]
    assert (await graph.ainvoke({"n": 30}))["path"] == ["start", "large"]
    assert "start" in route_starts, "the nodes' runs are LangGraph's, and still started"
    assert "choose" not in route_starts


async def test_a_listening_handler_sees_the_route_as_a_run(route_starts):
    handler = ChainStarts()
    assert (await _graph().ainvoke({"n": 30}, {"callbacks": [handler]}))["path"] == ["start", "large"]
    assert "choose" in handler.names
    assert "choose" in route_starts


async def test_a_config_without_callbacks_is_traced_as_langchain_would_configure_it():
    """No callbacks in the config: LangChain would take a tracer from the environment, so the route is traced."""
    route = QuietRoute(_async_choose)
    traced = []

    async def on_chain_start(self: AsyncCallbackManager, *args: Any, **kwargs: Any) -> Any:
        traced.append(kwargs.get("name"))
        return await original(self, *args, **kwargs)

    original = AsyncCallbackManager.on_chain_start
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AsyncCallbackManager, "on_chain_start", on_chain_start)
        assert await route.ainvoke({"n": 1}, {}) == "small"
        assert await route.ainvoke({"n": 1}, {"callbacks": AsyncCallbackManager([])}) == "small"
    assert traced == ["_async_choose"]


async def _async_choose(state: Count) -> str:
    return choose(state)


def test_the_drawn_graph_keeps_the_edges_the_routes_return_annotation_names():
    edges = {(e.source, e.target) for e in _graph().get_graph().edges}
    assert {("start", "small"), ("start", "large")} <= edges
