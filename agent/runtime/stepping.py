"""Developer stepping: breakpoints on graph nodes (the task-flow subgraphs' included), the state at a pause,
and edits to it.

Breakpoint names are a parent node (``plan``) or a subgraph and one of its nodes (``cancel:confirm``). The
parent's breakpoints are LangGraph's ``interrupt_before`` of the run. A task flow is a subgraph called from inside
a parent node, and LangGraph gives a nested graph no per-run breakpoints: it reads its own compiled
``interrupt_before_nodes``. So for the duration of a stepping turn those are set on this runtime's compiled
subgraphs and restored afterwards. The subgraph then stops before the node, its checkpoint stays in its
namespace, and the next run of the parent resumes it there (past the breakpoint).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StateSnapshot

from agent.runtime.history import transcript_lines

#: The name of the parent graph in pauses and edits (``support:stage=...``).
PARENT = "support"

#: Fields summarised at a pause (the full state is one ``state`` command away).
SUMMARY_FIELDS = ("stage", "customer_id", "tasks", "awaiting", "orders_in_focus", "pending_confirmation", "ticket")


class UnknownNodeError(ValueError):
    """A breakpoint names no node of the graph or of its subgraphs."""


def subgraphs(graph: CompiledStateGraph) -> dict[str, Any]:
    """The graph's direct subgraphs by node name (the task flows)."""
    return dict(graph.get_subgraphs())


def breakable_nodes(graph: CompiledStateGraph) -> list[str]:
    """Every name ``--break`` accepts: parent nodes, then ``subgraph:node`` for each subgraph's nodes."""
    names = [n for n in graph.nodes if not n.startswith("__")]
    for sub_name, sub in subgraphs(graph).items():
        names += [f"{sub_name}:{n}" for n in sub.nodes if not n.startswith("__")]
    return names


def check_breakpoints(graph: CompiledStateGraph, names: Sequence[str]) -> tuple[str, ...]:
    """The breakpoints, validated; ``UnknownNodeError`` names the first unknown one."""
    known = set(breakable_nodes(graph))
    for name in names:
        if name not in known:
            raise UnknownNodeError(f"unknown node {name!r} (see `deskgraph graph`; subgraph nodes as cancel:confirm)")
    return tuple(names)


def split_breakpoints(names: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Parent breakpoints, and subgraph breakpoints by subgraph."""
    parent = [n for n in names if ":" not in n]
    inner: dict[str, list[str]] = {}
    for name in names:
        if ":" in name:
            sub, node = name.split(":", 1)
            inner.setdefault(sub, []).append(node)
    return parent, inner


@contextmanager
def subgraph_breakpoints(graph: CompiledStateGraph, names: Sequence[str]) -> Iterator[None]:
    """Set the subgraphs' ``interrupt_before_nodes`` for the block (see the module docstring for why)."""
    _, inner = split_breakpoints(names)
    found = subgraphs(graph)
    saved = {name: found[name].interrupt_before_nodes for name in inner if name in found}
    try:
        for name, nodes in inner.items():
            if name in found:
                found[name].interrupt_before_nodes = list(nodes)
        yield
    finally:
        for name, before in saved.items():
            found[name].interrupt_before_nodes = before


@dataclass(frozen=True)
class GraphLevel:
    """One graph's state at a pause: the parent's, or the active subgraph's."""

    graph: str
    namespace: str
    next_nodes: tuple[str, ...]
    values: dict[str, Any]
    config: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        """The fields worth a glance, and the message count."""
        found = {k: self.values[k] for k in SUMMARY_FIELDS if self.values.get(k) not in (None, [], {}, "")}
        return {**found, "messages": len(self.values.get("messages", []))}

    def as_json(self, *, full: bool = False) -> dict[str, Any]:
        """JSON-ready: the summary, or every field with the messages as a transcript."""
        if full:
            state = {k: v for k, v in self.values.items() if k != "messages"}
            state["messages"] = transcript_lines(list(self.values.get("messages", [])))
        else:
            state = self.summary()
        return {"graph": self.graph, "namespace": self.namespace, "next": list(self.next_nodes),
                "state": json.loads(json.dumps(state, default=str))}


def levels(snapshot: StateSnapshot) -> list[GraphLevel]:
    """The parent's state, then the state of each subgraph that is part-way through (from
    ``get_state(subgraphs=True)``), outermost first."""
    found = [_level(PARENT, snapshot)]
    for task in snapshot.tasks:
        # A subgraph that has not started yet (its parent node is next) has an empty snapshot: no level yet.
        if isinstance(task.state, StateSnapshot) and (task.state.values or task.state.next):
            found += [GraphLevel(task.name, lvl.namespace, lvl.next_nodes, lvl.values, lvl.config)
                      if lvl.graph == PARENT else lvl for lvl in levels(task.state)]
    return found


def _level(name: str, snap: StateSnapshot) -> GraphLevel:
    configurable = snap.config.get("configurable", {})
    return GraphLevel(name, str(configurable.get("checkpoint_ns", "")), tuple(snap.next), dict(snap.values or {}),
                      dict(snap.config))


def next_names(snapshot: StateSnapshot) -> tuple[str, ...]:
    """What runs next, qualified: ``cancel:confirm`` while the cancel flow waits before its confirm node."""
    names: list[str] = []
    for task in snapshot.tasks:
        inner = task.state if isinstance(task.state, StateSnapshot) else None
        names += [f"{task.name}:{n}" for n in inner.next] if inner and inner.next else [task.name]
    return tuple(names) or tuple(snapshot.next)


def is_paused(snapshot: StateSnapshot) -> bool:
    """Stopped at a breakpoint or a step: something runs next and nothing waits for the customer."""
    return bool(snapshot.next) and not any(t.interrupts for t in snapshot.tasks)


def parse_edit(text: str) -> tuple[str | None, str, Any]:
    """``FIELD=VALUE`` or ``GRAPH:FIELD=VALUE``: (graph or None, field, value). VALUE is JSON when it parses
    (``null``, ``3``, ``["a"]``, ``"text"``), otherwise the text itself."""
    target, sep, raw = text.partition("=")
    target = target.strip()
    if not sep or not target:
        raise ValueError("use edit FIELD=VALUE (VALUE as JSON, or plain text)")
    graph, _, field_name = target.rpartition(":")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw.strip()
    return graph or None, field_name, value


async def edit_state(graph: CompiledStateGraph, thread_id: str, text: str) -> GraphLevel:
    """Apply ``edit FIELD=VALUE`` with ``update_state``: to the innermost graph that is part-way through (the one
    whose next node reads it) unless the edit names its graph (``support:stage=...``, ``cancel:...``). Returns
    the edited level as it is now."""
    graph_name, field_name, value = parse_edit(text)
    config = {"configurable": {"thread_id": thread_id}}
    found = levels(await graph.aget_state(config, subgraphs=True))
    if not found[0].values:
        raise LookupError(f"no thread {thread_id!r}")
    if graph_name is None:
        target = found[-1]
    else:
        target = next((lvl for lvl in found if lvl.graph == graph_name), None)
        if target is None:
            raise ValueError(f"{graph_name!r} is not part-way through (graphs now: "
                             f"{', '.join(lvl.graph for lvl in found)})")
    if field_name not in graph.builder.schemas[graph.builder.state_schema]:
        raise ValueError(f"unknown state field {field_name!r}")
    await graph.aupdate_state(target.config, {field_name: value})
    after = levels(await graph.aget_state(config, subgraphs=True))
    return next(lvl for lvl in after if lvl.graph == target.graph)
