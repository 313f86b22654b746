"""The customer's yes or no, read by code (issue 15's defects: "cancel it please" at a cancel confirmation was a
no; "absolutely", "yup", "correct" were not a yes)."""

from __future__ import annotations

import pytest

from graphs.answers import confirmation_answer, plain_answer
from graphs.confirmations import parse_decision

CANCEL = "cancel_pending_order"
RETURN = "return_delivered_order_items"


@pytest.mark.parametrize(("text", "tool", "expected"), [
    ("cancel it please", CANCEL, "yes"),
    ("Cancel", CANCEL, "yes"),
    ("yes, please cancel it", CANCEL, "yes"),
    ("go ahead and cancel", CANCEL, "yes"),
    ("absolutely", CANCEL, "yes"),
    ("yup", RETURN, "yes"),
    ("Correct.", RETURN, "yes"),
    ("that's right", RETURN, "yes"),
    ("please", RETURN, "yes"),
    ("well, yes", RETURN, "yes"),
    ("sounds good", RETURN, "yes"),
    ("return them", RETURN, "yes"),
    ("no", CANCEL, "no"),
    ("nah", CANCEL, "no"),
    ("don't cancel it", CANCEL, "no"),
    ("please don't", CANCEL, "no"),
    ("wait", CANCEL, "no"),
    ("hold on, not yet", RETURN, "no"),
    ("actually no", RETURN, "no"),
    ("cancel", RETURN, "no"),  # at a return, "cancel" calls the return off
    ("never mind", RETURN, "no"),
    # Near-misses: neither, so the message is read as a new request.
    ("no longer needed", CANCEL, None),
    ("what's the refund amount?", RETURN, None),
    ("can you change the size instead", RETURN, None),
    ("keyboard", RETURN, None),
    ("yesterday I got it", RETURN, None),
    ("nothing else", RETURN, None),
])
def test_confirmation_answers(text, tool, expected):
    assert confirmation_answer(text, tool) == expected
    assert parse_decision(text, tool) == expected


def test_buttons_and_payloads():
    assert parse_decision(True) == "yes" and parse_decision(False) == "no"
    assert parse_decision({"value": "yes"}) == "yes" and parse_decision({"answer": "no"}) == "no"


@pytest.mark.parametrize(("text", "expected"), [
    ("yes", "yes"), ("Yup, that's the one", "yes"), ("absolutely", "yes"), ("nope", "no"), ("no, the other one", "no"),
    # A plain answer only: requests and reasons are not answers.
    ("please cancel my order", None), ("cancel my order", None), ("no longer needed", None), ("no problem", None),
    ("perfect, and also return the lamp", None), ("Nancy Lee, zip 10001", None), ("okra", None),
])
def test_plain_answers(text, expected):
    assert plain_answer(text) == expected
