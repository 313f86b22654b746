"""The store's order id, spelled once: ``#W`` and seven digits.

Customers and small models write it loosely ("W1234567", "#w1234567", "1234567" on its own); everything that
finds, checks or normalises an id uses these, so the format lives in one place.
"""

from __future__ import annotations

import re

#: The exact form the store keys orders by (a pydantic ``pattern`` and a tool argument).
ORDER_ID_PATTERN = r"^#W[0-9]{7}$"
#: An id as it may appear inside a sentence, for word patterns that list it among other words.
ORDER_ID_IN_WORDS = r"#?W\d{7}"

_IN_TEXT = re.compile(r"#?\b[Ww](\d{7})\b")
_LOOSE = re.compile(r"^\s*#?\s*W?\s*(\d{7})\s*$", re.I)


def order_ids_in(text: str, limit: int | None = None) -> list[str]:
    """The order ids written in the text, in the store's form, in order, each once."""
    found: list[str] = []
    for match in _IN_TEXT.finditer(text):
        order_id = f"#W{match.group(1)}"
        if order_id not in found:
            found.append(order_id)
    return found if limit is None else found[:limit]


def normalise_order_id(value: str) -> str | None:
    """A value that is nothing but an order id, loosely written, in the store's form; None for anything else."""
    match = _LOOSE.match(value)
    return f"#W{match.group(1)}" if match else None
