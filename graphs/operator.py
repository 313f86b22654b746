"""The person's side of a hand-over, as the graph sees it (both dialogues).

While a person has the case the agent does not answer: the customer's messages go to the ticket. A write the
person proposes waits for the customer's yes or no exactly as the agent's own proposals do (an interrupt, the
same confirmation buttons and endpoint) and runs through the same write ledger, once.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.runnables import RunnableConfig

from graphs.blocking import off_loop
from graphs.confirmations import await_answer
from graphs.dialogue import message_text, thread_of
from graphs.state import SupportState
from graphs.tickets import TicketDesk
from graphs.tool_layer import GuardedTools
from prompts import replies

#: ``response_metadata`` key naming the person who wrote a message (the agent's own messages lack it).
OPERATOR_KEY = "operator"


def operator_message(text: str, operator: str) -> AIMessage:
    """A message a person wrote to the customer, in the conversation's history (with a fixed id: the desk's log
    and the web UI refer to it)."""
    return AIMessage(content=text, id=f"op-{uuid.uuid4().hex}", name="operator",
                     response_metadata={OPERATOR_KEY: operator})


def operator_of(message: AnyMessage) -> str | None:
    """The person who wrote this message, or None for the agent's and the customer's own."""
    if not isinstance(message, AIMessage):
        return None
    return (message.response_metadata or {}).get(OPERATOR_KEY)


def after_handover(state: SupportState) -> Literal["operator_confirm", "handover_note"]:
    """A handed-over thread: a proposal of the person waits for its answer, else the message is a note for them."""
    return "operator_confirm" if state.get("pending_confirmation") else "handover_note"


#: For how many customer messages after a hand-back the flows' reading is told of it (the answers' prompts always
#: are): long enough for "what did your colleague do?", short enough that it stops costing uncached tokens.
RECENT_TURNS = 3


def recent_handback(state: SupportState) -> str | None:
    """The person's summary, for the reading, while the hand-back is recent (None otherwise)."""
    handback = state.get("handback")
    if not handback or state.get("turn", 0) - handback.get("turn", 0) > RECENT_TURNS:
        return None
    return f"A colleague handled this case before and handed it back: {handback['summary'][:300]}"


def handback_context(state: SupportState) -> str:
    """What the agent is told about the person's part, once the conversation is back with it ('' when none)."""
    handback = state.get("handback")
    if not handback:
        return ""
    return (f"A colleague, {handback['operator']}, handled this case (ticket #{handback['ticket_id']}) and handed it "
            f"back to you. Their summary of what they did: {handback['summary']}")


class OperatorSteps:
    """The hand-over's nodes, bound to the guarded store and the ticket desk."""

    def __init__(self, guarded: GuardedTools, desk: TicketDesk) -> None:
        self.guarded = guarded
        self.desk = desk

    async def confirm(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """Wait for the customer's answer to the person's proposal; a yes runs the write (once, by its call id)."""
        pending = state["pending_confirmation"]
        ticket = state["ticket"]
        answer = await_answer(pending)
        decision, said, messages = answer.decision, answer.said, answer.messages
        update: dict[str, Any] = {"pending_confirmation": None}
        if decision != "yes":
            if decision is None and said:  # neither yes nor no: a message for the person, as any other
                await off_loop(self.desk.add_note, ticket["id"], key=str(uuid.uuid4()), text=said)
            text = replies()["operator_declined" if decision == "no" else "operator_not_confirmed"]
            await off_loop(self.desk.log, ticket["id"], "proposal_answered", "customer", said or "no",
                                    {"tool": pending["tool"], "done": False})
            return update | {"messages": [*messages, AIMessage(text)]}
        outcome = await off_loop(
            lambda: self.guarded.write(tool_call_id=pending["tool_call_id"], thread=thread_of(config),
                                       name=pending["tool"], args=pending["arguments"],
                                       customer_id=state.get("customer_id")))
        call = AIMessage(content="", tool_calls=[{"name": pending["tool"], "args": pending["arguments"],
                                                  "id": pending["tool_call_id"], "type": "tool_call"}])
        result = ToolMessage(content=outcome.text(), tool_call_id=pending["tool_call_id"], name=pending["tool"],
                             status="success" if outcome.ok else "error")
        text = (replies()["operator_write_done"] if outcome.ok
                else replies()["operator_write_failed"].format(why=outcome.error))
        await off_loop(self.desk.log, ticket["id"], "proposal_answered", "customer", said or "yes",
                                {"tool": pending["tool"], "done": outcome.ok, "result": outcome.text()})
        return update | {"messages": [*messages, call, result, AIMessage(text)]}


def acknowledge_note(desk: TicketDesk, state: SupportState) -> dict[str, Any]:
    """After hand-over: append the customer's message to the ticket. Acknowledged while nobody has claimed the
    case; once a person has, they answer themselves."""
    ticket = state["ticket"]
    last = state["messages"][-1]
    desk.add_note(ticket["id"], key=str(last.id), text=message_text(last))
    if ticket.get("status") == "claimed":
        return {}
    return {"messages": [AIMessage(content=replies()["handover_ack"].format(ticket_id=ticket["id"]))]}
