"""The operator desk over HTTP: the ticket queue, claim, replies, internal notes, reads and proposals for the
customer, hand-back and close (operators only); the thread's live desk events and message ratings (customers for
their own threads, operators for any).

Thin adapter over ``agent.runtime.desk``: the runtime decides (who holds a claim, the thread's lease, the state
change); its refusals answer 404 (no such ticket or thread) and 409 (claimed by someone else, not claimed yet,
closed, a turn is running).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import FastAPI, Header, Query, Request

from agent.api.event_docs import desk_feed_response
from agent.api.openapi import refusals
from agent.api.schemas import (
    CloseIn,
    FeedbackIn,
    HandBackIn,
    NoteIn,
    OperatorMessageIn,
    ReadOut,
    ThreadId,
    TicketEventOut,
    TicketId,
    TicketOut,
    ToolIn,
)
from agent.api.security import Caller, Operator
from agent.api.sse import EventStreamResponse
from agent.runtime import SupportRuntime, ThreadNotFoundError, event_dict
from agent.runtime.desk import TicketNotFoundError
from agent.runtime.events import DeskEvent
from graphs.tickets import TicketRecord

#: The feed's own answers besides 200.
_FEED = {"response_class": EventStreamResponse, "responses": {200: desk_feed_response(), **refusals(404)}}


def _rt(request: Request) -> SupportRuntime:
    return request.app.state.runtime


def ticket_out(runtime: SupportRuntime, ticket: TicketRecord) -> TicketOut:
    """A ticket with its log and the thread's ratings, as operators read it."""
    up, down = runtime.feedback.counts(ticket.thread)
    fields = {k: v for k, v in ticket.__dict__.items() if k not in ("notes", "events")}
    return TicketOut(**fields, notes=list(ticket.notes), waiting_seconds=ticket.waiting_seconds,
                     events=[TicketEventOut(**{k: v for k, v in e.__dict__.items() if k in TicketEventOut.model_fields})
                             for e in ticket.events], feedback_up=up, feedback_down=down)


def install(app: FastAPI) -> None:
    """Add the desk's routes to the service."""

    @app.get("/tickets")
    async def tickets(request: Request, caller: Operator,
                      status: str | None = Query(None, max_length=32, description="open, claimed, handed_back, closed, "
                                                                                   "or active (open and claimed)")
                      ) -> list[TicketOut]:
        """The ticket queue, newest first."""
        return [ticket_out(_rt(request), t) for t in _rt(request).tickets(status)]


    @app.get("/tickets/{ticket_id}", responses=refusals(404))
    async def ticket(ticket_id: TicketId, request: Request, caller: Operator) -> TicketOut:
        """One ticket with its log."""
        found = _rt(request).ticket(ticket_id)
        if found is None:
            raise TicketNotFoundError(f"no ticket #{ticket_id}")
        return ticket_out(_rt(request), found)


    @app.post("/tickets/{ticket_id}/claim", responses=refusals(404, 409))
    async def claim(ticket_id: TicketId, request: Request, caller: Operator) -> TicketOut:
        """Take the case: the agent stops answering; the customer is told a person joined."""
        return ticket_out(_rt(request), await _rt(request).claim_ticket(ticket_id, caller.name))


    @app.post("/threads/{thread_id}/operator-messages", responses=refusals(404, 409))
    async def operator_message(thread_id: ThreadId, body: OperatorMessageIn, request: Request,
                               caller: Operator) -> DeskEvent:
        """A message to the customer from the operator holding the thread's ticket (shown with their name)."""
        return await _rt(request).operator_reply(thread_id, caller.name, body.text)


    @app.post("/tickets/{ticket_id}/notes", responses=refusals(404))
    async def note(ticket_id: TicketId, body: NoteIn, request: Request, caller: Operator) -> DeskEvent:
        """An internal note for colleagues; the customer never sees it."""
        return await _rt(request).internal_note(ticket_id, caller.name, body.text)


    @app.post("/tickets/{ticket_id}/reads", responses=refusals(404))
    async def read(ticket_id: TicketId, body: ToolIn, request: Request, caller: Operator) -> ReadOut:
        """Run a read tool for the ticket's customer (their own data only)."""
        ok, result = await _rt(request).operator_read(ticket_id, caller.name, body.tool, body.arguments)
        return ReadOut(ok=ok, result=result)


    @app.post("/tickets/{ticket_id}/proposals", responses=refusals(404, 409))
    async def propose(ticket_id: TicketId, body: ToolIn, request: Request, caller: Operator) -> DeskEvent:
        """Propose a write to the customer; it runs only on their yes (POST /threads/{id}/confirmation or typed)."""
        return await _rt(request).propose_write(ticket_id, caller.name, body.tool, body.arguments)


    @app.post("/tickets/{ticket_id}/hand-back", responses=refusals(404, 409))
    async def hand_back(ticket_id: TicketId, body: HandBackIn, request: Request, caller: Operator) -> TicketOut:
        """Give the conversation back to the agent with a summary of what was done."""
        return ticket_out(_rt(request), await _rt(request).hand_back(ticket_id, caller.name, body.summary))


    @app.post("/tickets/{ticket_id}/close", responses=refusals(404, 409))
    async def close(ticket_id: TicketId, request: Request, caller: Operator, body: CloseIn | None = None) -> TicketOut:
        """Close the case; closing a closed ticket changes nothing."""
        note_text = body.note if body else None
        return ticket_out(_rt(request), await _rt(request).close_ticket(ticket_id, caller.name, note_text))


    @app.get("/threads/{thread_id}/events", **_FEED)
    async def follow(thread_id: ThreadId, request: Request, caller: Caller,
                     after: int | None = Query(None, ge=0, description="Resume after this feed id (default: from now)."),
                     idle: float = Query(25.0, gt=0, le=300, description="End the stream after this many seconds "
                                                                         "without an event (the client reconnects)."),
                     last_event_id: str | None = Header(None, include_in_schema=False)) -> EventStreamResponse:
        """The thread's desk events as they happen: a person joined, wrote, proposed a write, handed the
        conversation back, closed the case. Customers see only those; operators also the customer's messages to the
        person, internal notes and reads. Reconnect with ``Last-Event-ID`` (or ``after``) to miss nothing."""
        runtime = _rt(request)
        await runtime.check_access(thread_id, caller.customer_id)
        if not (await runtime.view(thread_id)).exists:
            raise ThreadNotFoundError(f"no thread {thread_id!r}")
        if after is None and last_event_id and last_event_id.isdigit():
            after = int(last_event_id)
        audience = "operator" if caller.is_operator else "customer"

        async def body() -> AsyncIterator[bytes]:
            async for event in runtime.follow(thread_id, audience=audience, after=after, idle_seconds=idle):
                payload = event_dict(event, audience)
                yield f"id: {event.feed_id}\nevent: desk\ndata: {json.dumps(payload)}\n\n".encode()
            yield b"event: idle\ndata: {}\n\n"

        return EventStreamResponse(body(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


    @app.post("/threads/{thread_id}/feedback", responses=refusals(404))
    async def rate(thread_id: ThreadId, body: FeedbackIn, request: Request, caller: Caller) -> dict[str, str]:
        """Thumbs up or down on an agent message of the thread; rating again replaces the caller's rating."""
        author = caller.name if caller.is_operator else f"customer:{caller.name}"
        feedback_id = await _rt(request).rate_message(thread_id, body.message_id, body.value, author=author,
                                                      comment=body.comment, customer_id=caller.customer_id)
        return {"id": feedback_id}
