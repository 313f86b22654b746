"""The store's order id, spelled once (tools.order_ids): found in text, normalised, checked."""

import re

import pytest

from tools.order_ids import ORDER_ID_PATTERN, normalise_order_id, order_ids_in

pytestmark = pytest.mark.fast


def test_ids_in_text_are_normalised_unique_and_in_order():
    text = "Orders W1234567 and #w7654321, and again #W1234567; not 12345678 or #W123456."
    assert order_ids_in(text) == ["#W1234567", "#W7654321"]
    assert order_ids_in(text, limit=1) == ["#W1234567"]
    assert order_ids_in("no ids here") == []


def test_a_value_that_is_only_an_id_is_normalised():
    assert normalise_order_id(" w1234567 ") == "#W1234567"
    assert normalise_order_id("1234567") == "#W1234567"
    assert normalise_order_id("# W1234567") == "#W1234567"
    assert normalise_order_id("order W1234567") is None
    assert normalise_order_id("W12345678") is None


def test_the_exact_form_is_the_stores():
    assert re.match(ORDER_ID_PATTERN, "#W1234567")
    assert not re.match(ORDER_ID_PATTERN, "W1234567")
    assert all(re.match(ORDER_ID_PATTERN, o) for o in order_ids_in("W1234567 #w7654321"))
