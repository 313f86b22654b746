"""What a confirmed write changed, in the customer's words, rendered from the store's records."""

from __future__ import annotations

from typing import Any

from graphs.flows.customer import CustomerView, options_text
from graphs.flows.render import say
from graphs.labels import money, payment_label
from graphs.understanding import Task
from tools import spec


def _address(args: dict[str, Any]) -> str:
    return ", ".join(str(args[k]) for k in ("address1", "address2", "city", "state", "zip", "country") if args.get(k))


def _payment(view: CustomerView, method_id: str) -> str:
    return payment_label(view.payment_methods.get(method_id, {"id": method_id}), balance=False)


def _variant(view: CustomerView, product_id: str, item_id: str) -> dict[str, Any]:
    product = view.product(product_id) or {"variants": {}}
    return product["variants"].get(item_id, {"options": {}, "price": 0})


def _changes(view: CustomerView, order: dict[str, Any], args: dict[str, Any]) -> tuple[str, float]:
    by_id = {item["item_id"]: item for item in order["items"]}
    parts, difference = [], 0.0
    for old_id, new_id in zip(args["item_ids"], args["new_item_ids"], strict=False):
        item = by_id[old_id]
        new = _variant(view, item["product_id"], new_id)
        parts.append(f"{item['name']} ({options_text(new['options'])}) instead of ({options_text(item['options'])})")
        difference += float(new["price"]) - float(item["price"])
    return "; ".join(parts), round(difference, 2)


def _difference(view: CustomerView, amount: float, method_id: str) -> str:
    if abs(amount) < 0.005:
        return say("difference_none")
    key = "difference_pay" if amount > 0 else "difference_refund"
    return say(key, amount=money(abs(amount)), payment=_payment(view, method_id))


def done_text(view: CustomerView, before: dict[str, dict[str, Any]], tool: str, args: dict[str, Any]) -> str:
    """The confirmation that a write was done, with its facts (amounts from the order as it was before)."""
    declared = spec(tool)
    task = declared.task if declared is not None else None
    order = before.get(str(args.get("order_id")), {"items": []})
    facts: dict[str, Any] = {"order_id": args.get("order_id", ""), "address": _address(args)}
    if "payment_method_id" in args:
        facts["payment"] = _payment(view, args["payment_method_id"])
    if task == Task.CANCEL:
        original = view.original_payment(str(args["order_id"])) or ""
        facts["payment"] = _payment(view, original)
        before_view = CustomerView(view.store, view.user_id, view.profile, before)
        facts["amount"] = money(before_view.paid_amount(str(args["order_id"])))
        source = view.payment_methods.get(original, {}).get("source")
        facts["refund_timing"] = say("refund_now" if source == "gift_card" else "refund_later")
    if task == Task.RETURN:
        by_id = {item["item_id"]: item for item in order["items"]}
        returned = [by_id[i] for i in args["item_ids"] if i in by_id]
        facts["items"] = ", ".join(f"{i['name']} ({options_text(i['options'])})" for i in returned)
        facts["amount"] = money(sum(float(i["price"]) for i in returned))
    if task in (Task.MODIFY_ITEMS, Task.EXCHANGE):
        changes, amount = _changes(view, order, args)
        facts["changes"] = changes
        facts["difference"] = _difference(view, amount, args["payment_method_id"])
    return say(f"done_{tool}", **facts)
