"""The support graph: stages, nodes, routing and the tool layer. Receives model, store and checkpointer."""

from graphs.dialogue import GraphOptions
from graphs.state import Stage, SupportState
from graphs.support import build_support_graph

__all__ = ["GraphOptions", "Stage", "SupportState", "build_support_graph"]
