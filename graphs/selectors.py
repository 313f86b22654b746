"""The composable parts of a customer's request, as the model reads them and code evaluates them.

A flat bag of slots cannot say "everything but <an item>", "each of my <status> orders", "the cheapest one in
stock" or "if it costs more than $500, cancel instead". These small selectors can; each is a value in the
customer's words (code still resolves words to ids) or a closed choice that code evaluates against the store
(``graphs.flows.selection``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

OrderStatus = Literal["pending", "processed", "delivered", "cancelled"]


class OrderScope(StrEnum):
    """How many orders a request is about."""

    ONE = "one"
    ALL = "all"
    """Every order of the customer (of ``order_status`` when given): "every <status> order of mine"."""
    MOST_RECENT = "most_recent"
    """The latest order (of ``order_status`` when given): "my last order", "the last thing I got delivered"."""


class Rank(StrEnum):
    """A variant chosen by a ranking among the available ones that have what the customer said."""

    CHEAPEST = "cheapest"
    MOST_EXPENSIVE = "most_expensive"
    LARGEST = "largest"
    SMALLEST = "smallest"


class Condition(StrEnum):
    """A fact the store knows, under which an alternative applies."""

    NOT_POSSIBLE = "not_possible"
    """The request cannot be done: the variant is gone, or the store refuses the write."""
    PRICE_ABOVE = "price_above"
    """The wanted variant costs more than ``amount``."""
    PRICE_BELOW = "price_below"
    REFUND_ABOVE = "refund_above"
    """The refund (or the price difference) is more than ``amount``."""
    REFUND_BELOW = "refund_below"


class Act(StrEnum):
    """What the message does in the dialogue."""

    REQUEST = "request"
    """Asks for something new."""
    ANSWER = "answer"
    """Answers the question we asked."""
    CORRECT = "correct"
    """Corrects something said before ("no, the blue one", "I meant the other order")."""
    CONFIRM = "confirm"
    DENY = "deny"
    ASK = "ask"
    """Asks us a question."""
    HAND_OVER = "hand_over"
    """Wants a person."""
    OTHER = "other"
