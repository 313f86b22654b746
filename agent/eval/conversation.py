"""Drives one conversation between a customer and the real runtime, recording what a scorer and a reader need."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from agent.eval.customer import Customer
from agent.eval.records import EndedBy
from agent.runtime import (
    ConfirmationRequested,
    ErrorEvent,
    Event,
    HandedOver,
    Reply,
    StageChanged,
    SupportRuntime,
    Token,
    ToolCalled,
    ToolResult,
)

#: Tool results are cut to this many characters in transcripts (full results stay in the checkpoints).
_RESULT_CHARS = 400


@dataclass
class Conversation:
    """Everything one conversation showed: transcript, agent texts, timing, how it ended."""

    transcript: list[dict[str, Any]] = field(default_factory=list)
    agent_texts: list[str] = field(default_factory=list)
    """Replies and confirmation texts: what the customer was shown."""
    stages: list[str] = field(default_factory=list)
    turns: int = 0
    turn_latencies: list[float] = field(default_factory=list)
    first_token_latencies: list[float] = field(default_factory=list)
    handed_over: bool = False
    error: str | None = None
    turn_limit: bool = False
    ended_by: EndedBy | None = None
    reply_ids: set[str] = field(default_factory=set)
    """Ids of the agent messages already shown: a node update that carries earlier messages again (a subgraph
    returns its whole message list) must not make them part of a later reply."""


@dataclass
class _Turn:
    reply: str = ""
    """The agent's last reply: the text of its messages since the customer's last message, and nothing earlier.
    Follow-up rules and the simulated customer answer this, never an earlier question."""
    confirmation: ConfirmationRequested | None = None


async def converse(runtime: SupportRuntime, thread: str, customer: Customer, max_turns: int) -> Conversation:
    """Run the conversation until the customer has nothing more to say, a hand-over, an error or the turn limit."""
    convo = Conversation()
    text = customer.opening()
    convo.transcript.append({"turn": 1, "role": "customer", "text": text})
    stream: AsyncIterator[Event] = runtime.send(thread, text)
    while True:
        convo.turns += 1
        turn = await _consume(stream, convo)
        if convo.error or convo.handed_over:
            convo.ended_by = "error" if convo.error else "hand_over"
            return convo
        if turn.confirmation is not None:
            approved = customer.confirm("\n".join(t for t in (turn.reply, turn.confirmation.summary) if t))
            answer: str | None = "yes" if approved else "no"
        else:
            answer = await customer.next_message(turn.reply)
            approved = None
        if answer is None:
            convo.ended_by = "customer"
            return convo
        if convo.turns >= max_turns:
            # The customer still had something to say: the agent did not finish in time.
            convo.turn_limit = True
            convo.ended_by = "turn_limit"
            return convo
        entry: dict[str, Any] = {"turn": convo.turns + 1, "role": "customer", "text": answer}
        if approved is not None:
            entry["confirmation"] = True
            stream = runtime.answer_confirmation(thread, approved)
        else:
            stream = runtime.send(thread, answer)
        convo.transcript.append(entry)


async def _consume(stream: AsyncIterator[Event], convo: Conversation) -> _Turn:
    """One agent turn: record its events and timing."""
    turn = _Turn()
    replies: list[str] = []
    start = time.perf_counter()
    first_token: float | None = None
    n = convo.turns
    async for event in stream:
        if isinstance(event, Token):
            if first_token is None:
                first_token = time.perf_counter() - start
            continue
        if isinstance(event, Reply):
            if event.message_id is not None:
                if event.message_id in convo.reply_ids:
                    continue
                convo.reply_ids.add(event.message_id)
            replies.append(event.text)
            convo.agent_texts.append(event.text)
            convo.transcript.append({"turn": n, "role": "agent", "stage": event.stage, "text": event.text})
        elif isinstance(event, ToolCalled):
            convo.transcript.append({"turn": n, "role": "tool_call", "name": event.name,
                                     "arguments": event.arguments})
        elif isinstance(event, ToolResult):
            convo.transcript.append({"turn": n, "role": "tool_result", "name": event.name, "ok": event.ok,
                                     "result": event.result[:_RESULT_CHARS]})
        elif isinstance(event, StageChanged):
            if not convo.stages:
                convo.stages.append(event.source)
            convo.stages.append(event.target)
            convo.transcript.append({"turn": n, "role": "stage", "source": event.source, "target": event.target,
                                     "reason": event.reason})
        elif isinstance(event, ConfirmationRequested):
            turn.confirmation = event
            convo.agent_texts.append(event.summary)
            convo.transcript.append({"turn": n, "role": "confirmation", "tool": event.tool,
                                     "arguments": event.arguments, "text": event.summary})
        elif isinstance(event, HandedOver):
            convo.handed_over = True
            convo.transcript.append({"turn": n, "role": "handed_over", "ticket_id": event.ticket_id,
                                     "reason": event.reason})
        elif isinstance(event, ErrorEvent):
            convo.error = f"{event.message} ({event.detail})"
            convo.transcript.append({"turn": n, "role": "error", "text": event.message, "detail": event.detail})
    convo.turn_latencies.append(time.perf_counter() - start)
    if first_token is not None:
        convo.first_token_latencies.append(first_token)
    turn.reply = "\n".join(replies)
    return turn
