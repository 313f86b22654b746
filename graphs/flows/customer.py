"""The identified customer's world as flows see it: profile, orders, the products of those orders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tools import RetailStore


def payment_label(method: dict[str, Any]) -> str:
    """How customers name a payment method: 'PayPal', 'Visa card ending 0417', 'gift card (balance 58)'."""
    source = method.get("source")
    if source == "credit_card":
        return f"{str(method.get('brand', 'credit')).title()} card ending {method.get('last_four')}"
    if source == "gift_card":
        return f"gift card (balance {method.get('balance')})"
    if source == "paypal":
        return "PayPal"
    return str(method.get("id"))


def options_text(options: dict[str, Any]) -> str:
    """'size 9, black' style description of a variant's options."""
    return ", ".join(str(v) for v in options.values())


@dataclass
class CustomerView:
    """Read-only snapshot of one customer's data, loaded once per flow step."""

    store: RetailStore
    user_id: str
    profile: dict[str, Any]
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, store: RetailStore, user_id: str) -> CustomerView:
        """Profile plus every order of the customer, in the profile's order (oldest first)."""
        profile = store.user_record(user_id) or {}
        view = cls(store, user_id, profile)
        for order_id in profile.get("orders", []):
            record = store.order_record(order_id)
            if record is not None:
                view.orders[order_id] = record
        return view

    @property
    def first_name(self) -> str:
        """The customer's first name, for greetings."""
        return str(self.profile.get("name", {}).get("first_name", ""))

    @property
    def payment_methods(self) -> dict[str, dict[str, Any]]:
        """Payment method id -> method record."""
        return dict(self.profile.get("payment_methods", {}))

    def product(self, product_id: str) -> dict[str, Any] | None:
        """A product with its variants."""
        return self.store.product_record(product_id)

    def original_payment(self, order_id: str) -> str | None:
        """The payment method the order was paid with (its first payment)."""
        for entry in self.orders.get(order_id, {}).get("payment_history", []):
            if entry.get("transaction_type") == "payment":
                return str(entry["payment_method_id"])
        return None
