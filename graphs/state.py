"""Typed state of a support conversation: domain facts live in fields, not in message text."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, NotRequired

from langchain_core.messages import AnyMessage
from langgraph.channels.delta import DeltaChannel
from typing_extensions import TypedDict  # on 3.11 pydantic reads only this one: Studio's input form needs it

from graphs.messages import messages_reducer

#: The message history is a DeltaChannel: each checkpoint stores only the messages written in that step
#: (plus a full snapshot every SNAPSHOT_EVERY updates), so checkpoint growth per turn stays constant
#: instead of re-storing the whole history at every step. The reducer gives exactly the result of LangGraph's
#: batching-invariant message reducer (see graphs.messages); LangGraph gives every message object written to a
#: DeltaChannel a stable id, so replays rebuild the same history.
SNAPSHOT_EVERY = 500


class Stage(StrEnum):
    """Where the conversation is: each stage has its own prompt and tools."""

    INTAKE = "intake"
    ORDER_DESK = "order_desk"
    ESCALATION = "escalation"


class StageChange(TypedDict):
    """One recorded move between stages."""

    source: str
    target: str
    reason: str
    turn: int


class PendingConfirmation(TypedDict):
    """A write the model asked for, waiting for the customer's yes or no."""

    tool_call_id: str
    tool: str
    arguments: dict
    summary: str


class Ticket(TypedDict):
    """The hand-over ticket once the case went to a human."""

    id: int
    reason: str
    summary: str
    status: str


class HandBack(TypedDict):
    """What the person did before giving the conversation back to the agent (the agent sees it)."""

    ticket_id: int
    operator: str
    summary: str
    turn: int
    """The customer-message count when it happened (the reading hears of it for the next few messages)."""


class TaskFrame(TypedDict):
    """One customer task in the flows dialogue, with what the customer said for it so far."""

    task: str
    said: dict[str, Any]
    fallback: NotRequired[str | None]


class SupportState(TypedDict):
    """Everything the support graph knows about one conversation."""

    messages: Annotated[list[AnyMessage], DeltaChannel(messages_reducer, snapshot_frequency=SNAPSHOT_EVERY)]
    """Full conversation history (what the model sees is a budgeted window of it)."""
    stage: NotRequired[Stage]
    """Current stage; intake until the customer is authenticated."""
    customer_id: NotRequired[str | None]
    """The authenticated customer's user id, or None."""
    verified_by: NotRequired[Literal["email", "name_zip", "token"] | None]
    """How the customer was authenticated ("token": a signed customer token; the thread then belongs to them)."""
    orders_in_focus: NotRequired[list[str]]
    """Order ids under discussion, most recent last."""
    pending_confirmation: NotRequired[PendingConfirmation | None]
    """A write waiting for the customer's explicit confirmation."""
    ticket: NotRequired[Ticket | None]
    """Set once the case is handed over; the thread then only collects notes for the human."""
    handback: NotRequired[HandBack | None]
    """The last hand-back from a person: who, and their summary of what they did."""
    escalation_reason: NotRequired[str | None]
    """Why the conversation is moving to escalation (set by a transfer or a rule)."""
    stage_history: NotRequired[list[StageChange]]
    """Every stage change with its reason."""
    persona: NotRequired[str]
    """Tone preset (a file under prompts/personas/); never changes policy."""
    turn: NotRequired[int]
    """Number of customer messages so far."""
    turn_model_calls: NotRequired[int]
    """Model calls made in the current turn (loop guard)."""
    turn_invalid_calls: NotRequired[int]
    """Invalid tool calls corrected in the current turn."""
    tool_error_streak: NotRequired[int]
    """Consecutive tool calls that returned an error."""
    misunderstanding_streak: NotRequired[int]
    """Consecutive turns that ended without progress (failed identification, unusable model output)."""
    tasks: NotRequired[list[TaskFrame]]
    """Flows dialogue: the customer's tasks, the active one first."""
    awaiting: NotRequired[str | None]
    """Flows dialogue: the slot the last question asked for (order, items, variant:<item id>, reason, payment, address)."""
    understanding: NotRequired[dict[str, Any] | None]
    """Flows dialogue: what the latest customer message was understood to say (for developers and tests)."""
    identity_said: NotRequired[dict[str, str]]
    """Flows dialogue: name and zip said so far by a customer not identified yet."""
    asked: NotRequired[dict[str, int]]
    """Flows dialogue: how often each question ("<task>:<slot>") was asked for the active task."""
    choices: NotRequired[list[list[str]]]
    """Flows dialogue: the numbered (id, label) choices the last question listed."""
    reinterpret: NotRequired[str | None]
    """Flows dialogue: a message typed instead of yes/no while a write waited, to be read as a new request."""


def delta_channels() -> dict[str, DeltaChannel]:
    """The state's DeltaChannel specs by field name (for savers that cache their reconstruction)."""
    from typing import get_type_hints

    found = {}
    for name, hint in get_type_hints(SupportState, include_extras=True).items():
        for extra in getattr(hint, "__metadata__", ()):
            if isinstance(extra, DeltaChannel):
                found[name] = extra
    return found
