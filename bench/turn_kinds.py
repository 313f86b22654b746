"""The kinds of turn the service benchmarks measure: what the customer says, who they are, what the fake model answers.

``text``: an anonymous visitor's open question. The flows read it (one request under ``response_format``, answered
with an empty reading); with no task read and no customer identified, the dialogue answers with its welcome: one
model request, no store lookup. (``ANSWER``, the fake model's text for any other request, is never asked for.)

``tool``: a signed-in customer (customer token) asks about one of their orders. The reading names the order-info
task and the order id, and the order-info flow looks the order up in the store (the customer's profile and
orders, what ``get_order_details`` reads) and answers from it: one model request and one store lookup.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.unit.fake_openai import Reply
from tools import RetailStore
from tools.order_ids import order_ids_in

#: An open question an anonymous visitor asks (read by the model; the empty reading gets the welcome).
QUESTION = "Do you ship to Canada, and how long does delivery usually take?"
ANSWER = "We ship within the United States only; delivery usually takes three to five business days."

#: A signed-in customer's question about one of their orders (the id is filled in per conversation).
ORDER_QUESTION = "What is the status of my order {order_id}, and when will it arrive?"


def _last_user_text(request: dict[str, Any]) -> str:
    users = [m for m in request.get("messages", []) if m.get("role") == "user"]
    content = users[-1]["content"] if users else ""
    return content if isinstance(content, str) else json.dumps(content)


@dataclass
class TurnKind:
    """One kind of turn; ``prepare`` (with the seeded store) before the questions and customers are asked for."""

    name: str
    signed_in: bool
    _orders: list[tuple[str, str]] = field(default_factory=list)  # (customer id, order id), one per conversation

    def prepare(self, store: RetailStore) -> None:
        """Pick, for the tool turn, one customer with an order per conversation (reused round-robin)."""
        if not self.signed_in:
            return
        self._orders = [tuple(r) for r in store.db.execute(
            "SELECT user_id, MIN(order_id) FROM orders GROUP BY user_id ORDER BY user_id").fetchall()]
        if not self._orders:
            raise RuntimeError("no orders in the store")

    def customer(self, conversation: int) -> str | None:
        """The signed-in customer of the conversation (None: an anonymous visitor)."""
        return self._orders[conversation % len(self._orders)][0] if self.signed_in else None

    def question(self, conversation: int) -> str:
        """What the customer types on every turn of the conversation."""
        if not self.signed_in:
            return QUESTION
        return ORDER_QUESTION.format(order_id=self._orders[conversation % len(self._orders)][1])

    def answered(self, conversation: int, reply: str) -> bool:
        """The reply is the one this kind of turn must get (for the tool turn: it names the looked-up order)."""
        if not self.signed_in:
            return bool(reply)
        return self._orders[conversation % len(self._orders)][1] in reply

    def model(self, latency: float) -> Callable[[dict[str, Any]], Reply]:
        """The fake model's handler: every request answered after ``latency`` seconds."""
        def answer(request: dict[str, Any]) -> Reply:
            if not request.get("response_format"):
                return Reply(content=ANSWER, delay=latency)
            if not self.signed_in:
                return Reply(content="{}", delay=latency)
            reading = {"tasks": ["order_info"], "order_ids": order_ids_in(_last_user_text(request), 1),
                       "items": [], "order_hint": None}
            return Reply(content=json.dumps(reading), delay=latency)

        return answer


TURN_KINDS: dict[str, TurnKind] = {"text": TurnKind("text", signed_in=False), "tool": TurnKind("tool", signed_in=True)}
