"""The operator desk in the web UI (an operator's "Operator desk" chat profile): the ticket queue, a ticket's whole
conversation and log, and what the operator does with it. Thin: every action is one runtime call
(``agent.runtime.desk``); refusals (claimed by someone else, a turn running) become notices.

In the desk a typed message is a reply to the customer of the open ticket; commands do the rest:
``/note <text>`` (internal), ``/read <tool> <json arguments>``, ``/propose <tool> <json arguments>``,
``/handback <summary>``, ``/close [note]``, ``/queue``.
"""

from __future__ import annotations

import json
from typing import Any

import chainlit as cl

from agent.runtime import DeskEvent, SupportRuntime, TurnRefusedError
from agent.runtime.export import export_thread
from agent.runtime.transcript import entry_line
from graphs.tickets import TicketRecord
from ui import live

#: The chat profile that opens the desk (operators only).
DESK_PROFILE = "Operator desk"
AUTHOR = "Desk"

OPEN_ACTION, CLAIM_ACTION, CLOSE_ACTION, QUEUE_ACTION = "desk_open", "desk_claim", "desk_close", "desk_queue"
HAND_BACK_ACTION = "desk_hand_back"
#: The user-session keys: the ticket open in the desk, and the task following its thread.
TICKET_KEY, FOLLOW_KEY = "desk_ticket", "desk_follow"

HELP = ("Type to reply to the customer (they see your name). Commands: `/note <text>` internal note · "
        "`/read <tool> <json>` run a read tool for the customer · `/propose <tool> <json>` propose a change the "
        "customer confirms · `/handback <summary>` give the conversation back to the assistant · "
        "`/close [note]` close the case · `/queue` the queue.")

_RESULT_CHARS = 400


def _waiting(seconds: int) -> str:
    minutes, _ = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _cell(text: str, limit: int = 80) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= limit else text[:limit - 1] + "…"


async def show_queue(runtime: SupportRuntime) -> None:
    """The tickets a person still has to act on, oldest first, each with a button to open it."""
    tickets = sorted(runtime.tickets("active"), key=lambda t: t.id)
    if not tickets:
        await cl.Message(content="**Ticket queue**: nothing is waiting.", author=AUTHOR,
                         actions=[cl.Action(name=QUEUE_ACTION, payload={}, label="Refresh", icon="refresh-cw")]).send()
        return
    rows = ["| # | customer | reason | summary | waiting | claimed by | 👍 / 👎 |", "|---|---|---|---|---|---|---|"]
    for t in tickets:
        up, down = runtime.feedback.counts(t.thread)
        rows.append(f"| {t.id} | {t.customer or '-'} | {_cell(t.reason, 40)} | {_cell(t.summary)} | "
                    f"{_waiting(t.waiting_seconds)} | {t.claimed_by or '-'} | {up} / {down} |")
    actions = [cl.Action(name=OPEN_ACTION, payload={"ticket": t.id}, label=f"Open #{t.id}") for t in tickets]
    actions.append(cl.Action(name=QUEUE_ACTION, payload={}, label="Refresh", icon="refresh-cw"))
    await cl.Message(content=f"**Ticket queue** ({len(tickets)})\n\n" + "\n".join(rows), author=AUTHOR,
                     actions=actions).send()


async def open_ticket(runtime: SupportRuntime, ticket_id: int) -> None:
    """Show the ticket, its whole conversation (tool calls, stage changes, confirmations) and its log; follow the
    thread live from here on."""
    ticket = runtime.ticket(ticket_id)
    if ticket is None:
        await notice(f"There is no ticket #{ticket_id}.")
        return
    cl.user_session.set(TICKET_KEY, ticket_id)
    transcript = await export_thread(runtime.graph, ticket.thread)
    lines = [f"- {_cell(entry_line(e), _RESULT_CHARS)}" for e in transcript.entries]
    up, down = runtime.feedback.counts(ticket.thread)
    await cl.Message(content=_header(ticket, up, down), author=AUTHOR, actions=_ticket_actions(ticket)).send()
    await cl.Message(content=f"**Conversation** (thread `{ticket.thread}`)\n\n" + "\n".join(lines),
                     author=AUTHOR).send()
    log = [f"- {e.created} **{e.kind.replace('_', ' ')}** by {e.author}: {_cell(e.text, _RESULT_CHARS)}"
           for e in ticket.events]
    if log:
        await cl.Message(content="**Ticket log**\n\n" + "\n".join(log), author=AUTHOR).send()
    await cl.Message(content=HELP, author=AUTHOR).send()
    follow(runtime, ticket.thread)


def _header(ticket: TicketRecord, up: int, down: int) -> str:
    claimed = f", claimed by {ticket.claimed_by}" if ticket.claimed_by else ""
    return (f"**Ticket #{ticket.id}** ({ticket.status.replace('_', ' ')}{claimed}) · customer "
            f"{ticket.customer or 'not identified'} · waiting {_waiting(ticket.waiting_seconds)} · "
            f"ratings 👍 {up} / 👎 {down}\n\n**Reason:** {ticket.reason}\n\n**Summary:** {ticket.summary}")


def _ticket_actions(ticket: TicketRecord) -> list[cl.Action]:
    actions = []
    if ticket.status == "open":
        actions.append(cl.Action(name=CLAIM_ACTION, payload={"ticket": ticket.id}, label="Claim", icon="hand"))
    if ticket.status == "claimed":
        actions.append(cl.Action(name=HAND_BACK_ACTION, payload={"ticket": ticket.id}, label="Hand back",
                                 icon="undo-2"))
    if ticket.status in ("open", "claimed"):
        actions.append(cl.Action(name=CLOSE_ACTION, payload={"ticket": ticket.id}, label="Close", icon="check"))
    actions.append(cl.Action(name=QUEUE_ACTION, payload={}, label="Queue", icon="list"))
    return actions


def follow(runtime: SupportRuntime, thread_id: str) -> None:
    """Show the thread's desk events in this session as they happen (the customer's messages to the person, a
    colleague's actions), until another ticket is opened or the session ends."""
    live.follow(FOLLOW_KEY, runtime, thread_id, "operator", _show)


def stop_following() -> None:
    live.stop(FOLLOW_KEY)


async def _show(event: DeskEvent) -> None:
    if event.action == "customer_message":
        await cl.Message(content=f"**Customer:** {event.text}", author="Customer").send()
    elif event.action == "proposal_answered":
        await cl.Message(content=f"The customer answered the proposal: {event.text}", author=AUTHOR).send()


async def notice(text: str) -> None:
    await cl.Message(content=text, author=AUTHOR).send()


async def claim(runtime: SupportRuntime, operator: str, ticket_id: int) -> None:
    ticket = await _refusing(runtime.claim_ticket(ticket_id, operator))
    if ticket is not None:
        cl.user_session.set(TICKET_KEY, ticket_id)
        await cl.Message(content=f"You have claimed ticket #{ticket_id}. {HELP}", author=AUTHOR,
                         actions=_ticket_actions(ticket)).send()


async def hand_back_asking(runtime: SupportRuntime, operator: str, ticket_id: int) -> None:
    """The Hand back button: ask for the summary the assistant will read, then hand the conversation back."""
    answer = await cl.AskUserMessage(content="What did you do for the customer? The assistant reads this summary "
                                     "when it takes the conversation back.", author=AUTHOR, timeout=900).send()
    summary = str((answer or {}).get("output") or "").strip()
    if not summary:
        await notice("Not handed back: no summary was given.")
        return
    await hand_back(runtime, operator, ticket_id, summary)


async def hand_back(runtime: SupportRuntime, operator: str, ticket_id: int, summary: str) -> None:
    if await _refusing(runtime.hand_back(ticket_id, operator, summary)) is not None:
        await notice(f"Ticket #{ticket_id} is handed back to the assistant.")
        await show_queue(runtime)


async def close(runtime: SupportRuntime, operator: str, ticket_id: int, note: str | None = None) -> None:
    ticket = await _refusing(runtime.close_ticket(ticket_id, operator, note))
    if ticket is not None:
        await notice(f"Ticket #{ticket_id} is {ticket.status.replace('_', ' ')}.")
        await show_queue(runtime)


async def command(runtime: SupportRuntime, operator: str, text: str) -> None:
    """A typed message in the desk: a reply to the customer, or one of the commands."""
    ticket_id: int | None = cl.user_session.get(TICKET_KEY)
    name, _, rest = text.strip().partition(" ")
    if name == "/queue":
        await show_queue(runtime)
        return
    if ticket_id is None:
        await notice("Open a ticket from the queue first.")
        await show_queue(runtime)
        return
    ticket = runtime.ticket(ticket_id)
    assert ticket is not None  # opened from the queue; tickets are never deleted
    rest = rest.strip()
    if name == "/note" and rest:
        await _refusing(runtime.internal_note(ticket_id, operator, rest))
        await notice("Note added (the customer does not see it).")
    elif name in ("/read", "/propose"):
        parsed = _tool_and_arguments(rest)
        if parsed is None:
            await notice(f"Usage: `{name} <tool> <json arguments>`, e.g. "
                         f'`{name} get_order_details {{"order_id": "#W1234567"}}`.')
            return
        if name == "/read":
            result = await _refusing(runtime.operator_read(ticket_id, operator, *parsed))
            if result is not None:
                ok, output = result
                await cl.Message(content=f"**{parsed[0]}** {'ok' if ok else 'failed'}\n```json\n{output}\n```",
                                 author=AUTHOR).send()
        elif await _refusing(runtime.propose_write(ticket_id, operator, *parsed)) is not None:
            await notice("Proposed; it runs when the customer says yes.")
    elif name == "/handback" and rest:
        await hand_back(runtime, operator, ticket_id, rest)
    elif name == "/close":
        await close(runtime, operator, ticket_id, rest or None)
    elif name.startswith("/"):
        await notice(HELP)
    elif await _refusing(runtime.operator_reply(ticket.thread, operator, text)) is not None:
        await notice(f"Sent to {ticket.customer or 'the customer'}.")


def _tool_and_arguments(rest: str) -> tuple[str, dict[str, Any]] | None:
    tool, _, raw = rest.partition(" ")
    try:
        arguments = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return None
    return (tool, arguments) if tool and isinstance(arguments, dict) else None


async def _refusing(call: Any) -> Any:
    """Await a desk action; a refusal (claimed by someone else, not claimed yet, a turn running, bad input) is
    shown as a notice and gives None."""
    try:
        return await call
    except TurnRefusedError as exc:
        await notice(f"Not done: {exc}")
        return None
