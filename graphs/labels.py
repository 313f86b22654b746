"""How facts are written for customers, the same in every reply and confirmation: amounts and payment methods."""

from __future__ import annotations

from typing import Any


def money(amount: float | int) -> str:
    """'$54.10' style amounts."""
    return f"${float(amount):,.2f}".replace(",", "")


def payment_label(method: dict[str, Any], *, balance: bool = True) -> str:
    """How customers name a payment method: 'PayPal', 'Visa card ending 0417', 'gift card (balance $58.00)'."""
    source = method.get("source")
    if source == "credit_card":
        return f"{str(method.get('brand', 'credit')).title()} card ending {method.get('last_four')}"
    if source == "gift_card":
        return f"gift card (balance {money(method.get('balance') or 0)})" if balance else "your gift card"
    if source == "paypal":
        return "PayPal"
    return str(method.get("id"))
