"""The graph as a PNG, drawn offline with matplotlib (already a dependency, for the evaluation chart).

LangGraph's own PNG drawing sends the Mermaid text to mermaid.ink or loads mermaid.js from a CDN in a browser,
and its Graphviz drawing needs the system's Graphviz: none works offline on a plain install. This is a plain
layered drawing instead: layers by distance from the start, one column per task flow, other nodes near their
predecessors, each task flow's nodes framed with the flow's name, edges back up the graph drawn as arcs and
conditional edges dashed.
"""

from __future__ import annotations

import io
from collections import deque

from langchain_core.runnables.graph import Graph
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

_START, _END = "__start__", "__end__"
_X_GAP, _Y_GAP = 1.9, 1.0


def _layers(graph: Graph) -> dict[str, int]:
    """Breadth-first distance from the start (the graph has cycles, so no longest path); the end goes last and
    nodes no edge from the start reaches (``restore``, entered by a state update) sit on the first layer."""
    after: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for edge in graph.edges:
        after[edge.source].append(edge.target)
    layer = {_START: 0}
    queue = deque([_START])
    while queue:
        node = queue.popleft()
        for nxt in after[node]:
            if nxt not in layer:
                layer[nxt] = layer[node] + 1
                queue.append(nxt)
    for node in graph.nodes:
        layer.setdefault(node, 1)
    layer[_END] = max(v for k, v in layer.items() if k != _END) + 1
    return layer


def _positions(graph: Graph) -> dict[str, tuple[float, float]]:
    """y by layer; x: each task flow keeps one column for all its nodes (so a flow reads top-down), every other
    node takes the free column nearest the mean column of its predecessors on earlier layers."""
    layer = _layers(graph)
    before: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for edge in graph.edges:
        if layer[edge.source] < layer[edge.target]:
            before[edge.target].append(edge.source)
    column: dict[str, int] = {}
    base = 0
    for flow in dict.fromkeys(n.split(":", 1)[0] for n in graph.nodes if ":" in n):
        # A flow is as wide as its widest layer (step leads to confirm and to the flow's end alike).
        width = 1
        for depth in {layer[n] for n in graph.nodes if n.startswith(f"{flow}:")}:
            same = [n for n in graph.nodes if n.startswith(f"{flow}:") and layer[n] == depth]
            column |= {n: base + i for i, n in enumerate(same)}
            width = max(width, len(same))
        base += width
    centre = (base - 1) / 2
    for depth in range(max(layer.values()) + 1):
        # The flows' block is kept whole on its layers: no other node lands inside a flow's frame.
        taken = set(range(base)) if any(layer[n] == depth for n in column) else set()
        others = [n for n in graph.nodes if layer[n] == depth and n not in column]

        def wanted(node: str) -> float:
            xs = [column[p] for p in before[node] if p in column]
            return sum(xs) / len(xs) if xs else centre

        for node in sorted(others, key=wanted):
            target = round(wanted(node))
            slot = min((c for c in range(target - 40, target + 41) if c not in taken), key=lambda c: abs(c - target))
            column[node] = slot
            taken.add(slot)
    return {n: (column[n] * _X_GAP, -layer[n] * _Y_GAP) for n in graph.nodes}


def _label(node: str) -> str:
    return node.rsplit(":", 1)[-1] if ":" in node else node


def render_png(graph: Graph, dpi: int = 110) -> bytes:
    """The drawing as PNG bytes."""
    pos = _positions(graph)
    xs = [x for x, _ in pos.values()]
    ys = [y for _, y in pos.values()]
    fig = Figure(figsize=(max(6.0, (max(xs) - min(xs)) * 0.85 + 3), max(4.0, (max(ys) - min(ys)) * 0.9 + 2)))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_xlim(min(xs) - 1.5, max(xs) + 1.5)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    for flow in sorted({n.split(":", 1)[0] for n in pos if ":" in n}):
        members = [pos[n] for n in pos if n.startswith(f"{flow}:")]
        left, right = min(x for x, _ in members) - 0.8, max(x for x, _ in members) + 0.8
        low, high = min(y for _, y in members) - 0.35, max(y for _, y in members) + 0.45
        ax.add_patch(FancyBboxPatch((left, low), right - left, high - low, boxstyle="round,pad=0.02",
                                    facecolor="#f7f7f7", edgecolor="#bbbbbb", zorder=0))
        ax.text(left + 0.05, high - 0.05, flow, fontsize=7, color="#666666", va="top", zorder=1)
    for edge in graph.edges:
        (x1, y1), (x2, y2) = pos[edge.source], pos[edge.target]
        back = y2 >= y1
        ax.add_patch(FancyArrowPatch((x1, y1), (x2, y2), arrowstyle="-|>", mutation_scale=9, shrinkA=11,
                                     shrinkB=11, linewidth=0.7, zorder=2,
                                     linestyle="--" if edge.conditional else "-",
                                     color="#c9a0a0" if back else "#555555", alpha=0.45 if back else 1.0,
                                     connectionstyle="arc3,rad=0.35" if back else "arc3,rad=0.0"))
    for node, (x, y) in pos.items():
        marker = node in (_START, _END)
        ax.text(x, y, _label(node), ha="center", va="center", fontsize=8, zorder=3,
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "#ffffff" if marker else "#f2f0ff",
                      "edgecolor": "#7a6fd0"})
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
