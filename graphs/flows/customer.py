"""The identified customer's world as flows see it: profile, orders, the products of those orders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphs.labels import payment_label
from tools import RetailStore


def options_text(options: dict[str, Any]) -> str:
    """'size 9, color black' style description of a variant's options (names make 'yes'/'no' values clear)."""
    return ", ".join(f"{k} {v}" for k, v in options.items())


@dataclass
class CustomerView:
    """Read-only snapshot of one customer's data, loaded once per flow step."""

    store: RetailStore
    user_id: str
    profile: dict[str, Any]
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, store: RetailStore, user_id: str) -> CustomerView:
        """Profile plus every order of the customer, in the profile's order (oldest first), as one snapshot."""
        profile, orders = store.customer_records(user_id)
        return cls(store, user_id, profile or {}, orders)

    @property
    def first_name(self) -> str:
        """The customer's first name, for greetings."""
        return str(self.profile.get("name", {}).get("first_name", ""))

    def account_text(self, question: str) -> str | None:
        """An answer to a question about the customer's own account (payment methods, address, orders)."""
        from graphs.flows.render import say
        from graphs.flows.text import tokens

        said = tokens(question)
        methods = "; ".join(payment_label(m) for m in self.payment_methods.values())
        address = ", ".join(str(v) for k, v in self.profile.get("address", {}).items() if v)
        if said & {"payment", "pay", "card", "paypal", "balance", "gift"} and not said & {"order"}:
            return say("account_payment_methods", methods=methods)
        if "address" in said and not said & {"order", "change"}:
            return say("account_address", address=address)
        if "order" in said and said & {"all", "list", "which", "what", "many"} and not said & {"status", "track"}:
            orders = "; ".join(f"{oid} ({o['status']})" for oid, o in self.orders.items())
            return say("account_orders", orders=orders)
        return None

    @property
    def payment_methods(self) -> dict[str, dict[str, Any]]:
        """Payment method id -> method record."""
        return dict(self.profile.get("payment_methods", {}))

    def product(self, product_id: str) -> dict[str, Any] | None:
        """A product with its variants."""
        return self.store.product_record(product_id)

    def paid_amount(self, order_id: str) -> float:
        """What the customer paid for the order so far (payments minus refunds)."""
        total = 0.0
        for entry in self.orders.get(order_id, {}).get("payment_history", []):
            sign = 1 if entry.get("transaction_type") == "payment" else -1
            total += sign * float(entry.get("amount", 0))
        return round(total, 2)

    def original_payment(self, order_id: str) -> str | None:
        """The payment method the order was paid with (its first payment)."""
        for entry in self.orders.get(order_id, {}).get("payment_history", []):
            if entry.get("transaction_type") == "payment":
                return str(entry["payment_method_id"])
        return None
