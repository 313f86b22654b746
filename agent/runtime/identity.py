"""Threads that belong to a customer: started with a signed customer token, identified from the first turn.

The owner is the state's ``customer_id`` when ``verified_by == "token"``; such a thread does not exist for any
other customer. Threads identified in chat (email, name + zip) belong to no customer principal: only operators
and the anonymous front end that started them reach them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphs import Stage
from graphs.state import StageChange

TOKEN = "token"


def thread_owner(values: Mapping[str, Any] | None) -> str | None:
    """The customer a thread belongs to, or None (anonymous or chat-identified)."""
    if values and values.get("verified_by") == TOKEN:
        return values.get("customer_id")
    return None


def may_access(values: Mapping[str, Any] | None, customer_id: str | None) -> bool:
    """Operators and anonymous front ends (customer_id None) reach every thread; a customer only their own.
    A thread that does not exist yet is reachable: the customer is about to start it."""
    return customer_id is None or not values or thread_owner(values) == customer_id


def identified_start(customer_id: str, persona: str) -> dict[str, Any]:
    """The first state of a thread started by a customer token: identified, at the order desk."""
    change = StageChange(source=Stage.INTAKE.value, target=Stage.ORDER_DESK.value,
                         reason="customer identified by token", turn=0)
    return {"customer_id": customer_id, "verified_by": TOKEN, "stage": Stage.ORDER_DESK.value,
            "stage_history": [change], "orders_in_focus": [], "persona": persona, "misunderstanding_streak": 0}
