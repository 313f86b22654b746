"""Short plain-text renderings of lookups the graph makes itself.

When code looks something up on its own (an order id the customer wrote), the model gets the facts as a few
readable lines rather than the tool's raw JSON: a small model answers a question about a one-line status much
better than about a nested record (with raw JSON it measurably refuses or echoes the record).
"""

from __future__ import annotations

import json
from typing import Any


def _options(options: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in options.items())


def order_brief(tool_result: str) -> str:
    """The order as lines: status, items with ids, payments, shipping; the tool's text when it is not an order."""
    try:
        order = json.loads(tool_result)
    except (TypeError, ValueError):
        return tool_result
    if not isinstance(order, dict) or "order_id" not in order:
        return tool_result
    items = "; ".join(f"{i['name']} (item id {i['item_id']}, {_options(i['options'])}, price {i['price']})"
                      for i in order.get("items", []))
    payments = "; ".join(f"{p['transaction_type']} {p['amount']} with {p['payment_method_id']}"
                         for p in order.get("payment_history", []))
    a = order.get("address", {})
    address = ", ".join(v for v in (a.get("address1"), a.get("address2"), a.get("city"), a.get("state"),
                                    a.get("zip"), a.get("country")) if v)
    tracking = ", ".join(t for f in order.get("fulfillments", []) for t in f.get("tracking_id", []))
    lines = [f"Order {order['order_id']}: status {order['status']}.", f"Items: {items}.", f"Payments: {payments}.",
             f"Shipping address: {address}."]
    if tracking:
        lines.append(f"Tracking: {tracking}.")
    for key in ("cancel_reason", "return_items", "exchange_items", "exchange_new_items"):
        if key in order:
            lines.append(f"{key.replace('_', ' ').capitalize()}: {order[key]}.")
    return "\n".join(lines)
