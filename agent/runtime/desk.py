"""The operator desk: what a person does with a handed-over conversation, and the live feed front ends follow.

A part of ``SupportRuntime`` (a base class, like ``ThreadRecords``). Every action that changes the conversation
takes the thread's turn lease first, so it never interleaves with a turn of the customer's; the desk's log row
and the checkpointed state change are written under that one lease. The conversation keeps one source of truth:
the operator's messages, the hand-back and the close are messages and fields of the checkpointed state, and the
ticket's log says who did what.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

from langchain_core.messages import AIMessage
from langgraph.graph.state import CompiledStateGraph

from agent.observability import metrics
from agent.runtime.errors import InvalidInputError, ThreadNotFoundError, TurnRefusedError
from agent.runtime.events import DeskEvent
from agent.runtime.inputs import clean_text
from agent.runtime.lease import TurnLeases
from graphs.blocking import off_loop
from graphs.confirmations import summarize_write
from graphs.dialogue import move_stage, new_call_id
from graphs.guardrail import strip_control_tokens
from graphs.operator import operator_message
from graphs.state import Stage
from graphs.tickets import ACTIVE, TicketDesk, TicketError, TicketEvent, TicketRecord
from graphs.tool_layer import GuardedTools, dry_run, validate_call
from prompts import replies
from tools import RetailStore
from tools.catalog import IDENTIFY_TOOLS, READ_TOOLS, WRITE_TOOLS
from tools.order_ids import order_ids_in

#: How often a follower looks for log rows another process wrote (rows written by this process wake it at once).
POLL_SECONDS = 0.5

#: What an operator may run for the ticket's customer: their data, never another customer's (no identification
#: lookups, which search all customers) and no second transfer.
_READ_TOOLS = tuple(sorted(READ_TOOLS - IDENTIFY_TOOLS - {"transfer_to_human_agents"}))
_WRITE_TOOLS = tuple(sorted(WRITE_TOOLS))


class TicketNotFoundError(TurnRefusedError, LookupError):
    """No ticket with that number (the API answers 404)."""


class TicketConflictError(TurnRefusedError):
    """The ticket is not in a state for this action: claimed by someone else, not claimed yet, closed (409)."""


class OperatorDesk:
    """The desk's actions; ``SupportRuntime`` provides the attributes below."""

    graph: CompiledStateGraph
    store: RetailStore
    leases: TurnLeases
    desk: TicketDesk
    guarded: GuardedTools
    _desk_wakeups: dict[str, set[asyncio.Event]]

    # --- tickets --------------------------------------------------------------------------------------
    async def claim_ticket(self, ticket_id: int, operator: str) -> TicketRecord:
        """The operator takes the case: the agent stops answering the customer's messages in the thread.

        Each desk action changes the checkpointed conversation first and commits the ticket after it, under the
        thread's lease: if the second write fails, doing the action again completes it (the first is not
        repeated), and a ticket never says more than the conversation shows."""
        ticket = self._ticket(ticket_id)
        async with self.leases.hold(ticket.thread):
            _checked(lambda: self.desk.require_claimable(ticket_id, operator))
            values = (await self.graph.aget_state(_config(ticket.thread))).values
            joined = operator_message(replies()["operator_joined"].format(operator=operator), operator)
            held = values.get("ticket") or {}
            if held.get("id") == ticket_id and held.get("status") != "claimed":
                await self._edit(ticket.thread, {"ticket": {**held, "status": "claimed"}, "messages": [joined]})
            claimed = _checked(lambda: self.desk.claim(ticket_id, operator, str(joined.content),
                                                       {"message_id": joined.id}))
        self._wake(ticket.thread)
        return claimed

    async def operator_reply(self, thread_id: str, operator: str, text: str) -> DeskEvent:
        """A message from the claiming operator to the customer, in the thread's history and live on its stream."""
        text = _clean(text)
        async with self.leases.hold(thread_id):
            values = (await self.graph.aget_state(_config(thread_id))).values
            if not values:
                raise ThreadNotFoundError(f"no thread {thread_id!r}")
            ticket = self._claimed_on(thread_id, operator)
            message = operator_message(text, operator)
            await self._add_messages(thread_id, [message], values)
            logged = self.desk.log(ticket.id, "operator_message", operator, text, {"message_id": message.id})
        metrics.operator_action("message")
        self._wake(thread_id)
        return _desk_event(logged)

    async def internal_note(self, ticket_id: int, operator: str, text: str) -> DeskEvent:
        """A note on the ticket for colleagues; the customer never sees it."""
        ticket = self._ticket(ticket_id)
        logged = self.desk.log(ticket_id, "internal_note", operator, _clean(text))
        metrics.operator_action("note")
        self._wake(ticket.thread)
        return _desk_event(logged)

    async def operator_read(self, ticket_id: int, operator: str, tool: str, arguments: Mapping[str, Any]
                            ) -> tuple[bool, str]:
        """Run a read tool for the ticket's customer (their own orders only); (ok, the tool's result)."""
        ticket = self._ticket(ticket_id)
        if (problem := validate_call(tool, dict(arguments), _READ_TOOLS)) is not None:
            raise InvalidInputError(problem.removeprefix("Error: "))
        outcome = await off_loop(self.guarded.read, tool, dict(arguments), ticket.customer)
        self.desk.log(ticket_id, "operator_read", operator, outcome.text(),
                      {"tool": tool, "arguments": dict(arguments), "ok": outcome.ok})
        metrics.operator_action("read")
        return outcome.ok, outcome.text()

    async def propose_write(self, ticket_id: int, operator: str, tool: str, arguments: Mapping[str, Any]
                            ) -> DeskEvent:
        """Propose a write for the ticket's customer; it runs only when they say yes (as the agent's own do)."""
        ticket = self._ticket(ticket_id)
        arguments = dict(arguments)
        if (problem := validate_call(tool, arguments, _WRITE_TOOLS)) is not None:
            raise InvalidInputError(problem.removeprefix("Error: "))
        refusal = self.guarded.ownership_error(tool, arguments, ticket.customer) or await off_loop(
            dry_run, self.store, tool, arguments)
        if refusal:
            raise InvalidInputError(f"the store would refuse it: {refusal.removeprefix('Error: ')}")
        summary = summarize_write(self.store, tool, arguments)
        async with self.leases.hold(ticket.thread):
            self._claimed_on(ticket.thread, operator, ticket_id)
            values = (await self.graph.aget_state(_config(ticket.thread))).values
            if values.get("pending_confirmation"):
                raise TicketConflictError("a proposal already waits for the customer's answer")
            message = operator_message(summary, operator)
            pending = {"tool_call_id": new_call_id(), "tool": tool, "arguments": arguments, "summary": summary}
            await self.graph.aupdate_state(_config(ticket.thread), {"messages": [message],
                                                                     "pending_confirmation": pending},
                                           as_node="begin_turn")
            await self._until_paused(ticket.thread)
            logged = self.desk.log(ticket_id, "proposal", operator, summary,
                                   {"tool": tool, "arguments": arguments, "tool_call_id": pending["tool_call_id"],
                                    "message_id": message.id})
        metrics.operator_action("proposal")
        self._wake(ticket.thread)
        return _desk_event(logged)

    async def hand_back(self, ticket_id: int, operator: str, summary: str) -> TicketRecord:
        """Give the conversation back to the agent, at the order desk (intake if the customer is not identified),
        with the operator's summary of what they did, which the agent sees from now on."""
        summary = _clean(summary)
        ticket = self._ticket(ticket_id)
        async with self.leases.hold(ticket.thread):
            _checked(lambda: self.desk.require_claimed_by(ticket_id, operator))
            text = replies()["handed_back"].format(operator=operator)
            values = (await self.graph.aget_state(_config(ticket.thread))).values
            # The orders the person names are the ones under discussion now ("the refund she gave me").
            named = [o for o in order_ids_in(summary) if o not in values.get("orders_in_focus", [])]
            await self._release(ticket.thread, ticket_id, text, {
                "handback": {"ticket_id": ticket_id, "operator": operator, "summary": summary,
                             "turn": values.get("turn", 0)},
                "orders_in_focus": [*values.get("orders_in_focus", []), *named]}, values,
                reason=f"handed back by {operator}")
            done = _checked(lambda: self.desk.hand_back(ticket_id, operator, summary, text))
        metrics.operator_action("hand_back")
        self._wake(ticket.thread)
        return done

    async def close_ticket(self, ticket_id: int, operator: str, note: str | None = None) -> TicketRecord:
        """Close the case (open, or claimed by this operator); the customer may go on with the agent. Closing a
        closed (or handed back) ticket changes nothing."""
        ticket = self._ticket(ticket_id)
        async with self.leases.hold(ticket.thread):
            ticket = self._ticket(ticket_id)
            if ticket.status == "claimed" and ticket.claimed_by != operator:
                raise TicketConflictError(f"ticket #{ticket_id} is claimed by {ticket.claimed_by}")
            text = replies()["ticket_closed"].format(ticket_id=ticket_id)
            if ticket.status in ACTIVE or ticket.status == "closed":  # closed: finish a close cut short
                values = (await self.graph.aget_state(_config(ticket.thread))).values
                await self._release(ticket.thread, ticket_id, text, {}, values, reason=f"ticket closed by {operator}")
            note = strip_control_tokens(clean_text(note or "")).strip() or None
            closed = self.desk.close(ticket_id, note, operator=operator, said=text)
            assert closed is not None  # tickets are never deleted
            if ticket.status in ACTIVE:
                metrics.operator_action("close")
        self._wake(ticket.thread)
        return closed

    # --- the live feed ----------------------------------------------------------------------------------
    async def follow(self, thread_id: str, *, audience: Literal["customer", "operator"], after: int | None = None,
                     idle_seconds: float = 25.0) -> AsyncIterator[DeskEvent]:
        """The desk's events of a thread as they happen, after the log row ``after`` (None: from now on), until
        nothing happened for ``idle_seconds``. A customer's feed carries only what the customer may see."""
        cursor = self.desk.last_event_id(thread_id) if after is None else after
        wakeup = asyncio.Event()
        self._desk_wakeups.setdefault(thread_id, set()).add(wakeup)
        try:
            deadline = time.monotonic() + idle_seconds
            while time.monotonic() < deadline:
                try:
                    rows = self.desk.events_after(thread_id, cursor, customer_only=audience == "customer")
                except sqlite3.OperationalError:  # the database is busy or locked for a moment: look again
                    rows = []
                for row in rows:
                    cursor = row.id
                    yield _desk_event(row)
                if rows:
                    deadline = time.monotonic() + idle_seconds
                wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), min(POLL_SECONDS, max(deadline - time.monotonic(), 0)))
        finally:
            self._desk_wakeups[thread_id].discard(wakeup)
            if not self._desk_wakeups[thread_id]:
                del self._desk_wakeups[thread_id]

    # --- internals --------------------------------------------------------------------------------------
    def _wake(self, thread_id: str) -> None:
        for wakeup in self._desk_wakeups.get(thread_id, ()):
            wakeup.set()

    def _ticket(self, ticket_id: int) -> TicketRecord:
        ticket = self.desk.get(ticket_id)
        if ticket is None:
            raise TicketNotFoundError(f"no ticket #{ticket_id}")
        return ticket

    def _claimed_on(self, thread_id: str, operator: str, ticket_id: int | None = None) -> TicketRecord:
        """The thread's active ticket, which ``operator`` must hold."""
        ticket = self.desk.active_for_thread(thread_id)
        if ticket is None or (ticket_id is not None and ticket.id != ticket_id):
            raise TicketConflictError("no person has this conversation: it has no open ticket")
        return _checked(lambda: self.desk.require_claimed_by(ticket.id, operator))

    async def _edit(self, thread_id: str, values: dict[str, Any], as_node: str = "restore") -> None:
        await self.graph.aupdate_state(_config(thread_id), values, as_node=as_node)

    async def _add_messages(self, thread_id: str, messages: list[AIMessage], values: dict[str, Any]) -> None:
        """Add to the history (``values``: the thread's state now). While a proposal waits for its answer, the
        thread is paused again at it afterwards (an edit ends the pause it was written over)."""
        if values.get("pending_confirmation"):
            await self._edit(thread_id, {"messages": messages}, as_node="begin_turn")
            await self._until_paused(thread_id)
        else:
            await self._edit(thread_id, {"messages": messages})

    async def _until_paused(self, thread_id: str) -> None:
        """Run the thread up to the interrupt of the pending proposal (nothing else runs: it is the next node)."""
        async for _ in self.graph.astream(None, _config(thread_id), stream_mode="updates"):
            pass

    async def _release(self, thread_id: str, ticket_id: int, text: str, extra: dict[str, Any],
                       values: dict[str, Any], *, reason: str) -> None:
        """The person is done: the agent has the conversation again (if this ticket still holds it; ``values``: the
        thread's state now)."""
        if (values.get("ticket") or {}).get("id") != ticket_id:
            return
        target = Stage.ORDER_DESK if values.get("customer_id") else Stage.INTAKE
        await self._edit(thread_id, {
            "messages": [AIMessage(text)], "ticket": None, "pending_confirmation": None, "escalation_reason": None,
            "misunderstanding_streak": 0, "tool_error_streak": 0, "tasks": [], "awaiting": None, "asked": {},
            **extra, **move_stage(values, target, reason)})


def _config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def _clean(text: str) -> str:
    text = strip_control_tokens(clean_text(text)).strip()
    if not text:
        raise InvalidInputError("the text is empty")
    return text


def _checked(action: Any) -> Any:
    """Run a desk action, with its refusals as the runtime's errors."""
    try:
        return action()
    except LookupError as exc:
        raise TicketNotFoundError(str(exc)) from exc
    except TicketError as exc:
        raise TicketConflictError(str(exc)) from exc


def _desk_event(row: TicketEvent) -> DeskEvent:
    return DeskEvent(action=row.kind, ticket_id=row.ticket_id, author=row.author, text=row.text, feed_id=row.id,
                     message_id=row.data.get("message_id"))
