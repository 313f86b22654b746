"""Blocking work of a turn (SQLite calls of the store, the checkpoints' file sync, a node's own code) leaves the
event loop on an executor of its own, sized for the turns a process runs at once.

Never the loop's default executor: it has min(32, cores + 4) threads (6 on a 2-core machine), and a graph's
synchronous node is run there by LangGraph, so a process held at most that many turns in flight, whatever the
model server could take. Nodes are ``async def``: the model is awaited (``ainvoke``) on the loop, the blocking
parts go through ``off_loop`` (a node of plain code with store calls: ``async_node``), and a node of plain code
alone runs on the loop (``plain_node``), as does a conditional edge's routing function (``plain_route``, applied
to every one by ``StateGraphOnLoop``).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, Self, TypeVar

from langchain_core.callbacks import BaseCallbackManager
from langchain_core.runnables import Runnable
from langgraph.graph import StateGraph
from langgraph.utils.runnable import RunnableCallable

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: Threads for blocking calls. They wait on SQLite (one writer at a time) far more than they compute, so a
#: process serving many conversations needs many of them; they are cheap while idle.
THREADS = 64

_executor = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="deskgraph-blocking")


async def off_loop(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking call on the blocking executor, in the caller's context (LangGraph's config and
    ``interrupt`` live in context variables)."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    return await loop.run_in_executor(_executor, functools.partial(context.run, fn, *args, **kwargs))


def in_background(fn: Callable[..., Any], /, *args: Any) -> None:
    """Run ``fn(*args)`` on the blocking executor without waiting for it (housekeeping after a turn); an error is
    logged, not raised."""

    def logged() -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - nobody waits for the result: the log is where it goes
            log.exception("background task %s failed", getattr(fn, "__qualname__", fn))

    _executor.submit(logged)


def async_node(fn: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """A node written as plain code (routing, the store's reads and writes, building a reply), as an ``async def``
    node whose body runs off the loop. Keeps the node's name (checkpoints and breakpoints use it)."""

    @functools.wraps(fn)
    async def node(state: Any, config: Any) -> T:
        return await off_loop(fn, state, config)

    return node


def plain_node(fn: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """A node of plain code that touches neither the store nor a file (counters, routing state, a fixed reply), as
    an ``async def`` node run on the loop: a thread hop would cost more than the node."""

    @functools.wraps(fn)
    async def node(state: Any, config: Any) -> T:
        return fn(state, config)

    return node


def plain_route(fn: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """A conditional edge's routing function (plain code on the state) as an ``async def`` run on the loop.

    LangGraph runs a synchronous routing function on the loop's default executor (LangChain's
    ``run_in_executor``): a thread hop per conditional edge a turn passes, on the executor of min(32, cores + 4)
    threads this module keeps turns off. Keeps the function's name and return annotation (a ``Literal`` of the
    nodes it routes to draws the graph's edges when no path map is given)."""

    @functools.wraps(fn)
    async def route(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - the hints LangGraph reads are fn's own
        return fn(*args, **kwargs)

    route.__annotations__ = dict(getattr(fn, "__annotations__", {}))  # none of a partial's: not this wrapper's
    return route


class QuietRoute(RunnableCallable):
    """A conditional edge's (async) routing function, traced as a run of its own only when a callback handler
    listens (a tracer, ``astream_events``).

    LangGraph traces every routing function: a callback manager, a run id, the function on a task of its own and
    a shielded end event on another, for a handful of dict reads. With no handler that is all the call does (about
    1 % of a text turn's CPU, two routes a turn). The decision is the config's, so a tracer attached to the turn
    still sees every route."""

    def __init__(self, route: Callable[..., Awaitable[Any]]) -> None:
        super().__init__(None, route, trace=True)
        self._untraced = RunnableCallable(None, route, name=self.name, trace=False)

    async def ainvoke(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        if config is not None and not _listened(config):
            return await self._untraced.ainvoke(input, config, **kwargs)
        return await super().ainvoke(input, config, **kwargs)


def _listened(config: Any) -> bool:
    """Whether a callback handler would see a run made under ``config``. No callbacks at all: LangChain would
    configure them from the environment (a tracer turned on there), so say yes."""
    callbacks = config.get("callbacks")
    if callbacks is None:
        return True
    return bool(callbacks.handlers if isinstance(callbacks, BaseCallbackManager) else callbacks)


class StateGraphOnLoop(StateGraph):
    """The graphs' builder: a ``StateGraph`` whose conditional edges run a synchronous routing function on the loop
    (``plain_route``), so no edge added later can bring the default executor back into a turn, and trace it only
    for a listener (``QuietRoute``)."""

    def add_conditional_edges(self, source: str, path: Any, path_map: Any = None) -> Self:  # noqa: D102
        if callable(path) and not isinstance(path, Runnable):
            path = QuietRoute(path if inspect.iscoroutinefunction(path) else plain_route(path))
        return super().add_conditional_edges(source, path, path_map)
