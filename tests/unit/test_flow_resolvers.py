"""Resolvers over generated stores: an unambiguous description always resolves to the intended id; an ambiguous
one never resolves silently. Plus code's own reads of a message."""

from __future__ import annotations

from functools import lru_cache

from hypothesis import given, settings
from hypothesis import strategies as st

from graphs.flows.customer import CustomerView
from graphs.flows.evaluate import instead_of
from graphs.flows.items import named_options, resolve_items, resolve_variant
from graphs.flows.plan import fold
from graphs.flows.resolvers import resolve_order, resolve_payment
from graphs.flows.segments import unread_questions
from graphs.flows.steps import next_step
from graphs.flows.text import code_facts, plausible_tasks, tokens
from graphs.understanding import Task, Understanding
from tools import RetailStore
from tools.generator import generate_dataset


@lru_cache(maxsize=4)
def _store(seed: int) -> RetailStore:
    store = RetailStore.open()
    store.load_json(generate_dataset(customers=40, seed=seed))
    return store


def _describe(item: dict) -> str:
    return " ".join([item["name"], *map(str, item["options"].values())])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 3), pick=st.integers(0, 10_000))
def test_an_unambiguous_item_description_resolves_to_that_item(seed, pick):
    store = _store(seed)
    users = [u for u, rec in store.dump_json()["users"].items() if rec["orders"]]
    user_id = sorted(users)[pick % len(users)]
    view = CustomerView.load(store, user_id)
    orders = list(view.orders.values())
    order = orders[pick % len(orders)]
    item = order["items"][pick % len(order["items"])]
    said = {"items": [{"item": _describe(item)}]}
    same_variant_elsewhere = [o for o in orders for i in o["items"] if i["item_id"] == item["item_id"]]
    resolved = resolve_order(view, said, None)
    if len(same_variant_elsewhere) == 1:
        assert resolved.status in ("ok", "ambiguous")
        if resolved.status == "ok":
            assert resolved.value == order["order_id"]
        else:  # another order holds an item that matches the description as well: listed, never guessed
            assert order["order_id"] in [c for c, _ in resolved.candidates]
    items = resolve_items(order, said)
    assert items.status == "ok" and items.value == [item["item_id"]]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 3), pick=st.integers(0, 10_000))
def test_an_ambiguous_item_description_is_never_resolved_silently(seed, pick):
    store = _store(seed)
    cases = []
    for order in (store.order_record(o) for o in sorted(store.dump_json()["orders"])):
        names = [i["name"] for i in order["items"]]
        twins = [i for i in order["items"] if names.count(i["name"]) > 1]
        if len({i["item_id"] for i in twins}) > 1:
            cases.append((order, twins))
    assert cases, "the generated store should hold orders with two variants of one product"
    order, twins = cases[pick % len(cases)]
    result = resolve_items(order, {"items": [{"item": twins[0]["name"]}]})
    assert result.status == "ambiguous"
    assert {c for c, _ in result.candidates} >= {i["item_id"] for i in twins}


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 3), pick=st.integers(0, 10_000))
def test_a_named_available_variant_resolves_and_the_same_one_is_refused(seed, pick):
    store = _store(seed)
    orders = [store.order_record(o) for o in sorted(store.dump_json()["orders"])]
    order = orders[pick % len(orders)]
    item = order["items"][pick % len(order["items"])]
    view = CustomerView.load(store, order["user_id"])
    product = store.product_record(item["product_id"])
    # An option named after its own values ("bagged/bagless: bagged") cannot be told by naming it: skipped.
    if any(tokens(name) & tokens(value) for name, value in item["options"].items()):
        return
    others = [v for v in product["variants"].values() if v["available"] and v["item_id"] != item["item_id"]]
    same = resolve_variant(view, item, ", ".join(map(str, item["options"].values())))
    assert same.status != "ok" or same.value != item["item_id"]
    if others:
        target = others[pick % len(others)]
        # Every option named: the exact variant, nothing else.
        wanted = ", ".join(f"{k} {v}" for k, v in target["options"].items())
        result = resolve_variant(view, item, wanted)
        clash = [v for v in product["variants"].values() if v["options"] == target["options"]]
        if len(clash) == 1:
            assert result.status == "ok" and result.value == target["item_id"]


def test_payment_words_resolve_to_the_customers_method():
    store = _store(0)
    for user_id in sorted(store.dump_json()["users"]):
        view = CustomerView.load(store, user_id)
        methods = list(view.payment_methods.values())
        paypal = [m for m in methods if m["source"] == "paypal"]
        result = resolve_payment(view, "my PayPal")
        if len(paypal) == 1:
            assert result.status == "ok" and result.value == paypal[0]["id"]
        elif not paypal:
            assert result.status == "none"
        for card in (m for m in methods if m["source"] == "credit_card"):
            by_digits = resolve_payment(view, f"the card ending {card['last_four']}")
            assert by_digits.status == "ok" and by_digits.value == card["id"]


def test_code_reads_ids_zip_answers_but_not_false_noes_and_leaves_the_plan_to_the_reading():
    facts = code_facts("I'm at 43221, order W1234567 please; if not possible then return it")
    assert facts["order_ids"] == ["#W1234567"] and facts["zip"] == "43221"
    # "All of it" and "if not, then ..." are the request plan's (all_items, alternatives), not patterns.
    assert "fallback" not in facts and "all_items" not in code_facts("return the whole order")
    assert code_facts("No, keep them.")["answer"] == "no"
    assert "answer" not in code_facts("no longer needed") and "answer" not in code_facts("cancel my order")


def test_tasks_need_a_cue_in_the_text():
    text = "Please cancel the order with the lamp"
    assert plausible_tasks(text, ["cancel", "return", "modify_items"]) == ["cancel"]
    assert plausible_tasks("I moved, update my address on file", ["modify_address"]) == ["change_default_address"]
    assert plausible_tasks("ship order #W1234567 to my new address", ["change_default_address"]) == ["modify_address"]


def test_an_answer_to_our_question_is_not_a_new_task():
    frames = [{"task": "change_default_address", "said": {}, "fallback": None}]
    reading = Understanding.model_validate({"tasks": ["modify_address"], "address": {"address1": "1 Main St",
                                            "city": "Austin", "state": "TX", "zip": "78701"}})
    folded = fold(frames, "address", reading, "1 Main St, Austin TX 78701")
    assert [f["task"] for f in folded.frames] == ["change_default_address"]
    assert folded.frames[0]["said"]["address"]["city"] == "Austin"
    declined = fold(frames, "items", Understanding(answer="no"), "No, never mind.")
    assert declined.dropped and declined.frames == []


def test_a_model_answer_may_not_invent_numbers_ids_or_statuses():
    from graphs.flows.truth import unsupported_claims

    facts = "Refunds take 5-7 business days. Customer: my order #W1234567 cost $54.10?"
    assert unsupported_claims("Refunds take 5-7 business days.", facts) == []
    assert unsupported_claims("Your order #W1234567 cost $54.10.", facts) == []
    assert unsupported_claims("It cost $60.00 and is delivered.", facts) == ["$60.00", "delivered"]
    assert unsupported_claims("Order #W7654321 is fine.", facts) == ["#W7654321"]


def test_a_customer_without_orders_is_told_so_not_given_an_empty_rule():
    view = CustomerView(store=_store(3), user_id="nobody", profile={"payment_methods": {}})
    resolution = resolve_order(view, {"texts": ["what did I order?"]}, None)
    assert (resolution.status, resolution.detail) == ("none", "no_orders")
    step = next_step(Task.ORDER_INFO, {"texts": ["what did I order?"]}, view)
    assert step.kind == "refuse" and step.text == "I can't find any orders on your account."


def test_of_orders_that_fit_one_item_the_one_with_all_the_items_described_is_meant():
    view = CustomerView(store=_store(3), user_id="u", profile={"payment_methods": {}}, orders={
        "#W1": {"order_id": "#W1", "status": "delivered", "items": [
            {"name": "Tablet", "options": {}}, {"name": "Blender", "options": {}}, {"name": "Sunglasses", "options": {}}]},
        "#W2": {"order_id": "#W2", "status": "delivered", "items": [{"name": "Tablet", "options": {}}]}})
    said = {"order_hint": "The one that had the blender, the tablet and the sunglasses in it."}
    assert resolve_order(view, said, ("delivered",)).value == "#W1"
    assert resolve_order(view, {"order_hint": "the tablet one"}, ("delivered",)).status == "ambiguous"


def _two_card_view() -> CustomerView:
    methods = {"credit_card_1": {"id": "credit_card_1", "source": "credit_card", "brand": "visa", "last_four": "1111"},
               "credit_card_2": {"id": "credit_card_2", "source": "credit_card", "brand": "mastercard",
                                 "last_four": "2222"},
               "credit_card_3": {"id": "credit_card_3", "source": "credit_card", "brand": "visa", "last_four": "3333"}}
    order = {"order_id": "#W1", "status": "pending", "items": [],
             "payment_history": [{"transaction_type": "payment", "payment_method_id": "credit_card_1"}]}
    return CustomerView(store=_store(3), user_id="u", profile={"payment_methods": methods}, orders={"#W1": order})


def test_the_method_i_paid_with_is_the_orders_own_among_several_of_its_kind():
    view = _two_card_view()
    for words in ("the card I paid with", "the card I paid for it with, the Visa", "my Visa, the one I used"):
        assert resolve_payment(view, words, "#W1").value == "credit_card_1", words
    # A wish in the present tense names a method, it does not point at the order's own.
    assert resolve_payment(view, "I want to pay with my Mastercard", "#W1").value == "credit_card_2"


def test_the_other_card_is_any_method_but_the_orders_own():
    view = _two_card_view()
    other = resolve_payment(view, "my other card", "#W1")
    assert other.status == "ambiguous" and {c for c, _ in other.candidates} == {"credit_card_2", "credit_card_3"}
    assert resolve_payment(view, "the other Visa", "#W1").value == "credit_card_3"
    assert resolve_payment(view, "the other one, not the one it's on now", "#W1").status == "ambiguous"
    # Without an order to compare with, "other" narrows nothing.
    assert resolve_payment(view, "the other Visa").status == "ambiguous"


def test_task_cues_take_inflections_and_plain_synonyms_of_the_verb():
    assert plausible_tasks("I want it charged to my Visa instead", ["modify_payment"]) == ["modify_payment"]
    assert plausible_tasks("Can you just kill that whole order?", ["cancel"]) == ["cancel"]
    assert plausible_tasks("This wait is killing me, where is my order?", ["cancel"]) == []


def test_an_option_said_to_stay_the_same_is_binding():
    current = {"size": "L", "color": "black", "ventilation": "medium"}
    variants = [{"options": {"size": "M", "color": "red", "ventilation": "medium"}},
                {"options": {"size": "L", "color": "red", "ventilation": "high"}}, {"options": current}]
    assert named_options("red, same size", current, variants) == {"color": "red", "size": "L"}
    assert named_options("red", current, variants) == {"color": "red"}


def test_a_refused_request_is_retried_once_with_what_was_said_for_that_case():
    said = {"payment": "my gift card", "alternatives": [{"condition": "not_possible", "payment": "PayPal"}]}
    retry = instead_of({"task": "modify_payment", "said": said, "fallback": None})
    assert retry["task"] == "modify_payment" and retry["said"]["payment"] == "PayPal"
    assert instead_of(retry) is None  # the alternative is used up: a second refusal ends the request
    fallback = instead_of({"task": "exchange", "fallback": "return",
                           "said": {"alternatives": [{"condition": "not_possible", "task": "return"}]}})
    assert fallback["task"] == "return" and instead_of(fallback) is None
    assert instead_of({"task": "cancel", "said": {}, "fallback": None}) is None


def test_a_status_question_inside_a_request_is_not_a_question_of_its_own():
    text = "For my order that hasn't shipped yet, can you charge my gift card instead?"
    assert unread_questions(text, ["modify_payment"]) == ["modify_payment"]
    assert unread_questions("Cancel the lamp order. Has the blender shipped yet?", ["cancel"]) == ["cancel", "order_info"]


def test_a_question_about_an_address_is_answered_not_taken_for_a_change():
    assert plausible_tasks("What is my default shipping address?", ["change_default_address"]) == ["question"]
    assert plausible_tasks("Which address is order #W1234567 going to?", ["modify_address"]) == ["order_info"]
    assert plausible_tasks("What address do I change it to? Use 1 Main St, Austin TX 78701.",
                           ["modify_address"]) == ["modify_address"]
    assert plausible_tasks("Please update my address to 1 Main St, Austin TX 78701", ["change_default_address"]) \
        == ["change_default_address"]


def test_option_values_compare_with_or_without_hyphens():
    current = {"screen size": "8-inch", "connectivity": "Wi-Fi + Cellular", "storage": "32GB"}
    variants = [{"options": {"screen size": s, "connectivity": c, "storage": "32GB"}}
                for s in ("7-inch", "8-inch") for c in ("Wi-Fi", "Wi-Fi + Cellular")]
    assert named_options("7 inch, 32GB, wifi + cellular", current, variants) == {
        "screen size": "7-inch", "connectivity": "Wi-Fi + Cellular", "storage": "32GB"}


def test_moving_the_payment_is_a_payment_change():
    assert plausible_tasks("Can you move the payment over to my card ending in 1234?", ["modify_payment"]) == \
        ["modify_payment"]


def test_a_thank_you_asks_nothing_but_a_question_form_does():
    assert plausible_tasks("Thanks, that's all for today.", ["question"]) == []
    assert plausible_tasks("Tell me which versions of the lamp you have", ["question"]) == ["question"]
    assert plausible_tasks("Do you sell tents?", ["question"]) == ["question"]
