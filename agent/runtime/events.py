"""The typed events every front end renders: the CLI prints them, Chainlit draws them, HTTP streams them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Token:
    """A piece of the reply being generated."""

    text: str
    message_id: str | None
    stage: str
    kind: Literal["token"] = "token"


@dataclass(frozen=True)
class ToolCalled:
    """The agent (or the graph itself) called a tool."""

    name: str
    arguments: dict[str, Any]
    call_id: str
    stage: str
    kind: Literal["tool_call"] = "tool_call"


@dataclass(frozen=True)
class ToolResult:
    """What a tool returned."""

    name: str
    call_id: str
    result: str
    ok: bool
    kind: Literal["tool_result"] = "tool_result"


@dataclass(frozen=True)
class StageChanged:
    """The conversation moved to another stage."""

    source: str
    target: str
    reason: str
    kind: Literal["stage_changed"] = "stage_changed"


@dataclass(frozen=True)
class ConfirmationRequested:
    """A write waits for the customer's yes or no."""

    tool: str
    arguments: dict[str, Any]
    summary: str
    tool_call_id: str
    kind: Literal["confirmation_requested"] = "confirmation_requested"


@dataclass(frozen=True)
class HandedOver:
    """The case went to a human: a ticket exists."""

    ticket_id: int
    reason: str
    kind: Literal["handed_over"] = "handed_over"


@dataclass(frozen=True)
class Reply:
    """A complete message to the customer; ``streamed`` says whether its tokens were already sent."""

    text: str
    stage: str
    message_id: str | None
    streamed: bool
    kind: Literal["reply"] = "reply"


@dataclass(frozen=True)
class ErrorEvent:
    """The turn failed; the thread is intact and ``retryable`` turns can be retried as they are.

    ``message`` is for the customer; ``detail`` (exception text: paths, URLs) is for logs and operators only;
    ``error_id`` names the server log line with the full details.
    """

    message: str
    detail: str
    retryable: bool = True
    error_id: str = ""
    kind: Literal["error"] = "error"


@dataclass(frozen=True)
class StepPaused:
    """Developer stepping: the graph stopped after ``node``; ``next_nodes`` run on the next step."""

    node: str
    next_nodes: tuple[str, ...]
    state_keys: tuple[str, ...]
    kind: Literal["step_paused"] = "step_paused"


@dataclass(frozen=True)
class DeskEvent:
    """A person's part of a handed-over conversation, outside any turn: they joined (``claimed``), wrote
    (``operator_message``), proposed a write for the customer to confirm (``proposal``: ``text`` is what to say
    yes or no to), handed the conversation back to the agent (``handed_back``) or closed the case (``closed``).
    Operators' streams also carry the customer's messages to them (``customer_message``), internal notes and reads,
    which a customer's stream never does. ``feed_id`` orders the desk's log: a follower resumes after it."""

    action: str
    ticket_id: int
    author: str
    text: str
    feed_id: int
    message_id: str | None = None
    kind: Literal["desk"] = "desk"


Event = (StepPaused | Token | ToolCalled | ToolResult | StageChanged | ConfirmationRequested | HandedOver | Reply
         | ErrorEvent | DeskEvent)


Audience = Literal["operator", "customer"]

#: What a customer's stream keeps of each event kind (None: everything). Customers never see raw tool results
#: or arguments (another customer's data must never travel, even if a tool returned it), nor error details.
_CUSTOMER_FIELDS: dict[str, tuple[str, ...] | None] = {
    "tool_call": ("kind", "name", "call_id", "stage"),
    "tool_result": ("kind", "name", "call_id", "ok"),
    "confirmation_requested": ("kind", "tool", "summary", "tool_call_id"),
    "error": ("kind", "message", "retryable", "error_id"),
    "step_paused": ("kind",),
}


def customer_fields(kind: str) -> tuple[str, ...] | None:
    """The fields of an event kind a customer's stream keeps (None: all of them)."""
    return _CUSTOMER_FIELDS.get(kind)


def event_dict(event: Event, audience: Audience = "operator") -> dict[str, Any]:
    """A JSON-ready dict (for server-sent events and logs): everything for operators, a safe view for customers."""
    data = asdict(event)
    keep = customer_fields(data["kind"]) if audience == "customer" else None
    return data if keep is None else {name: data[name] for name in keep}


@dataclass
class TurnOutcome:
    """Everything one call produced, for scripts that do not stream."""

    events: list[Event] = field(default_factory=list)

    @property
    def reply(self) -> str:
        """The customer-facing text of the turn (replies joined), or the error message."""
        texts = [e.text for e in self.events if isinstance(e, Reply)]
        errors = [e.message for e in self.events if isinstance(e, ErrorEvent)]
        return "\n".join(texts or errors)

    @property
    def confirmation(self) -> ConfirmationRequested | None:
        """The confirmation request the turn ended with, if any."""
        return next((e for e in reversed(self.events) if isinstance(e, ConfirmationRequested)), None)
