"""Counting a turn: the one place that turns the runtime's events and the model's usage into metrics and a log line."""

from __future__ import annotations

import logging
import time
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult

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


class _ModelUsage(BaseCallbackHandler):
    """Counts every model request of a turn and the tokens its server reported."""

    # Only a model request's end is counted, on the event loop: LangChain hands every event of a synchronous
    # handler that is not run inline (each node's start and end, each streamed token) to a thread of the loop's
    # default executor, a thread hop per event that cost more than the count itself.
    run_inline = True
    ignore_chain = ignore_agent = ignore_retriever = ignore_retry = ignore_custom_event = ignore_chat_model = True

    def __init__(self, observer: TurnObserver) -> None:
        self.observer = observer

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:  # noqa: D102 - callback
        stage = self.observer.stage
        MODEL_CALLS.labels(stage).inc()
        for generations in response.generations:
            for generation in generations:
                usage = getattr(getattr(generation, "message", None), "usage_metadata", None) or {}
                if usage:
                    MODEL_TOKENS.labels(stage, "input").inc(usage.get("input_tokens", 0))
                    MODEL_TOKENS.labels(stage, "output").inc(usage.get("output_tokens", 0))


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
        self.model_callback = _ModelUsage(self)

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
