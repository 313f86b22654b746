"""The support graph as developers look at it: drawn as Mermaid text (offline: LangGraph writes the text itself)
with the task-flow subgraphs expanded, and the node names a breakpoint can name (``cancel:confirm`` for a node
inside a flow)."""

from __future__ import annotations

from langchain_core.runnables.graph import Graph
from langgraph.graph.state import CompiledStateGraph

from agent.runtime.wiring import NoModel, graph_options
from agent.settings import Settings
from graphs import build_support_graph
from tools import RetailStore

#: LangGraph's own entry and exit markers: drawn, but no node to stop at.
_MARKERS = ("__start__", "__end__")


def drawing_graph(settings: Settings, dialogue: str | None = None) -> CompiledStateGraph:
    """The configured support graph (or the one of ``dialogue``), compiled only to be looked at: no model, an
    empty in-memory store, no checkpoints. Its shape does not depend on any of them."""
    options = graph_options(settings)
    if dialogue:
        options = type(options)(**{**options.__dict__, "dialogue": dialogue})
    return build_support_graph(model=NoModel(), store=RetailStore.open(":memory:"), options=options)


def drawable(graph: CompiledStateGraph, *, xray: bool = True) -> Graph:
    """The graph's drawable form; with ``xray`` each task flow's own nodes replace the flow's node."""
    return graph.get_graph(xray=xray)


def mermaid(graph: CompiledStateGraph, *, xray: bool = True) -> str:
    """Mermaid flowchart text of the graph."""
    return drawable(graph, xray=xray).draw_mermaid()


def breakpoint_nodes(graph: CompiledStateGraph) -> list[str]:
    """Every node a run can stop at: each top-level node, followed by the nodes of its subgraph as
    ``<flow>:<node>``, in the order the graph was built."""
    inner = [n for n in drawable(graph, xray=True).nodes if ":" in n and n.rsplit(":", 1)[1] not in _MARKERS]
    names: list[str] = []
    for node in drawable(graph, xray=False).nodes:
        if node in _MARKERS:
            continue
        names.append(node)
        names += [n for n in inner if n.split(":", 1)[0] == node]
    return names
