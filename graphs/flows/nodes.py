"""Nodes of the flows dialogue: code drives the process; the model only reads messages (and answers questions).

Every node is a small function of (state, config) returning a partial update. The task flows themselves
(``flow_step``, ``confirm``, ``execute``) are compiled as one subgraph per task in ``graphs.flows.graph``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.runnables import RunnableConfig

from graphs.blocking import off_loop
from graphs.budget import recent_window
from graphs.confirmations import await_answer
from graphs.dialogue import (
    GraphOptions,
    message_text,
    move_stage,
    new_call_id,
    thread_of,
    tool_pair,
)
from graphs.flows.asking import choice_update, chosen, repeated, slot_kind
from graphs.flows.customer import CustomerView
from graphs.flows.evaluate import expand_scope, instead_of, with_alternatives
from graphs.flows.outcomes import done_text
from graphs.flows.plan import fold, names_no_order, refers_back
from graphs.flows.render import say
from graphs.flows.steps import next_step, product_info_text
from graphs.flows.text import sentences
from graphs.flows.truth import unsupported_claims
from graphs.flows.understand import understand
from graphs.operator import acknowledge_note, handback_context, recent_handback
from graphs.prefetch import find_order_ids
from graphs.prompting import persona_text
from graphs.state import Stage, SupportState
from graphs.tickets import TicketDesk
from graphs.tool_layer import GuardedTools
from graphs.understanding import Task
from prompts import load_prompt, replies


def _last_customer_text(state: SupportState) -> str:
    for message in reversed(state["messages"]):
        if isinstance(message, HumanMessage):
            return message_text(message)
    return ""


def dialogue_context(state: SupportState) -> str | None:
    """What the reading should know of the dialogue: the active request, what it has so far, our question."""
    frames = state.get("tasks") or []
    if not frames:
        return recent_handback(state)
    said = frames[0]["said"]
    known = [key for key in ("order_ids", "order_hint", "items", "reason", "payment", "address") if said.get(key)]
    # Short: these tokens are new on every turn (not prefix-cached), and each costs first-token time.
    line = f"Request: {frames[0]['task']}" + (f" (known: {', '.join(known)})" if known else "")
    if state.get("awaiting"):
        line += f"; asked for: {slot_kind(state['awaiting'])}"
    return line + "."


def _has_status_said(view: CustomerView, order_id: str, said: dict[str, Any]) -> bool:
    """Whether the order has the status the request selects by (or it selects by none): a question for the orders
    of one status, right after an order of another status, is not about that order."""
    status = said.get("order_status")
    return not status or (view.orders.get(order_id) or {}).get("status") == status


def _last_agent_reply(state: SupportState) -> str | None:
    seen_customer = False
    for message in reversed(state["messages"]):
        if isinstance(message, HumanMessage):
            if seen_customer:
                return None
            seen_customer = True
        elif seen_customer and isinstance(message, AIMessage) and not message.tool_calls and message_text(message).strip():
            return message_text(message)
    return None


class FlowNodes:
    """The flows dialogue's nodes, bound to the model, the guarded store and the ticket desk."""

    def __init__(self, model: BaseChatModel, guarded: GuardedTools, desk: TicketDesk, options: GraphOptions):
        self.model = model
        self.guarded = guarded
        self.desk = desk
        self.options = options

    # --- the turn ------------------------------------------------------------------------------------
    def begin_turn(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """Count the turn; a new thread starts at intake with the default persona."""
        update: dict[str, Any] = {"turn": state.get("turn", 0) + 1, "turn_model_calls": 0, "reinterpret": None}
        if "stage" not in state:
            update |= {"stage": Stage.INTAKE.value, "stage_history": [], "orders_in_focus": [], "tasks": [],
                       "persona": state.get("persona") or self.options.default_persona}
        return update

    async def understand(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """Read the customer's message into an Understanding (model under a JSON schema + code's reads)."""
        text = state.get("reinterpret") or _last_customer_text(state)
        if not state.get("reinterpret") and state.get("awaiting") and (picked := chosen(text, state.get("choices", []))):
            # "2" or "the second one" answers a numbered question exactly: no model needed.
            choice_id, label = picked
            if find_order_ids(choice_id) == [choice_id]:
                return {"understanding": {"order_ids": [choice_id]}, "reinterpret": None}
            return {"understanding": {}, "reinterpret": label}
        last_reply = None if state.get("reinterpret") else _last_agent_reply(state)
        understood, asked_model = await understand(self.model, text, last_reply, config,
                                                   context=dialogue_context(state))
        calls = state.get("turn_model_calls", 0) + (1 if asked_model else 0)
        return {"understanding": understood.model_dump(mode="json", exclude_defaults=True),
                "turn_model_calls": calls}

    async def plan(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """Identify the customer when the message allows it, and queue the tasks and details it gave.

        Runs on the loop, and only its store lookups leave it (most messages need none): under load a thread hop
        costs more CPU than the node's own code (the GIL changes hands twice while every other turn waits)."""
        from graphs.understanding import Understanding

        u = Understanding.model_validate(state.get("understanding") or {})
        text = state.get("reinterpret") or _last_customer_text(state)
        update: dict[str, Any] = {"reinterpret": None}
        messages: list[AnyMessage] = []
        if not state.get("customer_id"):
            messages += await self._identify(state, u, update)
        folded = fold(state.get("tasks", []), state.get("awaiting"), u, text)
        update["tasks"] = folded.frames
        frames = folded.frames
        if folded.dropped:
            messages.append(AIMessage(say("declined_next")))
            update["awaiting"] = None
        if Task.HUMAN in u.tasks:
            update |= {"escalation_reason": "the customer asked for a human",
                       **move_stage(state, Stage.ESCALATION, "the customer asked for a human")}
        elif not update.get("customer_id", state.get("customer_id")) and not messages:
            # Nothing to look up yet: ask for identification (any request stays queued), for what is missing.
            known = update.get("identity_said", {})
            if known.get("first_name") and not known.get("zip"):
                messages.append(AIMessage(say("ask_zip")))
            elif state.get("awaiting") == "identity":
                messages.append(AIMessage(say("ask_identity_name_zip")))
            elif frames or (u.tasks and not await self._catalogue_question(u, text)):
                messages.append(AIMessage(say("ask_identity")))
            if messages or state.get("awaiting") == "identity":
                update["awaiting"] = "identity"
        return update | {"messages": messages}

    async def _catalogue_question(self, u: Any, text: str) -> bool:
        """Only a question the catalogue answers ("which colours does the <product> come in?"): no account needed."""
        if list(u.tasks) != [Task.QUESTION]:
            return False
        return await off_loop(product_info_text, self.guarded.store, text) is not None

    async def _identify(self, state: SupportState, u: Any, update: dict[str, Any]) -> list[AnyMessage]:
        """Look up the email, or name + zip, the customer gave; a failure is explained, the request kept."""
        # Name and zip may come in separate messages: what was said is kept until the lookup can run.
        said = {**state.get("identity_said", {}),
                **{k: getattr(u, k) for k in ("first_name", "last_name", "zip") if getattr(u, k)}}
        update["identity_said"] = said
        if u.email:
            lookup, args, how = "find_user_id_by_email", {"email": u.email}, "email"
        elif said.get("first_name") and said.get("last_name") and said.get("zip"):
            lookup, args, how = ("find_user_id_by_name_zip", {k: said[k] for k in ("first_name", "last_name", "zip")},
                                 "name_zip")
        else:
            return []
        outcome, first_name = await off_loop(self._look_up, lookup, args)
        if not outcome.ok:
            key = "identity_email_not_found" if how == "email" else "identity_name_not_found"
            update["awaiting"] = "identity"
            return [*tool_pair(lookup, args, outcome.text(), ok=False), AIMessage(say(key, **args))]
        result = str(outcome.value)
        update |= {"customer_id": result, "verified_by": how, "awaiting": None,
                   **move_stage(state, Stage.ORDER_DESK, f"customer identified by {how.replace('_', ' + ')}")}
        return [*tool_pair(lookup, args, result), AIMessage(say("identified", first_name=first_name))]

    def _look_up(self, lookup: str, args: dict[str, str]) -> tuple[Any, str]:
        """The identity lookup's outcome, and the first name of the customer it found (blocking: the store)."""
        outcome = self.guarded.read(lookup, args, None)
        profile = self.guarded.store.user_record(str(outcome.value)) if outcome.ok else None
        return outcome, (profile or {}).get("name", {}).get("first_name", "")

    def idle(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """Identified, nothing queued, no question: offer help (once per turn)."""
        last = state["messages"][-1]
        if isinstance(last, AIMessage) and not last.tool_calls:
            return {"awaiting": None}
        key = "anything_else" if state.get("turn", 0) > 1 else "greet_identified"
        return {"messages": [AIMessage(say(key))], "awaiting": None}

    async def question(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """An open question: product facts from the catalogue by code, otherwise a short model answer."""
        text = _last_customer_text(state)
        known = await off_loop(self._known_answer, state, text)
        if known:
            return {"messages": [AIMessage(known)]}
        system = "\n\n".join([load_prompt("policy"), persona_text(state.get("persona")), load_prompt("question"),
                             handback_context(state)]).rstrip()
        window = recent_window(state["messages"], 1500)
        reply = await self.model.ainvoke([SystemMessage(system), *[m for m in window if not isinstance(m, ToolMessage)
                                                            and not (isinstance(m, AIMessage) and m.tool_calls)]],
                                  config)
        answer = message_text(reply).strip()
        facts = system + "\n" + "\n".join(message_text(m) for m in window)
        if not answer or answer.startswith(("{", "[", "<")) or unsupported_claims(answer, facts):
            # Raw data, or a number / id / status the model made up: the fixed text instead.
            answer = say("not_understood")
        return {"messages": [AIMessage(answer)], "turn_model_calls": state.get("turn_model_calls", 0) + 1}

    def _known_answer(self, state: SupportState, text: str) -> str | None:
        """An open question the catalogue or the customer's account answers (read from the store)."""
        known = product_info_text(self.guarded.store, text, (state.get("understanding") or {}).get("items"))
        if not known and state.get("customer_id"):
            known = CustomerView.load(self.guarded.store, state["customer_id"]).account_text(text)
        return known

    # --- one task flow ---------------------------------------------------------------------------------
    def flow_step(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """The active task's next step: a question, an explanation, an answer, or a write to confirm.

        The request's selectors are evaluated here against the store: a scope over several orders becomes one
        task per order, and conditional alternatives replace the write they are about.
        """
        view = CustomerView.load(self.guarded.store, state["customer_id"])
        queue, note, nothing = expand_scope(list(state["tasks"]), view)
        if nothing is not None:
            return {"messages": [AIMessage(nothing)], "tasks": queue, "awaiting": None, "asked": {}, "choices": []}
        frame = queue[0]
        task = Task(frame["task"])
        step = next_step(task, frame["said"], view)
        focus = state.get("orders_in_focus", [])
        if step.kind == "ask" and step.slot == "order" and focus and (
                refers_back(frame["said"]) or (task is Task.ORDER_INFO and names_no_order(frame["said"])
                                               and _has_status_said(view, focus[-1], frame["said"]))):
            # "<change> it" right after we talked about an order: that order. A question that names no order is
            # about it too (reading an order changes nothing), unless it asks for a status that order lacks.
            step = next_step(task, {**frame["said"], "order_ids": [focus[-1]]}, view)
        task, frame, step = with_alternatives(task, frame, step, view)
        queue[0] = frame
        step = replace(step, text=f"{note} {step.text}".strip()) if note else step
        if step.kind == "answer" and step.args.get("order_id"):
            focus = [*[o for o in focus if o != step.args["order_id"]], step.args["order_id"]]
        if step.kind == "confirm":
            return {"pending_confirmation": {"tool_call_id": new_call_id(), "tool": step.tool, "arguments": step.args,
                                             "summary": step.text}, "awaiting": "confirm", "tasks": queue,
                    "choices": []}
        rest = queue[1:]
        if focus != state.get("orders_in_focus", []):
            return {"messages": [AIMessage(step.text)], "tasks": rest, "awaiting": None, "orders_in_focus": focus,
                    "asked": {}, "choices": []}
        if step.kind == "ask":
            text, asked, give_up = repeated(step, task.value, state.get("asked", {}))
            if give_up:
                # The third time: a person takes over, with a ticket that says what could not be resolved.
                return {"tasks": queue, "awaiting": None, "choices": [], "asked": asked,
                        "escalation_reason": give_up, **move_stage(state, Stage.ESCALATION, give_up)}
            return {"messages": [AIMessage(text)], "awaiting": step.slot, "tasks": queue, "asked": asked,
                    **choice_update(step)}
        if step.kind == "refuse" and (fallback := instead_of(frame)):
            # "If that is not possible, then ...": the stated fallback takes the task's place.
            return {"messages": _once(state, step.text), "tasks": [fallback, *rest], "awaiting": None,
                    "asked": {}, "choices": []}
        text = step.text
        if step.kind == "answer" and _recently_said(state, text):
            # The same answer as our last reply (a restatement such as "yes, that order"): its first sentence and
            # an offer to help further, not the whole of it word for word again.
            text = f"{sentences(text)[0]} {say('anything_else')}"
        return {"messages": _once(state, text), "tasks": rest, "awaiting": None, "asked": {}, "choices": []}

    def confirm(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """Pause for the customer's yes or no; a typed message that is neither is read as a new request."""
        answer = await_answer(state["pending_confirmation"])
        decision, said, messages = answer.decision, answer.said, answer.messages
        update: dict[str, Any] = {"awaiting": None}
        if decision == "yes":
            return update | {"messages": messages}
        update |= {"pending_confirmation": None}
        if decision == "no":
            return update | {"messages": [*messages, AIMessage(say("declined_next"))], "tasks": state["tasks"][1:]}
        return update | {"messages": messages, "reinterpret": said or None}

    def execute(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """Run the confirmed write once (ledger) and tell the customer what changed, from the outcome."""
        pending = state["pending_confirmation"]
        view = CustomerView.load(self.guarded.store, state["customer_id"])
        before = {oid: dict(order) for oid, order in view.orders.items()}
        result = self.guarded.write(tool_call_id=pending["tool_call_id"], thread=thread_of(config),
                                    name=pending["tool"], args=pending["arguments"],
                                    customer_id=state.get("customer_id"))
        call = AIMessage(content="", tool_calls=[{"name": pending["tool"], "args": pending["arguments"],
                                                  "id": pending["tool_call_id"], "type": "tool_call"}])
        outcome = ToolMessage(content=result.text(), tool_call_id=pending["tool_call_id"], name=pending["tool"],
                              status="success" if result.ok else "error")
        text = done_text(view, before, pending["tool"], pending["arguments"]) if result.ok else \
            say("write_failed", why=result.error)
        focus = [o for o in state.get("orders_in_focus", []) if o != pending["arguments"].get("order_id")]
        if pending["arguments"].get("order_id"):
            focus.append(pending["arguments"]["order_id"])
        return {"messages": [call, outcome, AIMessage(text)], "pending_confirmation": None,
                "tasks": state["tasks"][1:], "orders_in_focus": focus}

    # --- hand-over ------------------------------------------------------------------------------------
    def escalate(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """Open the hand-over ticket with a summary built from the conversation, and tell the customer."""
        if state.get("ticket"):
            return {}
        reason = state.get("escalation_reason") or "the customer asked for a human"
        asked = [message_text(m) for m in state["messages"] if isinstance(m, HumanMessage)][-3:]
        open_tasks = ", ".join(f["task"] for f in state.get("tasks", [])) or "none"
        summary = (f"Customer: {state.get('customer_id') or 'not identified'}. Reason: {reason}. "
                   f"Open tasks: {open_tasks}. Last messages: " + " | ".join(asked))
        self.guarded.run_read("transfer_to_human_agents", {"summary": summary}, state.get("customer_id"))
        ticket_id = self.desk.open(key=f"{thread_of(config)}:{state.get('turn', 0)}", thread=thread_of(config),
                                   customer=state.get("customer_id"), reason=reason, summary=summary)
        messages: list[AnyMessage] = [*tool_pair("transfer_to_human_agents", {"summary": summary},
                                                   "Transfer successful"),
                                      AIMessage(replies()["handed_over"].format(ticket_id=ticket_id))]
        return {"messages": messages, "pending_confirmation": None, "tasks": [],
                "ticket": {"id": ticket_id, "reason": reason, "summary": summary, "status": "open"},
                **move_stage(state, Stage.ESCALATION, reason)}

    def handover_note(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """After hand-over: append the customer's message to the ticket and acknowledge it."""
        return acknowledge_note(self.desk, state)

    def restore(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """Never routed to: the node a fork or an operator's state edit is attributed to."""
        return {}


def _recently_said(state: SupportState, text: str, window: int = 8) -> bool:
    """We sent this very text in the last few messages (a restatement answered again and again)."""
    return any(isinstance(m, AIMessage) and not m.tool_calls and message_text(m) == text
               for m in state.get("messages", [])[-window:])


def _once(state: SupportState, text: str) -> list[AnyMessage]:
    """The reply, unless it is word for word the message just sent: a task and its fallback (or two tasks of one
    message) that fail on the same order give the same explanation, which the customer should read once."""
    last = state["messages"][-1] if state.get("messages") else None
    return [] if isinstance(last, AIMessage) and not last.tool_calls and last.content == text else [AIMessage(text)]
