"""Counting a turn: the one place that turns the runtime's events and the model's usage into metrics and a log line."""

from __future__ import annotations

import logging
import time
from typing import Any

from agent.observability.metrics import (
    CONFIRMATIONS,
    ESCALATIONS,
    MODEL_CALLS,
    MODEL_TOKENS,
    TOOL_CALLS,
    TOOL_ERRORS,
    TURN_SECONDS,
    TURNS,
)
from agent.runtime.events import (
    ConfirmationRequested,
    ErrorEvent,
    Event,
    HandedOver,
    StageChanged,
    ToolCalled,
    ToolResult,
)

log = logging.getLogger("agent.turns")

#: The confirmation node's answer to a "no" (graphs.nodes.confirm_write).
_DECLINED = "The customer declined"


#: Where a turn's observer rides in the graph's config (``configurable``; the leading "__" keeps it out of checkpoint
#: metadata and traces), for the runtime's model (``recording.RecordingChatModel``) to count each answer it gets.
#: Not a LangChain callback handler in the turn's config, as before: with a handler there, LangChain runs its
#: callback machinery for every node and routing function of the graph (a child manager each, chain start and end
#: events) to count one event per model request, about 5 % of a text turn's CPU (bench/profile_turn.py).
TURN_OBSERVER = "__deskgraph_turn_observer"


def count_model_answer(config: Any, message: Any) -> None:
    """Count a model answer for the turn whose config asked for it (nothing outside a turn)."""
    observer = ((config or {}).get("configurable") or {}).get(TURN_OBSERVER)
    if observer is not None:
        observer.model_answered(message)


class TurnObserver:
    """Watches one turn's events; counts them and logs one JSON line when the turn ends."""

    def __init__(self, thread_id: str, stage: str, *, pending_call_id: str | None = None) -> None:
        self.thread_id = thread_id
        self.stage = stage
        self.left = stage  # the stage before the last change: where an escalation came from
        self.pending_call_id = pending_call_id
        self.started = time.perf_counter()
        self.outcome = "ok"
        self.error_id: str | None = None

    def model_answered(self, message: Any) -> None:
        """Count one model request of the turn and the tokens its server reported, under the turn's stage."""
        MODEL_CALLS.labels(self.stage).inc()
        usage = getattr(message, "usage_metadata", None) or {}
        if usage:
            MODEL_TOKENS.labels(self.stage, "input").inc(usage.get("input_tokens", 0))
            MODEL_TOKENS.labels(self.stage, "output").inc(usage.get("output_tokens", 0))

    def event(self, event: Event) -> None:
        """Count one event of the turn."""
        if isinstance(event, StageChanged):
            self.left, self.stage = event.source, event.target
        elif isinstance(event, ToolCalled):
            TOOL_CALLS.labels(event.name, self.stage).inc()
        elif isinstance(event, ToolResult):
            self._tool_result(event)
        elif isinstance(event, ConfirmationRequested):
            CONFIRMATIONS.labels(event.tool, "asked").inc()
            self.outcome = "confirmation"
        elif isinstance(event, HandedOver):
            ESCALATIONS.labels(self.left).inc()
        elif isinstance(event, ErrorEvent):
            self.outcome, self.error_id = "error", event.error_id or None

    def _tool_result(self, event: ToolResult) -> None:
        if event.call_id == self.pending_call_id:  # the answer to the confirmation asked last turn
            declined = not event.ok and event.result.startswith(_DECLINED)
            CONFIRMATIONS.labels(event.name, "declined" if declined else "approved").inc()
            if declined:
                return
        if not event.ok:
            TOOL_ERRORS.labels(event.name, self.stage).inc()

    def finish(self) -> None:
        """The turn is over: record its latency and outcome, and log it."""
        seconds = time.perf_counter() - self.started
        TURNS.labels(self.stage, self.outcome).inc()
        TURN_SECONDS.labels(self.stage).observe(seconds)
        log.info("turn finished", extra={"thread_id": self.thread_id, "stage": self.stage, "outcome": self.outcome,
                                         "latency_ms": round(seconds * 1000, 1), "error_id": self.error_id})
