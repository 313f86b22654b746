"""Facts code can establish reliably from the customer's text (an email, an order id)."""

from __future__ import annotations

import re

from tools.order_ids import order_ids_in

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def find_email(text: str) -> str | None:
    """The first email address in the text, as written."""
    match = _EMAIL.search(text)
    return match.group(0).rstrip(".") if match else None


def find_order_ids(text: str, limit: int = 3) -> list[str]:
    """Order ids mentioned in the text, normalised to the store's ``#W1234567`` form, in order, unique."""
    return order_ids_in(text, limit)
