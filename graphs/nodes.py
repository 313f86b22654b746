"""The support graph's nodes: small functions of (state, config) returning a partial state update."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.types import interrupt

from graphs.blocking import off_loop
from graphs.briefs import order_brief
from graphs.budget import estimate_text_tokens, recent_window
from graphs.confirmations import parse_decision, summarize_write
from graphs.dialogue import (
    GraphOptions,
    is_error,
    message_text,
    move_stage,
    new_call_id,
    thread_of,
    times_asked,
    tool_pair,
)
from graphs.intents import cancel_reason
from graphs.operator import acknowledge_note, handback_context
from graphs.prefetch import find_email, find_order_ids
from graphs.prompting import system_prompt
from graphs.stage_tools import (
    HANDOVER_TOOL,
    STAGE_TOOLS,
    TRANSFER_TO_ESCALATION,
    TRANSFER_TO_ORDER_DESK,
)
from graphs.state import Stage, SupportState
from graphs.tickets import TicketDesk
from graphs.tool_layer import GuardedTools, dry_run, normalise_ids, stage_tool_specs, validate_call
from graphs.understanding import Task
from prompts import load_prompt, replies
from tools import IDENTIFY_TOOLS, WRITE_TOOLS, for_task

_CANCEL = for_task(Task.CANCEL).name


_RAW_MARKERS = re.compile(r'\{\s*"|</?tool_|```')


def _looks_like_raw_data(text: str) -> bool:
    """Empty, or JSON / markup / code rather than words for a customer (small models echo tool results)."""
    if not text or text.startswith(("{", "[")) or _RAW_MARKERS.search(text):
        return True
    letters = sum(ch.isalpha() for ch in text)
    return letters < len(text) * 0.4


def _calls_this_turn(messages: list[AnyMessage]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for message in reversed(messages[:-1]):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, AIMessage):
            found += [(c["name"], json.dumps(c["args"], sort_keys=True)) for c in message.tool_calls]
    return found


class SupportNodes:
    """Node functions bound to their dependencies (model, store, options)."""

    def __init__(self, model: BaseChatModel, guarded: GuardedTools, desk: TicketDesk, options: GraphOptions):
        self.guarded = guarded
        self.desk = desk
        self.options = options
        self.specs = {stage: stage_tool_specs(stage) for stage in Stage}
        self.models: dict[Stage, Runnable] = {stage: model.bind_tools(self.specs[stage]) for stage in Stage}
        self.spec_tokens = {stage: estimate_text_tokens(json.dumps(self.specs[stage])) for stage in Stage}

    # --- shared helpers -------------------------------------------------------------------------------
    def _authenticated(self, state: SupportState, customer_id: str, verified_by: str) -> dict[str, Any]:
        """Identify the customer and move to the order desk (their profile reaches the model as prompt facts)."""
        return {
            "customer_id": customer_id,
            "verified_by": verified_by,
            "misunderstanding_streak": 0,
            **move_stage(state, Stage.ORDER_DESK, f"customer identified by {verified_by.replace('_', ' + ')}"),
        }

    def _model_input(self, state: SupportState, stage: Stage) -> list[AnyMessage]:
        customer_id = state.get("customer_id")
        facts = self.guarded.customer_facts(customer_id) if customer_id else None
        system = system_prompt(
            stage,
            today=self.options.today or dt.date.today(),
            customer_id=state.get("customer_id"),
            verified_by=state.get("verified_by"),
            persona=state.get("persona") or self.options.default_persona,
            customer_facts=facts,
            handback=handback_context(state),
        )
        budget = (self.options.context_tokens - self.options.max_output_tokens
                  - estimate_text_tokens(system) - self.spec_tokens[stage])
        window = recent_window(state["messages"], max(budget, 256))
        if self.options.agent_understand and state.get("understanding"):
            # After the history, so the cached prefix (system prompt, earlier turns) stays the same.
            reading = json.dumps(state["understanding"], ensure_ascii=False)
            window = [*window, SystemMessage(load_prompt("agent_reading").replace("{reading}", reading))]
        return [SystemMessage(system), *window]

    # --- nodes ----------------------------------------------------------------------------------------
    def begin_turn(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """Start a customer turn: reset per-turn counters and look up what code can find reliably."""
        update: dict[str, Any] = {"turn": state.get("turn", 0) + 1, "turn_model_calls": 0, "turn_invalid_calls": 0}
        if "stage" not in state:
            update |= {"stage": Stage.INTAKE.value, "stage_history": [], "orders_in_focus": [],
                       "persona": state.get("persona") or self.options.default_persona}
        if state.get("ticket") or state.get("pending_confirmation") or not state["messages"]:
            return update
        text = message_text(state["messages"][-1])
        customer_id, messages = state.get("customer_id"), []
        email = find_email(text)
        if customer_id is None and email and state.get("stage", Stage.INTAKE) == Stage.INTAKE:
            result = self.guarded.run_read("find_user_id_by_email", {"email": email}, None)
            messages += tool_pair("find_user_id_by_email", {"email": email}, result)
            if not is_error(result):
                update |= self._authenticated(state, result, "email")
                customer_id = result
        if customer_id:
            messages += self._prefetch_orders(state, update, customer_id, text)
        return update | {"messages": messages}

    def _prefetch_orders(self, state: SupportState, update: dict[str, Any], customer_id: str,
                         text: str) -> list[AnyMessage]:
        """Look up every order id the customer wrote (a refusal for one that is not theirs), and turn a clear
        cancellation request into the cancel call (still subject to confirmation)."""
        messages: list[AnyMessage] = []
        focus = list(state.get("orders_in_focus", []))
        mentioned = find_order_ids(text)
        for order_id in mentioned:
            details = self.guarded.run_read("get_order_details", {"order_id": order_id}, customer_id)
            messages += tool_pair("get_order_details", {"order_id": order_id}, order_brief(details))
            if not is_error(details):
                focus = [o for o in focus if o != order_id] + [order_id]
        update["orders_in_focus"] = focus
        reason = cancel_reason(text)
        if reason and len(mentioned) == 1 and self.store_owner(mentioned[0]) == customer_id:
            args = {"order_id": mentioned[0], "reason": reason}
            messages.append(AIMessage(content="", tool_calls=[{"name": _CANCEL, "args": args,
                                                               "id": new_call_id(), "type": "tool_call"}]))
        return messages

    def store_owner(self, order_id: str) -> str | None:
        """The owner of an order, or None when it does not exist."""
        return self.guarded.store.order_owner(order_id)

    async def agent(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """Ask the stage's model for the next step and keep at most one valid tool call."""
        stage = Stage(state.get("stage", Stage.INTAKE))
        model_input = await off_loop(self._model_input, state, stage)  # the customer's facts come from the store
        reply = await self.models[stage].ainvoke(model_input, config)
        return self._next_step(state, stage, reply)

    def _next_step(self, state: SupportState, stage: Stage, reply: AIMessage) -> dict[str, Any]:
        """The model's reply as the turn's next step: a reply, one valid tool call, or a correction."""
        update: dict[str, Any] = {"turn_model_calls": state.get("turn_model_calls", 0) + 1}
        calls = list(getattr(reply, "tool_calls", []) or [])
        invalid = list(getattr(reply, "invalid_tool_calls", []) or [])
        if not calls and not invalid:
            text = message_text(reply).strip()
            if _looks_like_raw_data(text):
                # Raw JSON or an empty reply must never reach the customer: ask the model again.
                call_id = new_call_id()
                return update | {
                    "messages": [AIMessage(content="", id=reply.id, tool_calls=[
                                     {"name": "reply_check", "args": {}, "id": call_id, "type": "tool_call"}]),
                                 ToolMessage(content="Error: your last message was raw data, so the customer did not "
                                             "see it. Reply again with the answer in plain words, or call one tool.",
                                             tool_call_id=call_id, name="reply_check", status="error")],
                    "turn_invalid_calls": state.get("turn_invalid_calls", 0) + 1}
            asked = times_asked(state["messages"], text)
            if asked >= 2:
                # The third time the same question: a person takes over, with the question in the ticket.
                reason = f"could not resolve the customer's answer to: {text}"
                return update | {"messages": [AIMessage(content="", id=reply.id, tool_calls=[
                    {"name": TRANSFER_TO_ESCALATION, "args": {"reason": reason}, "id": new_call_id(),
                     "type": "tool_call"}])]}
            if asked == 1:
                text = replies()["asked_again"].format(question=text)  # not word for word a second time
            return update | {"messages": [AIMessage(content=text, id=reply.id)]}
        if calls:
            name, args = calls[0]["name"], normalise_ids(calls[0]["args"])
            error = validate_call(name, args, STAGE_TOOLS[stage])
            if error is None and (name, json.dumps(args, sort_keys=True)) in _calls_this_turn(state["messages"] + [reply]):
                error = (f"Error: {name} was already called with these arguments; its result is above. "
                         "Answer the customer now in plain language.")
            call_id = calls[0].get("id") or new_call_id()
        else:
            name = invalid[0].get("name") or "unknown_tool"
            args = {}
            error = invalid[0].get("error") or validate_call(name, invalid[0].get("args"), STAGE_TOOLS[stage]) \
                or "Error: the tool call could not be read; write it again as valid JSON."
            call_id = invalid[0].get("id") or new_call_id()
        # A turn either calls a tool or replies: text beside a call is dropped (small models put a hallucinated
        # tool result there).
        stored = AIMessage(content="", id=reply.id,
                           tool_calls=[{"name": name, "args": args if isinstance(args, dict) else {},
                                        "id": call_id, "type": "tool_call"}])
        if error is None:
            return update | {"messages": [stored]}
        correction = ToolMessage(content=error, tool_call_id=call_id, name=name, status="error")
        return update | {"messages": [stored, correction], "turn_invalid_calls": state.get("turn_invalid_calls", 0) + 1}

    def tools(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """Run the model's tool call under the policy checks, or park a write for confirmation."""
        call = state["messages"][-1].tool_calls[0]
        name, args, call_id = call["name"], call["args"], call["id"]
        customer_id = state.get("customer_id")

        def answer(text: str, **update: Any) -> dict[str, Any]:
            status = "error" if is_error(text) else "success"
            return {"messages": [ToolMessage(content=text, tool_call_id=call_id, name=name, status=status)]} | update

        if name == TRANSFER_TO_ORDER_DESK:
            if customer_id is None:
                return answer("Error: identify the customer first (email, or name and zip code).")
            return answer("Transferred to the order desk.", **move_stage(state, Stage.ORDER_DESK, args["reason"]))
        if name == TRANSFER_TO_ESCALATION:
            return answer("Transferring the case to a human colleague.", escalation_reason=args["reason"],
                          **move_stage(state, Stage.ESCALATION, args["reason"]))
        if name in WRITE_TOOLS:
            refusal = self.guarded.ownership_error(name, args, customer_id)
            if refusal:
                return answer(refusal, **self._count_error(state))
            why = dry_run(self.guarded.store, name, args)
            if why:
                # A write the store would refuse (a delivered order, an item not in it, a low gift card) is
                # explained now, never put to the customer for a "yes" that can only fail.
                return answer(f"Error: {why}. Nothing was changed; tell the customer why, and what is possible.",
                              **self._count_error(state))
            summary = summarize_write(self.guarded.store, name, args)
            return {"pending_confirmation": {"tool_call_id": call_id, "tool": name, "arguments": args,
                                             "summary": summary}}
        result = self.guarded.run_read(name, args, customer_id)
        if is_error(result):
            extra = {"misunderstanding_streak": state.get("misunderstanding_streak", 0) + 1} \
                if name in IDENTIFY_TOOLS else {}
            return answer(result, **self._count_error(state), **extra)
        update: dict[str, Any] = {"tool_error_streak": 0}
        if name in IDENTIFY_TOOLS and customer_id is None:
            auth = self._authenticated(state, result, "email" if name == "find_user_id_by_email" else "name_zip")
            return answer(result, **update) | auth
        if "order_id" in args:
            update["orders_in_focus"] = [o for o in state.get("orders_in_focus", []) if o != args["order_id"]] \
                + [args["order_id"]]
        return answer(result, **update)

    def _count_error(self, state: SupportState) -> dict[str, Any]:
        streak = state.get("tool_error_streak", 0) + 1
        if streak >= self.options.escalate_after_tool_errors:
            return {"tool_error_streak": streak, "escalation_reason": "repeated tool errors",
                    **move_stage(state, Stage.ESCALATION, "repeated tool errors")}
        return {"tool_error_streak": streak}

    def confirm_write(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """Pause for the customer's yes or no (or read it from their typed message), then write or not."""
        pending = state["pending_confirmation"]
        last = state["messages"][-1]
        typed = isinstance(last, HumanMessage)
        # A ledger row: the customer said yes and the write ran, but a crash cut this step short before its
        # checkpoint. Do not ask again: a "no" now would tell them nothing changed.
        done = self.guarded.executed(pending["tool_call_id"])
        answer = message_text(last) if typed else "yes" if done else interrupt({"type": "confirmation", **pending})
        decision = "yes" if done else parse_decision(answer, pending["tool"])
        said = answer if isinstance(answer, str) else (decision or json.dumps(answer))
        messages: list[AnyMessage] = [RemoveMessage(id=last.id)] if typed else []
        update: dict[str, Any] = {"pending_confirmation": None, "turn_model_calls": 0, "turn_invalid_calls": 0}
        tool_call_id, tool = pending["tool_call_id"], pending["tool"]
        if decision == "yes":
            result = self.guarded.run_write(tool_call_id=tool_call_id, thread=thread_of(config), name=tool,
                                            args=pending["arguments"], customer_id=state.get("customer_id"))
            status = "error" if is_error(result) else "success"
            messages += [ToolMessage(content=result, tool_call_id=tool_call_id, name=tool, status=status),
                         HumanMessage(content=said)]
            order_id = pending["arguments"].get("order_id")
            if order_id and status == "success":
                update["orders_in_focus"] = [o for o in state.get("orders_in_focus", []) if o != order_id] + [order_id]
            return update | {"messages": messages} | (self._count_error(state) if status == "error"
                                                       else {"tool_error_streak": 0, "misunderstanding_streak": 0})
        messages += [ToolMessage(content="The customer declined. Nothing was changed.", tool_call_id=tool_call_id,
                                 name=tool, status="error"), HumanMessage(content=said)]
        if decision == "no":
            messages.append(AIMessage(content=replies()["declined"]))
        return update | {"messages": messages}

    async def escalate(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """Open the hand-over ticket (model-written summary when possible) and tell the customer its id."""
        if state.get("ticket"):
            return {}
        messages, summary = await self._handover_summary(state, config)
        return await off_loop(self._open_ticket, state, config, messages, summary)

    def _open_ticket(self, state: SupportState, config: RunnableConfig, messages: list[AnyMessage],
                     summary: str) -> dict[str, Any]:
        reason = state.get("escalation_reason") or "the customer asked for a human"
        self.guarded.run_read(HANDOVER_TOOL, {"summary": summary}, state.get("customer_id"))
        ticket_id = self.desk.open(key=f"{thread_of(config)}:{state.get('turn', 0)}", thread=thread_of(config),
                                   customer=state.get("customer_id"), reason=reason, summary=summary)
        messages.append(AIMessage(content=replies()["handed_over"].format(ticket_id=ticket_id)))
        return {"messages": messages, "pending_confirmation": None,
                "ticket": {"id": ticket_id, "reason": reason, "summary": summary, "status": "open"},
                **move_stage(state, Stage.ESCALATION, reason)}

    async def _handover_summary(self, state: SupportState, config: RunnableConfig) -> tuple[list[AnyMessage], str]:
        """Ask the escalation model for the ticket summary; fall back to one built from the transcript."""
        try:
            model_input = await off_loop(self._model_input, state, Stage.ESCALATION)
            reply = await self.models[Stage.ESCALATION].ainvoke(model_input, config)
            call = next((c for c in getattr(reply, "tool_calls", []) if c["name"] == HANDOVER_TOOL), None)
            summary = call["args"].get("summary") if call else None
            if call and isinstance(summary, str) and summary.strip():
                call_id = call.get("id") or new_call_id()
                return [AIMessage(content="", id=reply.id, tool_calls=[{"name": HANDOVER_TOOL, "args": {"summary": summary},
                                                                         "id": call_id, "type": "tool_call"}]),
                        ToolMessage(content="Transfer successful", tool_call_id=call_id, name=HANDOVER_TOOL)], summary
        except Exception:  # noqa: BLE001 - a broken model must never block the hand-over to a human
            pass
        asked = [message_text(m) for m in state["messages"] if isinstance(m, HumanMessage)][-3:]
        customer = state.get("customer_id") or "not identified"
        reason = state.get("escalation_reason") or "asked for a human"
        return [], f"Customer: {customer}. Reason: {reason}. Last messages: " + " | ".join(asked)

    def handover_note(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """After hand-over: append the customer's message to the ticket and acknowledge it."""
        return acknowledge_note(self.desk, state)

    def restore(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """Never routed to: the node a fork or an operator's state edit is attributed to (it leads to the end)."""
        return {}

    def give_up(self, state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        """The model could not produce a usable step: apologise, and escalate if this keeps happening."""
        messages: list[AnyMessage] = []
        last = state["messages"][-1]
        if isinstance(last, AIMessage) and last.tool_calls:  # never leave a call without its result
            messages.append(ToolMessage(content="Error: stopped.", tool_call_id=last.tool_calls[0]["id"],
                                        name=last.tool_calls[0]["name"], status="error"))
        streak = state.get("misunderstanding_streak", 0) + 1
        if streak >= self.options.escalate_after_misunderstandings:
            return {"messages": messages, "misunderstanding_streak": streak,
                    "escalation_reason": "repeated misunderstandings",
                    **move_stage(state, Stage.ESCALATION, "repeated misunderstandings")}
        return {"messages": [*messages, AIMessage(content=replies()["fallback"])], "misunderstanding_streak": streak}
