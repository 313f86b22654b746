"""The Prometheus metrics of deskgraph, all named ``deskgraph_*``, on the service's own registry.

Only ``agent.runtime.observer`` updates them, from the runtime's typed events and the model's usage metadata.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

#: The service's own registry: several runtimes in one process (tests) share it, nothing else is exported.
REGISTRY = CollectorRegistry()

TURNS = Counter("deskgraph_turns", "Turns run, by stage at the end and outcome (ok, confirmation, error).",
                ["stage", "outcome"], registry=REGISTRY)
TURN_SECONDS = Histogram("deskgraph_turn_latency_seconds", "Wall time of a turn, by stage at the end.", ["stage"],
                         buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120), registry=REGISTRY)
TURNS_REFUSED = Counter("deskgraph_turns_refused", "Turns not started: busy (another turn runs), not found, invalid.",
                        ["reason"], registry=REGISTRY)
MODEL_CALLS = Counter("deskgraph_model_calls", "Requests to the model, by stage.", ["stage"], registry=REGISTRY)
MODEL_TOKENS = Counter("deskgraph_model_tokens", "Tokens reported by the model server, by stage and direction.",
                       ["stage", "direction"], registry=REGISTRY)
TOOL_CALLS = Counter("deskgraph_tool_calls", "Tool calls, by tool and stage.", ["tool", "stage"], registry=REGISTRY)
TOOL_ERRORS = Counter("deskgraph_tool_errors", "Tool calls that returned an error, by tool and stage.",
                      ["tool", "stage"], registry=REGISTRY)
CONFIRMATIONS = Counter("deskgraph_confirmations", "Writes put to the customer: asked, approved, declined.",
                        ["tool", "decision"], registry=REGISTRY)
ESCALATIONS = Counter("deskgraph_escalations", "Hand-overs to a human (tickets opened), by stage left.", ["stage"],
                      registry=REGISTRY)
OPERATOR_ACTIONS = Counter("deskgraph_operator_actions", "What people did on the operator desk: message, note, read, "
                           "proposal, hand_back, close.", ["action"], registry=REGISTRY)
FEEDBACK = Counter("deskgraph_feedback", "Thumbs on agent messages, by value (up, down).", ["value"],
                   registry=REGISTRY)


def metrics_text() -> tuple[bytes, str]:
    """The Prometheus text exposition and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def refused(reason: str) -> None:
    """A turn that was not started (busy, not found, invalid input)."""
    TURNS_REFUSED.labels(reason).inc()


def operator_action(action: str) -> None:
    """A person did something on the operator desk."""
    OPERATOR_ACTIONS.labels(action).inc()


def feedback(value: str) -> None:
    """A customer or operator rated an agent message (up or down)."""
    FEEDBACK.labels(value).inc()
