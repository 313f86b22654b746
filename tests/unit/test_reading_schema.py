"""The reading's schema admits, per message, only the tasks and selectors its text can say (reading_schema.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from graphs.flows.reading_schema import allowed_tasks, reading_format, reading_schema
from graphs.understanding import MessageReading


def _props(text: str) -> dict:
    return reading_schema(text)["properties"]


def test_a_plain_request_is_offered_no_selector():
    props = _props("Please cancel the order with the desk lamp")
    assert {"tasks", "items", "order_hint", "first_name", "last_name", "payment"} <= set(props)
    for selector in ("order_scope", "order_status", "all_items", "except_items", "except_orders",
                     "order_total_below", "order_total_above", "alternatives", "reason", "address"):
        assert selector not in props, selector
    item = reading_schema("Please cancel the order with the desk lamp")["$defs"]["ItemSaid"]["properties"]
    assert "rank" not in item and "wanted" not in item
    assert "wanted" in reading_schema("exchange the lamp for the black one")["$defs"]["ItemSaid"]["properties"]


def test_tasks_are_those_the_text_gives_a_cue_for():
    assert allowed_tasks("please cancle my order") == ["order_info", "cancel", "question"]  # misspelt verb
    assert "return" not in allowed_tasks("cancel the lamp order")
    both = allowed_tasks("the dumbbell set should go to my office instead")
    assert {"modify_address", "change_default_address", "exchange", "modify_items"} <= set(both)
    assert allowed_tasks("hello") == ["question"]


def test_selectors_appear_when_their_words_do():
    props = _props("Return everything from my last order except the blender")
    assert {"all_items", "except_items", "order_scope"} <= set(props)
    assert reading_schema("Return everything from my last order except the blender")["$defs"]["OrderScope"]["enum"] \
        == ["one", "most_recent"]
    props = _props("cancel all my orders that haven't shipped, except the one with the tablet")
    assert "pending" in props["order_status"]["anyOf"][0]["enum"]
    assert "except_orders" in props
    assert "order_total_below" not in props  # no amount written
    schema = reading_schema("swap it for the cheapest one you have")
    assert schema["$defs"]["Rank"]["enum"] == ["cheapest"]
    schema = reading_schema("the blue one; if it's gone, the black one")
    assert "alternatives" in schema["properties"] and schema["$defs"]["Condition"]["enum"] == ["not_possible"]
    schema = reading_schema("if it costs more than $500, cancel instead")
    assert "price_above" in schema["$defs"]["Condition"]["enum"]
    assert _props("cancel it, I ordered it by mistake")["reason"]["anyOf"][0]["enum"] == ["ordered by mistake"]
    assert _props("cancel it, I don't need it anymore")["reason"]["anyOf"][0]["enum"] == ["no longer needed"]
    assert "reason" not in _props("I need to cancel an order")
    assert "address" in _props("send it to 12 Main St, Austin TX 78701")


@pytest.mark.parametrize("text", ["cancel it", "return everything but the lamp", "the cheapest one please"])
def test_the_narrowed_schema_is_still_the_readings_schema(text):
    """Whatever the narrowed schema admits, MessageReading accepts: the narrowing only removes."""
    schema = reading_format(text)["json_schema"]["schema"]
    assert set(schema["properties"]) <= set(MessageReading.model_fields)
    sample = {"tasks": schema["$defs"]["Task"]["enum"][:1], "items": [{"item": "lamp"}]}
    MessageReading.model_validate(sample)
    with pytest.raises(ValidationError):
        MessageReading.model_validate({"tasks": ["no_such_task"]})


def test_a_selector_the_text_has_words_for_is_decided_not_skipped():
    # Decoding writes required properties first: the items and the order, and the scope, exclusions and reason
    # said, are decided before the model can close the object; "one" (or null) stays a possible decision.
    core = ["tasks", "items", "order_hint"]
    schema = reading_schema("I need to cancel every order of mine that hasn't shipped yet, I won't need them anymore")
    # "every order" is no all-items
    assert schema["required"] == [*core, "reason", "order_scope", "order_status"]
    assert schema["$defs"]["OrderScope"]["enum"] == ["one", "all"]
    schema = reading_schema("switch everything over to the blue version, except the desk fan")
    assert schema["required"] == [*core, "all_items", "except_items"]
    # A status of one order narrows it, optionally; "last" is said of weeks too; "all" of items is no scope.
    assert reading_schema("return the lamp from my delivery")["required"] == core
    assert "order_scope" not in reading_schema("return all of it, I got it last week")["required"]
    assert "order_scope" not in reading_schema("return all of it")["properties"]
    # A zip on its own comes with a name; a zip inside an address does not.
    assert reading_schema("Daiki Taylor, zip 76133")["required"] == [*core, "first_name", "last_name"]
    assert "first_name" not in reading_schema("send it to 12 Main St, Austin, TX 78701")["required"]
    assert reading_schema("hello")["required"] == core


def test_a_ranking_of_variants_can_be_read_as_an_item_change_without_a_change_verb():
    tasks = allowed_tasks("just give me the most expensive 15-inch laptop that's in stock")
    assert {"modify_items", "exchange"} <= set(tasks) and "cancel" not in tasks
    assert "wanted" in reading_schema("just give me the most expensive 15-inch laptop")["$defs"]["ItemSaid"]["properties"]


def test_exclusions_and_every_item_need_their_own_words():
    # "but only if ..." is a condition and "the whole house" no order's items: neither selector is offered (a
    # required exclusion made the model exclude the item asked about, and the other items were changed).
    assert "except_items" not in _props("I'd love the 32GB version instead, but only if it's not over $300")
    assert "all_items" not in _props("We switched the whole house over, please change the thermostat")
    assert {"all_items", "except_items"} <= set(_props("return everything except the blender"))
    assert "except_items" in _props("the speaker and the hose in blue. Just not the fan")


def test_a_question_about_payment_methods_asks_for_no_payment_change():
    # The cue says the change, not the topic: the 0.5B on vLLM read "which payment methods do I have" as a change.
    assert "modify_payment" not in allowed_tasks("Could you tell me which payment methods I have on file?")
    assert "modify_payment" not in allowed_tasks("Which payment method did I use for it?")
    assert "modify_payment" in allowed_tasks("Please change the payment method of my order to PayPal")


def test_an_alternative_is_offered_only_what_the_text_can_say_of_one():
    # A refund condition is no price condition, and it is decided (with the payment it sends the refund to).
    schema = reading_schema("Return the mat. If the refund comes to more than $200, put it on my gift card.")
    assert schema["$defs"]["Condition"]["enum"] == ["not_possible", "refund_above", "refund_below"]
    assert "alternatives" in schema["required"]
    both = reading_schema("If it costs more than $300 cancel it; if the refund is under $50 use PayPal")
    assert {"price_above", "refund_below"} <= set(both["$defs"]["Condition"]["enum"])
    # An amount is money written: the digits of an email or an order id are none.
    digits = reading_schema("I'm ann.lee6024@example.org; if #W1234567 has not shipped, cancel it")
    assert digits["$defs"]["Condition"]["enum"] == ["not_possible"]
    # The task done instead is one cued after the last condition word; two conditions decide an alternative.
    two = reading_schema("I ordered boots by mistake. If that order hasn't shipped yet, please cancel it. "
                         "If it already has, just give me the tracking number.")
    assert two["$defs"]["Alternative"]["properties"]["task"]["anyOf"][0]["enum"] == ["order_info"]
    assert "alternatives" in two["required"]
    one = reading_schema("Cancel it; if that's not possible, return it.")
    assert one["$defs"]["Alternative"]["properties"]["task"]["anyOf"][0]["enum"] == ["return"]
    assert "alternatives" not in one["required"]
    assert "task" not in reading_schema("the blue one; if it's gone, the black one")["$defs"]["Alternative"][
        "properties"]


def test_fields_the_text_cannot_fill_are_not_offered_to_pad():
    # Every offered field was filled on most openings (a name for every email, an invented street for the digits
    # of an email or a size, one task repeated to the list's length): tokens at some 60 ms each.
    with_email = _props("Hi, this is juan.brown2091@example.org, I'd like to return my helmet")
    assert "first_name" not in with_email and "address" not in with_email
    assert "address" not in _props("exchange my boots for the size 12 leather ones")
    assert "address" in _props("ship it to 1500 Riverside Avenue instead") and "address" in _props("zip 32207")
    assert {"first_name", "last_name"} <= set(_props("I'm Juan Brown, I'd like to return my helmet"))
    assert _props("did the skateboard ship?")["tasks"]["maxItems"] == 2
