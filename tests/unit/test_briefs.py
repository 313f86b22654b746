"""The graph's own lookups reach the model as short lines with every fact of the record it needs."""

from __future__ import annotations

import json

from graphs.briefs import order_brief
from tests.fixtures_data import small_dataset


def test_order_brief_keeps_the_facts():
    order = small_dataset()["orders"]["#W1000002"]
    brief = order_brief(json.dumps(order))
    assert brief.splitlines()[0] == "Order #W1000002: status delivered."
    assert "Desk Fan (item id 9100000101, size small, color white, price 39.99)" in brief
    assert "payment 61.74 with paypal_2290457" in brief and "Tracking: 482019375566." in brief
    assert "{" not in brief


def test_errors_and_other_text_pass_through():
    assert order_brief("Error: order not found") == "Error: order not found"
