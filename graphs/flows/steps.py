"""Each task flow's next step, computed by code from what the customer said so far.

``next_step(task, said, view)`` resolves the task's slots in order (order, items, variants, reason, payment,
address); the first slot that is missing or ambiguous becomes a question, an impossible one an explanation, and
when everything is resolved the write is tried in a rolled-back transaction (every precondition of the store,
exactly) before the customer is asked to confirm it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphs.confirmations import summarize_write
from graphs.flows.customer import CustomerView, options_text
from graphs.flows.items import (
    changed_only,
    item_label,
    resolve_items,
)
from graphs.flows.render import say
from graphs.flows.resolution import Resolution
from graphs.flows.resolvers import resolve_address, resolve_order, resolve_payment, said_as_paid_with
from graphs.flows.selection import all_except
from graphs.flows.step import FlowStep, listing
from graphs.flows.text import phrase_in, tokens
from graphs.flows.variant_step import variants_step
from graphs.labels import money, payment_label
from graphs.tool_layer import dry_run
from graphs.understanding import Task
from tools import RetailStore, for_task


@dataclass(frozen=True)
class FlowSpec:
    """One customer task: the write it ends in and the order statuses it applies to."""

    task: Task
    tool: str | None
    statuses: tuple[str, ...] | None
    action: str
    """How a reply names the action ('cancelled', 'returned')."""


def _write_flow(task: Task, action: str) -> FlowSpec:
    """A task that ends in a write: the tool and the statuses it applies to come from the catalog."""
    write = for_task(task.value)
    return FlowSpec(task, write.name, write.statuses or None, action)


FLOWS: dict[Task, FlowSpec] = {spec.task: spec for spec in (
    FlowSpec(Task.ORDER_INFO, None, None, "looked up"),
    _write_flow(Task.CANCEL, "cancelled"),
    _write_flow(Task.MODIFY_ADDRESS, "changed"),
    _write_flow(Task.MODIFY_PAYMENT, "changed"),
    _write_flow(Task.MODIFY_ITEMS, "changed"),
    _write_flow(Task.RETURN, "returned"),
    _write_flow(Task.EXCHANGE, "exchanged"),
    _write_flow(Task.CHANGE_DEFAULT_ADDRESS, "changed"),
)}


_SIBLINGS = {Task.MODIFY_ITEMS: Task.EXCHANGE, Task.EXCHANGE: Task.MODIFY_ITEMS}


def _slot_question(resolution: Resolution, slot: str, ask_key: str, ambiguous_key: str, **facts: Any) -> FlowStep:
    if resolution.status == "ambiguous":
        return FlowStep("ask", say(ambiguous_key, candidates=listing(resolution.candidates),
                                   value=resolution.value or "", **facts), slot=slot,
                        choices=tuple(resolution.candidates))
    if resolution.status == "missing":
        return FlowStep("ask", say(ask_key, candidates=listing(resolution.candidates), **facts), slot=slot,
                        choices=tuple(resolution.candidates))
    return FlowStep("refuse", say(resolution.detail, candidates=listing(resolution.candidates),
                                  value=resolution.value or "", **facts), slot=slot)


def _order_step(spec: FlowSpec, said: dict[str, Any], view: CustomerView) -> FlowStep | dict[str, Any]:
    resolution = resolve_order(view, said, spec.statuses)
    if resolution.status != "ok":
        statuses = " or ".join(spec.statuses or ())
        return _slot_question(resolution, "order", "ask_order", "order_ambiguous", action=spec.action,
                              statuses=statuses)
    order = view.orders[resolution.value]
    if spec.statuses and order["status"] not in spec.statuses:
        alternative = {"pending": "alternative_pending", "delivered": "alternative_delivered"}.get(
            order["status"], "alternative_none")
        return FlowStep("refuse", say("wrong_status", order_id=order["order_id"], status=order["status"],
                                      action=spec.action, statuses=" or ".join(spec.statuses),
                                      alternative=say(alternative)).strip(), slot="order")
    return order


def _items_step(order: dict[str, Any], said: dict[str, Any]) -> FlowStep | list[str]:
    # "Everything except the X": the exclusions are the selector, evaluated against the order's items.
    resolution = all_except(order, said["except_items"], over_several=bool(said.get("of_several_orders"))) \
        if said.get("except_items") else resolve_items(order, said)
    if resolution.status == "ok":
        return list(resolution.value)
    return _slot_question(resolution, "items", "ask_items", "item_ambiguous", order_id=order["order_id"])


def _payment_step(view: CustomerView, said: dict[str, Any], order_id: str | None, *, refund: bool,
                  exclude: str | None = None) -> FlowStep | str:
    methods = [m for m in view.payment_methods.values() if m["id"] != exclude]
    if exclude and not methods:
        return FlowStep("refuse", say("no_other_payment", order_id=order_id or ""), slot="payment")
    if not said.get("payment") and said.get("texts"):
        # The customer's own words are a safety net under the model's reading ("... to my <method>"), for a
        # method they name: "same" or "original" there describe a variant ("same black frame"), not a payment.
        words = re.sub(r"\b(same|original|usual)\b", " ", " ".join(said["texts"]), flags=re.I)
        named = resolve_payment(view, words, order_id)
        if named.status == "ok" and named.value != exclude:
            said = {**said, "payment": words}
    if not said.get("payment"):
        if refund:
            original = view.original_payment(order_id) if order_id else None
            has_gift = any(m["source"] == "gift_card" and m["id"] != original for m in methods)
            if original and not has_gift:
                return original  # the only refund destination the policy allows
            if original:
                label = payment_label(view.payment_methods.get(original, {"id": original}))
                return FlowStep("ask", say("ask_refund_method", original=label), slot="payment")
        if len(methods) == 1 and not exclude:
            return methods[0]["id"]
        key = "ask_new_payment" if exclude else "ask_payment"
        choices = tuple((m["id"], payment_label(m)) for m in methods)
        return FlowStep("ask", say(key, order_id=order_id or "", candidates=listing(choices)), slot="payment",
                        choices=choices)
    resolution = resolve_payment(view, said["payment"], order_id)
    if resolution.status == "ok" and exclude and resolution.value == exclude \
            and said_as_paid_with(str(said["payment"]), said.get("texts", [])):
        # "I paid with <A> ... put it on <B>": the reading took the method paid with for the new one; the
        # customer's own words, with <A> excluded, may name <B>.
        resolution = resolve_payment(view, " ".join(said["texts"]), order_id, exclude=exclude)
    if resolution.status == "ok":
        return str(resolution.value)
    return _slot_question(resolution, "payment", "ask_payment", "payment_ambiguous", order_id=order_id or "")


def _address_step(said: dict[str, Any]) -> FlowStep | dict[str, str]:
    resolution = resolve_address(said.get("address"))
    if resolution.status == "ok":
        return dict(resolution.value)
    if said.get("address"):
        # Part of the address is given: ask for the rest by name (a question of its own, not a repeat).
        missing = [_ADDRESS_PARTS[k] for k in resolution.value]
        return FlowStep("ask", say("ask_address_rest", missing=" and ".join(missing)), slot="address",
                        still_missing="+".join(resolution.value))
    return FlowStep("ask", say("ask_address"), slot="address")


#: Address fields as a question names them.
_ADDRESS_PARTS = {"address1": "street and number", "city": "city", "state": "state", "zip": "zip code"}


def _reason_step(said: dict[str, Any], order_id: str) -> Any:
    if not said.get("reason"):
        return FlowStep("ask", say("ask_reason", order_id=order_id), slot="reason")
    return said["reason"]


def _customer_step(view: CustomerView) -> str:
    return view.user_id  # the identified customer: never taken from what was said


#: The catalog's resolver names (``tools.catalog.Resolver``) -> the flow step that resolves such an argument
#: (each calls its resolver in ``graphs.flows.resolvers`` / ``items``, or reads the slot directly).
SLOT_STEPS: dict[str, Callable[..., Any]] = {
    "order": _order_step,
    "items": _items_step,
    "variants": variants_step,
    "payment": _payment_step,
    "address": _address_step,
    "reason": _reason_step,
    "customer": _customer_step,
}


def order_info_text(view: CustomerView, order: dict[str, Any]) -> str:
    """Status, items with prices, total, payment and tracking of an order, from the store's record."""
    items = "; ".join(f"{item_label(i)} {money(i['price'])}" for i in order["items"])
    total = sum(i["price"] for i in order["items"])
    original = view.original_payment(order["order_id"])
    payment = payment_label(view.payment_methods.get(original, {"id": original})) if original else "unknown"
    tracking_ids = [t for f in order.get("fulfillments", []) for t in f.get("tracking_id", [])]
    tracking = say("order_tracking", tracking=", ".join(tracking_ids)) if tracking_ids else ""
    address = ", ".join(str(v) for v in (order.get("address") or {}).values() if v) or "unknown"
    return say("order_info", order_id=order["order_id"], status=order["status"], items=items, total=money(total),
               payment=payment, address=address, tracking=tracking)


def next_step(task: Task, said: dict[str, Any], view: CustomerView) -> FlowStep:
    """The next step of one task flow for what the customer has said so far."""
    if task in _SIBLINGS:
        # "Change the size of the shoes" means an exchange once delivered and a modification while pending:
        # the order's status decides, not the customer's (or the model's) choice of words.
        probe = resolve_order(view, said, None)
        sibling = _SIBLINGS[task]
        if probe.status == "ok" and view.orders[probe.value]["status"] in (FLOWS[sibling].statuses or ()):
            task = sibling
    spec = FLOWS[task]
    if task == Task.CHANGE_DEFAULT_ADDRESS:
        address = _address_step(said)
        if isinstance(address, FlowStep):
            return address
        return _confirm(view, spec, {"user_id": _customer_step(view), **address})
    order = _order_step(spec, said, view)
    if isinstance(order, FlowStep):
        return order
    order_id = order["order_id"]
    if task == Task.ORDER_INFO:
        return FlowStep("answer", order_info_text(view, order), args={"order_id": order_id})
    if task == Task.CANCEL:
        reason = _reason_step(said, order_id)
        if isinstance(reason, FlowStep):
            return reason
        return _confirm(view, spec, {"order_id": order_id, "reason": reason})
    if task == Task.MODIFY_ADDRESS:
        address = _address_step(said)
        return address if isinstance(address, FlowStep) else _confirm(view, spec, {"order_id": order_id, **address})
    if task == Task.MODIFY_PAYMENT:
        current = view.original_payment(order_id)
        payment = _payment_step(view, said, order_id, refund=False, exclude=current)
        if isinstance(payment, FlowStep):
            return payment
        return _confirm(view, spec, {"order_id": order_id, "payment_method_id": payment})
    items = _items_step(order, said)
    if isinstance(items, FlowStep):
        return items
    if task == Task.RETURN:
        payment = _payment_step(view, said, order_id, refund=True)
        if isinstance(payment, FlowStep):
            return payment
        return _confirm(view, spec, {"order_id": order_id, "item_ids": items, "payment_method_id": payment})
    variants = variants_step(view, order, changed_only(order, items, said), said)
    if isinstance(variants, FlowStep):
        return variants
    items, new_ids = variants
    payment = _payment_step(view, said, order_id, refund=False)
    if isinstance(payment, FlowStep):
        return payment
    return _confirm(view, spec, {"order_id": order_id, "item_ids": items, "new_item_ids": new_ids,
                                 "payment_method_id": payment})


def _explain(view: CustomerView, args: dict[str, Any], why: str) -> str:
    """The store's refusal in the customer's terms, with the facts behind it (a gift card's balance)."""
    method = view.payment_methods.get(str(args.get("payment_method_id")), {})
    if why.startswith("insufficient gift card balance") and method:
        order = view.orders.get(str(args.get("order_id")), {"items": []})
        if why.endswith("the order"):
            what, amount = "the order total", sum(float(i["price"]) for i in order["items"])
        else:
            what, amount = "the price difference", _difference(view, order, args)
        others = [payment_label(m) for m in view.payment_methods.values() if m["id"] != method["id"]]
        return say("gift_card_too_low", balance=money(method.get("balance") or 0), what=what, amount=money(amount),
                   candidates=say("other_methods", methods="; ".join(others)) if others else "")
    return say("write_refused", why=why)


def _difference(view: CustomerView, order: dict[str, Any], args: dict[str, Any]) -> float:
    by_id = {item["item_id"]: item for item in order["items"]}
    total = 0.0
    for old, new in zip(args.get("item_ids", []), args.get("new_item_ids", []), strict=False):
        product = view.product(by_id[old]["product_id"]) or {"variants": {}}
        total += float(product["variants"].get(new, {}).get("price", 0)) - float(by_id[old]["price"])
    return round(total, 2)


def _confirm(view: CustomerView, spec: FlowSpec, args: dict[str, Any]) -> FlowStep:
    assert spec.tool is not None
    why = dry_run(view.store, spec.tool, args)
    if why:
        return FlowStep("refuse", _explain(view, args, why))
    return FlowStep("confirm", summarize_write(view.store, spec.tool, args), tool=spec.tool, args=args)


def product_info_text(store: RetailStore, text: str, items: list[dict[str, Any]] | None = None) -> str | None:
    """Available variants of a product named in the text (e.g. 'which colours does the yoga mat come in?'); with a
    price ranking read for it ("the cheapest <colour> <product> in stock"), the one variant that ranking picks
    among the available ones that have every option word the customer gave."""
    said = tokens(text)
    for name, product_id in store.product_ids_by_name().items():
        if phrase_in(name, said):
            product = store.product_record(product_id) or {"variants": {}}
            available = [v for v in product["variants"].values() if v["available"]]
            if not available:
                return say("product_none_available", product=name)
            ranked = next((i for i in items or [] if i.get("rank") in _PRICE_RANKS), None)
            if ranked and (answer := _ranked_product_text(name, available, ranked)):
                return answer
            # No ranking, or no available variant has the words given: every available variant, priced.
            variants = "; ".join(f"{options_text(v['options'])} ({money(v['price'])})" for v in available)
            return say("product_info", product=name, variants=variants)
    return None


#: Price rankings a catalogue question can ask for, and which end of the prices each takes.
_PRICE_RANKS = {"cheapest": min, "most_expensive": max}


def _ranked_product_text(name: str, available: list[dict[str, Any]], item: dict[str, Any]) -> str | None:
    option_words = [(v, {w for value in v["options"].values() for w in tokens(value)}) for v in available]
    said = tokens(f"{item.get('item') or ''} {item.get('wanted') or ''}") - tokens(name)
    wanted = said & set().union(*(words for _, words in option_words))  # the option values named ("black")
    pool = [v for v, words in option_words if wanted <= words]
    if not pool:
        return None
    pick = _PRICE_RANKS[item["rank"]](pool, key=lambda v: float(v["price"]))
    return say("product_ranked", rank=str(item["rank"]).replace("_", " "), product=name,
               with_words=f" in {' '.join(sorted(wanted))}" if wanted else "",
               variant=options_text(pick["options"]), price=money(pick["price"]))
