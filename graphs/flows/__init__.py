"""The flows dialogue: code drives every customer task; the model reads messages and words open answers."""

from graphs.flows.graph import build_flows_graph

__all__ = ["build_flows_graph"]
