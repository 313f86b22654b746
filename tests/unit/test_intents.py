"""Reading a cancellation request from the customer's words: only the unambiguous cases."""

from __future__ import annotations

import pytest

from graphs.intents import cancel_reason


@pytest.mark.parametrize(("text", "reason"), [
    ("Please cancel order #W1234567, I ordered it by mistake.", "ordered by mistake"),
    ("cancel #W1234567 - accidentally bought it", "ordered by mistake"),
    ("I want to cancel W1234567 because I no longer need it", "no longer needed"),
    ("Can you cancel my order #W1234567? I don't need it anymore.", "no longer needed"),
    ("Cancellation please for #W1234567, changed my mind", "no longer needed"),
])
def test_clear_requests(text, reason):
    assert cancel_reason(text) == reason


@pytest.mark.parametrize("text", [
    "Please cancel order #W1234567.",  # no reason: the model asks
    "Don't cancel #W1234567, I ordered it by mistake but I'll keep it",  # negated
    "I do not want to cancel it, no longer needed is wrong",  # negated
    "I ordered #W1234567 by mistake, what can I do?",  # no cancel request
    "cancel it: ordered by mistake, or maybe I no longer need it",  # both reasons: ambiguous
])
def test_unclear_requests_are_left_to_the_model(text):
    assert cancel_reason(text) is None
