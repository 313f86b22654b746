"""Folding a reading into a task: the order ids a message carries are never lost to an order hint."""

from __future__ import annotations

from graphs.flows.plan import _apply


def test_an_order_hint_never_drops_the_ids_read_in_the_same_message():
    """A small model on vLLM repeated the id as the hint ("W9476887"): the exact id stays, the hint goes."""
    assert _apply({}, {"order_ids": ["#W9476887"], "order_hint": "W9476887"}) == {"order_ids": ["#W9476887"]}
    assert _apply({"order_ids": ["#W1"]}, {"order_hint": "the lamp"}) == {"order_hint": "the lamp"}
