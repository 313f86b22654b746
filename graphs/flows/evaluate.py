"""The request's selectors that reshape the task queue, evaluated against the store before a flow's step.

- An order scope (every order of a status, the latest one) becomes one task per selected order.
- Alternatives guarded by facts ("if it costs more than $500, cancel the order instead", "if the refund is over
  $200, put it on a gift card"): the flow computes the write it would propose; code checks each condition against
  that write's facts (``selection.write_facts``) and, when one holds, proposes the alternative instead.
"""

from __future__ import annotations

from typing import Any

from graphs.flows.customer import CustomerView
from graphs.flows.render import say
from graphs.flows.resolvers import order_label
from graphs.flows.selection import holds, select_orders, write_facts
from graphs.flows.step import FlowStep
from graphs.flows.steps import FLOWS, next_step
from graphs.labels import money
from graphs.understanding import Task

_FACT_WORDS = {"price_above": ("price", "more than"), "price_below": ("price", "less than"),
               "refund_above": ("refund", "more than"), "refund_below": ("refund", "less than")}


def expand_scope(queue: list[dict[str, Any]], view: CustomerView) -> tuple[list[dict[str, Any]], str, str | None]:
    """The queue with the active task's order scope expanded (one task per order), a note that says so when
    there are several, and the reply when the scope selects no order (the task is then dropped)."""
    frame = queue[0]
    task = Task(frame["task"])
    spec = FLOWS[task]
    selected = select_orders(view, frame["said"], spec.statuses)
    if selected is None:
        return queue, "", None
    if not selected:
        if not view.orders:
            return queue[1:], "", say("no_orders")
        status = frame["said"].get("order_status") or " or ".join(spec.statuses or ("open",))
        # The orders there are, with their statuses: "none is pending" should not leave the customer guessing.
        orders = "; ".join(order_label(o) for o in view.orders.values())
        return queue[1:], "", say("no_orders_in_scope", status=status, action=spec.action, orders=orders)
    said = {k: v for k, v in frame["said"].items() if k not in ("order_scope", "order_status", "order_hint")}
    # Each order's task remembers it is one of several: an item excluded "from all of them" need not be in each.
    said |= {"of_several_orders": True} if len(selected) > 1 else {}
    frames = [{**frame, "said": {**said, "order_ids": [order_id]}} for order_id in selected]
    note = say("scope_orders", count=len(selected), orders=", ".join(selected)) if len(selected) > 1 else ""
    return frames + queue[1:], note, None


def _probe(task: Task, said: dict[str, Any], step: FlowStep, view: CustomerView) -> FlowStep | None:
    """The write the flow would propose once the payment is known: a price or refund condition can be decided
    before the customer is asked how to pay (they should not be asked for nothing)."""
    if step.kind != "ask" or step.slot != "payment":
        return None
    for method in view.payment_methods.values():
        trial = next_step(task, {**said, "payment": method["id"]}, view)
        if trial.kind == "confirm":
            return trial
    return None


def with_alternatives(task: Task, frame: dict[str, Any], step: FlowStep,
                      view: CustomerView) -> tuple[Task, dict[str, Any], FlowStep]:
    """The step to take once the frame's conditional alternatives are evaluated against the proposed write:
    the task, the frame and the step, each replaced when an alternative applies."""
    said = frame["said"]
    guarded = [a for a in said.get("alternatives", []) if str(a.get("condition")) in _FACT_WORDS]
    if not guarded:
        return task, frame, step
    proposed = step if step.kind == "confirm" else _probe(task, said, step, view)
    if proposed is None:
        return task, frame, step
    facts = write_facts(view, proposed.args)
    for alternative in said.get("alternatives", []):
        condition = str(alternative.get("condition"))
        if condition not in _FACT_WORDS or not holds(condition, alternative.get("amount"), facts):
            continue
        fact, comparison = _FACT_WORDS[condition]
        value = facts[fact]
        if fact == "refund" and value < 0:
            fact, value = "extra charge", -value  # the difference runs the other way: the customer pays it
        why = say("condition_holds", fact=fact, value=money(value), comparison=comparison,
                  amount=money(float(alternative["amount"])))
        rest = {**said, "alternatives": []}
        if alternative.get("task"):
            other = Task(alternative["task"])
            # The alternative acts on the order the first request resolved to, not on a new description.
            rest = {k: v for k, v in rest.items() if k not in ("items", "all_items", "except_items", "order_hint")}
            rest["order_ids"] = [step.args["order_id"]] if step.args.get("order_id") else rest.get("order_ids", [])
        else:
            other = task
            if alternative.get("payment"):
                rest["payment"] = alternative["payment"]
            if alternative.get("wanted"):
                rest["items"] = [{**i, "wanted": alternative["wanted"], "rank": None} for i in said.get("items", [])]
        new_frame = {**frame, "task": other.value, "said": rest}
        new_step = next_step(other, rest, view)
        return other, new_frame, FlowStep(new_step.kind, f"{why} {new_step.text}".strip(), new_step.slot,
                                          new_step.tool, new_step.args, new_step.choices)
    return task, frame, step


def instead_of(frame: dict[str, Any]) -> dict[str, Any] | None:
    """The frame to try when the frame's request is refused: its stated fallback task ("if not, return it"),
    or the same task with the payment said for that case ("if the gift card can't cover it, PayPal"); None when
    the request states nothing for it. The alternative is used up, so a second refusal ends the request."""
    said = frame["said"]
    alternatives = said.get("alternatives", [])
    used = next((a for a in alternatives if a.get("condition") == "not_possible"
                 and (a.get("task") or a.get("payment"))), None)
    if not frame.get("fallback") and used is None:
        return None
    rest = {**said, "alternatives": [a for a in alternatives if a is not used]}
    if used is not None and used.get("payment"):
        rest["payment"] = used["payment"]
    return {"task": frame.get("fallback") or (used or {}).get("task") or frame["task"], "said": rest,
            "fallback": None}

