"""Request and response models of the HTTP service (the OpenAPI document is generated from these)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from agent.runtime.inputs import THREAD_ID_PATTERN
from prompts import list_personas


def _encodable(text: str) -> str:
    # JSON may carry escaped lone surrogates ("\\ud800"): valid JSON, but not text that can be stored or sent.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode") from None
    return text


Text = Annotated[str, AfterValidator(_encodable)]
ThreadId = Annotated[str, Path(pattern=THREAD_ID_PATTERN, description="1-128 characters of A-Z a-z 0-9 . _ : -")]
CheckpointId = Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,64}$")]
#: Ticket ids are SQLite row ids: a larger integer would fail in the database (a 500), not be looked up.
TicketId = Annotated[int, Path(ge=1, le=2**63 - 1)]
#: The persona presets (files under prompts/personas/), as an enum in the schema.
Persona = Literal[tuple(list_personas())]  # type: ignore[valid-type]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MessageIn(_In):
    """A customer message."""

    text: Text = Field(min_length=1, max_length=8000)
    persona: Persona | None = None


class ConfirmationIn(_In):
    """The answer to a pending write."""

    approved: bool


class ForkIn(_In):
    """Where to fork from."""

    checkpoint_id: CheckpointId
    new_thread_id: Annotated[str, Field(pattern=THREAD_ID_PATTERN)] | None = None


class ReplayIn(_In):
    """The checkpoint to re-run from."""

    checkpoint_id: CheckpointId


class HealthOut(BaseModel):
    """Liveness."""

    status: Literal["ok"] = "ok"


class ReadyOut(BaseModel):
    """Readiness: the replica reaches its database and may take turns."""

    status: Literal["ready"] = "ready"


class ErrorOut(BaseModel):
    """Every refusal and failure: a short message, and for server errors the id of the log line."""

    detail: str
    error_id: str | None = None


class ValidationIssue(BaseModel):
    """One reason a request was invalid (FastAPI's ``ValidationError`` without the rejected input)."""

    loc: list[str]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    """A request that failed validation (FastAPI's ``HTTPValidationError``, as errors.py trims it)."""

    detail: list[ValidationIssue]


class PendingOut(BaseModel):
    """A write waiting for the customer's yes or no (arguments for operators only)."""

    tool: str
    summary: str
    tool_call_id: str
    arguments: dict[str, Any] | None = None


class TicketRef(BaseModel):
    """The hand-over ticket of a thread."""

    id: int
    reason: str
    summary: str
    status: str


class ThreadOut(BaseModel):
    """A thread now (or at a checkpoint)."""

    thread_id: str
    stage: str
    customer_id: str | None
    pending_confirmation: PendingOut | None
    ticket: TicketRef | None
    persona: str | None
    next: list[str]
    failed_turn: bool
    transcript: list[str]
    feedback: list[FeedbackOut] = []
    """Ratings of the thread's agent messages (a customer sees their own)."""


class CheckpointOut(BaseModel):
    """One step of a thread's history."""

    checkpoint_id: str
    step: int
    source: str
    wrote: list[str]
    next_nodes: list[str]
    stage: str
    messages: int
    created: str


class ForkOut(BaseModel):
    """The new thread."""

    thread_id: str


class TicketEventOut(BaseModel):
    """One row of a ticket's log: who did what (``kind``: claimed, operator_message, internal_note,
    operator_read, proposal, proposal_answered, customer_message, handed_back, closed)."""

    id: int
    kind: str
    author: str
    text: str
    created: str
    data: dict[str, Any]


class TicketOut(BaseModel):
    """A hand-over ticket: its state (open, claimed, handed_back, closed), the customer's later notes, its log."""

    id: int
    thread: str
    customer: str | None
    reason: str
    summary: str
    created: str
    status: str
    notes: list[str]
    claimed_by: str | None = None
    claimed_at: str | None = None
    waiting_seconds: int = 0
    """How long the case waited for a person (until claimed, or until now)."""
    handed_back: str | None = None
    hand_back_summary: str | None = None
    closed: str | None = None
    close_note: str | None = None
    events: list[TicketEventOut] = []
    feedback_up: int = 0
    feedback_down: int = 0


#: At least one visible character: a person's text that is only blanks or control characters says nothing.
_VISIBLE = r"[^\s\x00-\x1f\x7f]"


class OperatorMessageIn(_In):
    """A person's message to the customer of a handed-over thread."""

    text: Text = Field(min_length=1, max_length=8000, pattern=_VISIBLE)


class NoteIn(_In):
    """An internal note on a ticket (never shown to the customer)."""

    text: Text = Field(min_length=1, max_length=8000, pattern=_VISIBLE)


class HandBackIn(_In):
    """What the person did, for the agent that takes the conversation back."""

    summary: Text = Field(min_length=1, max_length=4000, pattern=_VISIBLE)


class CloseIn(_In):
    """Why or how the case was resolved (for the record)."""

    note: Text | None = Field(None, max_length=4000)


class ToolIn(_In):
    """A tool to run for the ticket's customer (a read) or to propose to them (a write)."""

    tool: str = Field(min_length=1, max_length=64)
    arguments: dict[str, Any] = {}


class ReadOut(BaseModel):
    """What a read tool returned."""

    ok: bool
    result: str


class FeedbackIn(_In):
    """Thumbs up or down on one of the thread's agent messages."""

    message_id: str = Field(min_length=1, max_length=128)
    value: Literal["up", "down"]
    comment: Text | None = Field(None, max_length=2000)


class FeedbackOut(BaseModel):
    """One rating of an agent message."""

    id: str
    message_id: str
    value: Literal["up", "down"]
    comment: str | None
    author: str
    created: str
