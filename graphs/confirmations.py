"""Human-readable confirmation requests for write tools, waiting for the customer's yes or no, and reading it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import AnyMessage, HumanMessage
from langgraph.types import interrupt

from graphs.answers import confirmation_answer
from graphs.labels import payment_label
from prompts import load_texts
from tools import RetailStore, call_tool, spec


@dataclass(frozen=True)
class Answer:
    """The customer's answer to a write waiting for confirmation, read."""

    decision: Literal["yes", "no"] | None
    said: str
    """What they typed (or "yes"/"no" for a button), for the history; empty when nothing was said."""

    @property
    def messages(self) -> list[AnyMessage]:
        """The answer as the conversation records it."""
        return [HumanMessage(self.said)] if self.said else []


def await_answer(pending: Mapping[str, Any]) -> Answer:
    """Pause the graph until the customer answers the pending write (an interrupt every front end shows as a
    confirmation request, with its buttons); their answer, read."""
    answer = interrupt({"type": "confirmation", **pending})
    decision = parse_decision(answer, pending["tool"])
    return Answer(decision, answer if isinstance(answer, str) else (decision or ""))


def parse_decision(answer: Any, tool: str | None = None) -> Literal["yes", "no"] | None:
    """Read a confirmation answer: a bool, a ``{"value": ...}`` payload or the customer's text (``tool``: the
    pending write, whose own verb is a yes to it)."""
    if isinstance(answer, bool):
        return "yes" if answer else "no"
    if isinstance(answer, Mapping):
        answer = answer.get("value", answer.get("answer", ""))
    return confirmation_answer(str(answer or ""), tool)


def _read(store: RetailStore, name: str, args: dict[str, Any]) -> Any:
    """A lookup's data, or None when it failed."""
    outcome = call_tool(store, name, args)
    return outcome.value if outcome.ok else None


def _options(options: Mapping[str, str]) -> str:
    return ", ".join(str(v) for v in options.values())


def _describe_items(store: RetailStore, order_id: str, old_ids: list[str], new_ids: list[str] | None) -> str:
    order = _read(store, "get_order_details", {"order_id": order_id}) or {}
    by_id = {item["item_id"]: item for item in order.get("items", [])}
    parts = []
    for k, old in enumerate(old_ids):
        item = by_id.get(old)
        old_text = f"{item['name']} ({_options(item['options'])})" if item else f"item {old}"
        if new_ids is None or k >= len(new_ids):
            parts.append(old_text)
            continue
        new_text = f"item {new_ids[k]}"
        if item:
            product = _read(store, "get_product_details", {"product_id": item["product_id"]}) or {}
            variant = product.get("variants", {}).get(new_ids[k])
            if variant:
                new_text = f"{item['name']} ({_options(variant['options'])}, {variant['price']})"
        parts.append(f"{old_text} to {new_text}")
    return "; ".join(parts) if parts else "no items"


def _address(args: Mapping[str, Any]) -> str:
    fields = [args.get("address1"), args.get("address2"), args.get("city"), args.get("state"),
              args.get("zip"), args.get("country")]
    return ", ".join(str(f) for f in fields if f)


def _payment_label(store: RetailStore, owner: str | None, method_id: str) -> str:
    """'your PayPal account', 'your Visa card ending 0417' or 'your gift card (balance $58.00)'; else the id."""
    profile = _read(store, "get_user_details", {"user_id": owner}) if owner else None
    method = (profile or {}).get("payment_methods", {}).get(method_id)
    if not method:
        return method_id
    # The flows' replies name it the same way ("Visa card ending 0417"): one label everywhere.
    return "your PayPal account" if method["source"] == "paypal" else f"your {payment_label({**method, 'id': method_id})}"


def summarize_write(store: RetailStore, tool: str, args: Mapping[str, Any]) -> str:
    """One or two sentences a customer can say yes or no to (the template is the catalog's confirmation key)."""
    templates = load_texts("confirmations")
    declared = spec(tool)
    key = declared.confirmation if declared is not None and declared.confirmation else tool
    facts: dict[str, Any] = dict(args)
    if isinstance(args.get("payment_method_id"), str):
        owner = store.order_owner(str(args.get("order_id"))) if "order_id" in args else None
        facts["payment_method_id"] = _payment_label(store, owner, args["payment_method_id"])
    if "address1" in args:
        facts["address"] = _address(args)
    if "item_ids" in args:
        order_id = str(args.get("order_id", ""))
        new_ids = args.get("new_item_ids")
        facts["changes"] = _describe_items(store, order_id, list(args["item_ids"]), list(new_ids or []))
        facts["items"] = _describe_items(store, order_id, list(args["item_ids"]), None)
    try:
        body = templates[key].format(**facts)
    except (KeyError, IndexError):
        body = f"Run {tool} with {json.dumps(dict(args))}."
    return f"{body} {templates['question']}"
