"""Guards on the model's reading that held-out customers needed (set 2026-12-05c): a word for "everything" counts
only in the request's own sentence, a thing said to be kept is the exclusion, an option echoed as an item is no
item, options listed as all alike are free, a complaint read as an item names nothing, and two items one
description fits are told apart by the option values the customer wrote. Texts are paraphrased shapes; the store
is the generated demo store."""

from __future__ import annotations

from functools import lru_cache

import pytest

from graphs.flows.asking import chosen
from graphs.flows.customer import CustomerView
from graphs.flows.items import indifferent_options, resolve_items
from graphs.flows.selection import ranked_variant
from graphs.flows.text import code_facts
from graphs.flows.understand import merge_with_code
from graphs.selectors import Rank
from tools import RetailStore
from tools.generator import demo_dataset

pytestmark = pytest.mark.fast


@lru_cache(maxsize=1)
def _data() -> dict:
    return demo_dataset()


@lru_cache(maxsize=1)
def _store() -> RetailStore:
    store = RetailStore.open()
    store.load_json(_data())
    return store


def _merged(text: str, reading: dict) -> dict:
    return merge_with_code(text, reading, code_facts(text)).model_dump(mode="json", exclude_defaults=True)


def test_everything_counts_only_in_the_sentence_that_asks_for_the_task():
    aside = ("The lamp from my last order clashes with everything else on my desk. Could I swap it for a red one?")
    reading = {"tasks": ["exchange"], "items": [{"item": "lamp", "wanted": "red"}], "all_items": True}
    assert "all_items" not in _merged(aside, reading)
    asked = "The lamp is fine. Could I swap everything else in that order for red ones?"
    assert _merged(asked, reading)["all_items"] is True
    assert _merged("All of them.", {"all_items": True})["all_items"] is True  # an answer names no task


def test_the_thing_said_to_be_kept_is_excluded_from_every_item():
    text = ("My parcel with the teapot came. The teapot is the one thing I'm keeping. Please return everything else "
            "in that box.")
    got = _merged(text, {"tasks": ["return"], "all_items": True, "order_hint": "the one with the teapot"})
    assert got["all_items"] is True and got["except_items"] == ["teapot"]
    plain = "Please return everything in my order with the teapot."
    assert "except_items" not in _merged(plain, {"tasks": ["return"], "all_items": True,
                                                 "order_hint": "my order with the teapot"})


def test_an_item_said_only_as_the_one_needed_is_not_acted_on():
    """ "I only need the <A>. Please <task> the <B>": <A> is why <B> goes, not a second item to act on."""
    reading = {"tasks": ["return"], "items": [{"item": "round teapot"}, {"item": "square teapot"}]}
    text = ("Two teapots came in the parcel with my kettle and I only really need the round one. "
            "I'd like to send back the square teapot.")
    assert _merged(text, reading)["items"] == [{"item": "square teapot"}]
    # A sentence that starts the request is no remark about what stays: both items are asked for.
    both = "Please return the round teapot and the square teapot, I only need the kettle."
    assert len(_merged(both, reading)["items"]) == 2
    # Nothing is left to act on: the reading stands (the questions that follow sort it out).
    only = "I only need the round teapot and the square teapot."
    assert len(_merged(only, reading)["items"]) == 2


def test_an_option_echoed_as_an_item_is_not_an_item():
    text = "Could you switch the red bike to a green one, same small frame? Road or city, I don't care."
    reading = {"tasks": ["modify_items"], "items": [{"item": "red bike", "wanted": "green"},
                                                    {"item": "small frame", "wanted": "small frame"},
                                                    {"item": "city", "wanted": "city"}]}
    assert [i["item"] for i in _merged(text, reading)["items"]] == ["red bike"]


def _order_with_two(product: str) -> dict:
    """An order of the demo store with two items of one product (their option values told apart)."""
    for order in _data()["orders"].values():
        same = [i for i in order["items"] if i["name"] == product]
        if len(same) == 2 and same[0]["options"] != same[1]["options"]:
            return order
    raise LookupError(product)


def test_two_items_one_description_fits_are_told_apart_by_the_values_written():
    order = _order_with_two("Indoor Security Camera")
    first, second = [i for i in order["items"] if i["name"] == "Indoor Security Camera"]
    told = next(v for k, v in first["options"].items() if v != second["options"][k])
    said = {"items": [{"item": "security camera"}], "texts": [f"Please return the {told} security camera."]}
    assert resolve_items(order, said).value == [first["item_id"]]
    said = {"items": [{"item": "security camera"}], "texts": ["Please return the security camera."]}
    assert resolve_items(order, said).status == "ambiguous"
    # The value wanted instead is not the value of the item meant.
    said = {"items": [{"item": "security camera", "wanted": told}], "texts": [f"Make the camera {told}."]}
    assert resolve_items(order, said).status == "ambiguous"


def test_a_complaint_read_as_an_item_names_nothing_beside_a_real_item():
    order = _order_with_two("Indoor Security Camera")
    first = next(i for i in order["items"] if i["name"] == "Indoor Security Camera")
    value = first["options"]["resolution"]
    said = {"items": [{"item": f"{value} security camera"},
                      {"item": "the picture it takes after dark is far too noisy for the money"}],
            "texts": [f"I want to return the {value} security camera, the picture it takes after dark is far too "
                      "noisy for the money."]}
    assert resolve_items(order, said).value == [first["item_id"]]
    said["items"] = [{"item": "a blender"}, {"item": f"{value} security camera"}]
    assert resolve_items(order, said).status == "none"  # a short product that is not there is still asked about


def test_options_listed_as_all_alike_are_no_constraint_of_a_ranking():
    view = CustomerView.load(_store(), next(iter(_data()["users"])))
    product = next(p for p in _data()["products"].values()
                   if len({v["options"].get("type") for v in list(p["variants"].values())[1:] if v["available"]}
                          - {None}) >= 2)
    variants = list(product["variants"].values())
    item = {**variants[0], "name": product["name"], "product_id": product["product_id"]}
    available = [v for v in variants if v["available"] and v["item_id"] != item["item_id"]]
    cheapest = min(available, key=lambda v: float(v["price"]))
    other = next(v["options"]["type"] for v in available if v["options"]["type"] != cheapest["options"]["type"])
    texts = [f"{other.title()}, {cheapest['options']['type']}, whatever, I really don't care."]
    assert indifferent_options(texts, variants) == {"type"}
    assert indifferent_options([f"{other.title()} please."], variants) == set()
    assert ranked_variant(view, item, other, Rank.CHEAPEST, texts).value == cheapest["item_id"]
    assert ranked_variant(view, item, other, Rank.CHEAPEST, [f"{other} please"]).value != cheapest["item_id"]


def test_a_sentence_that_keeps_one_choice_leaves_the_other_picked():
    choices = [["1", "Kettle (color red, capacity 1 liter)"], ["2", "Kettle (color green, capacity 2 liters)"]]
    assert chosen("No, leave the green one as it is. Just the red one.", choices) == choices[0]
    assert chosen("No.", choices) is None
    assert chosen("The green one is fine, I'm keeping it.", choices) is None


def test_a_difference_condition_holds_for_a_charge_as_for_a_refund():
    from graphs.flows.selection import holds

    assert holds("refund_above", 150, {"refund": -181.78})  # an upgrade that costs 181.78 more
    assert not holds("refund_above", 150, {"refund": -120.0})
    assert holds("refund_below", 60, {"refund": 50.95})
    assert not holds("refund_above", 150, {"price": 300.0})  # an unknown fact never holds


def test_the_zip_beside_a_new_address_identifies_the_customer():
    text = "Please change my address to 12 Oak Street, Apt 3, Austin TX 78701. I'm Ann Lee, my zip on file is 10001."
    assert code_facts(text)["zip"] == "10001"
    assert code_facts("Please change my address to 12 Oak Street, Apt 3, Austin TX 78701.")["zip"] == "78701"


def test_units_compare_as_the_catalogue_spells_them():
    from graphs.flows.text import tokens

    assert tokens("5-25 lb") == tokens("5-25 lbs") and tokens("6 qt") == tokens("6 quarts")
    assert tokens("2 litres") == tokens("2 liter") and tokens("3 feet") == tokens("3 ft")


def test_a_ranking_said_of_one_item_is_not_another_named_items():
    from graphs.flows.variant_step import _ranking_for

    order = {"items": [{"item_id": "1", "name": "Hiking Boots", "options": {"size": "12"}},
                       {"item_id": "2", "name": "Wireless Earbuds", "options": {"color": "black"}}]}
    said = {"items": [{"item": "wireless earbuds", "wanted": "black", "rank": "cheapest"}]}
    assert _ranking_for(order, order["items"][1], said) == said["items"][0]
    assert _ranking_for(order, order["items"][0], said) is None
    said = {"items": [{"item": "buds", "rank": "cheapest"}]}  # fits no item: still the one item changed
    assert _ranking_for(order, order["items"][1], said) == said["items"][0]


def test_the_method_paid_with_is_not_the_new_one_when_another_is_named():
    from graphs.flows.resolvers import resolve_payment, said_as_paid_with

    texts = ["I paid for my lamp order with a gift card but I'd rather put it on my Visa now."]
    assert said_as_paid_with("gift card", texts)
    assert not said_as_paid_with("Visa", texts)
    assert not said_as_paid_with("gift card", ["I'd rather not use my gift card, move it to my Visa."])
    user = next(u for u in _data()["users"].values()
                if {m["source"] for m in u["payment_methods"].values()} >= {"gift_card", "credit_card"}
                and sum(m["source"] == "gift_card" for m in u["payment_methods"].values()) == 1
                and sum(m.get("brand") == "visa" for m in u["payment_methods"].values()) == 1)
    user_id = next(k for k, v in _data()["users"].items() if v is user)
    view = CustomerView.load(_store(), user_id)
    gift = next(m["id"] for m in user["payment_methods"].values() if m["source"] == "gift_card")
    visa = next(m["id"] for m in user["payment_methods"].values() if m.get("brand") == "visa")
    assert resolve_payment(view, texts[0]).value == gift  # the first kind named, with nothing excluded
    assert resolve_payment(view, texts[0], exclude=gift).value == visa


def test_a_conditional_sentence_names_the_task_to_do_instead():
    text = ("I'd like the lighter lamp instead. But if that costs me more than 150 dollars on top, just cancel "
            "the order.")
    reading = {"tasks": ["modify_items"], "items": [{"item": "lamp", "wanted": "lighter"}],
               "alternatives": [{"condition": "refund_above", "amount": 150, "payment": "gift card"}]}
    assert _merged(text, reading)["alternatives"] == [{"condition": "refund_above", "amount": 150.0,
                                                       "task": "cancel"}]
    plain = "I'd like the lighter lamp instead, if that's possible."
    assert "alternatives" not in _merged(plain, {**reading, "alternatives": [{"condition": "not_possible"}]})


def test_one_item_change_read_as_both_kinds_is_one_request():
    from graphs.flows.plan import fold
    from graphs.understanding import Understanding

    text = "Could you swap the lamp for the blue one?"
    u = Understanding.model_validate({"tasks": ["modify_items", "exchange"], "items": [{"item": "lamp",
                                                                                     "wanted": "blue"}]})
    folded = fold([], None, u, text)
    assert [f["task"] for f in folded.frames] == ["modify_items"]
    assert folded.frames[0]["fallback"] == "exchange"


def test_every_thing_over_every_order_of_a_status_is_every_item_of_each():
    text = "I'd like to send back every single thing from all my orders that were delivered."
    got = _merged(text, {"tasks": ["return"], "order_scope": "all", "order_status": "delivered"})
    assert got["all_items"] is True
    assert "all_items" not in _merged("Please cancel all my pending orders.",
                                      {"tasks": ["cancel"], "order_scope": "all", "order_status": "pending"})


def test_a_catalogue_question_with_a_price_ranking_is_answered_with_that_variant():
    from graphs.flows.steps import product_info_text

    product = next(p for p in _data()["products"].values() if p["name"] == "T-Shirt")
    black = [v for v in product["variants"].values() if v["available"] and v["options"].get("color") == "black"]
    text = "What's the cheapest black t-shirt you have in stock?"
    answer = product_info_text(_store(), text, [{"item": "black t-shirt", "rank": "cheapest"}])
    cheapest = min(black, key=lambda v: float(v["price"]))
    assert f"{float(cheapest['price']):.2f}" in answer and "cheapest" in answer
    priciest = max(black, key=lambda v: float(v["price"]))
    answer = product_info_text(_store(), text, [{"item": "black t-shirt", "rank": "most_expensive"}])
    assert f"{float(priciest['price']):.2f}" in answer
    # Read as a question, not as a change of an order's item.
    got = _merged(text, {"tasks": ["question"], "items": [{"item": "black t-shirt", "rank": "cheapest"}]})
    assert [str(t) for t in got["tasks"]] == ["question"]


def test_street_lines_given_in_parts_are_read_as_the_address():
    from graphs.flows.plan import fold
    from graphs.flows.text import find_street
    from graphs.understanding import Understanding

    assert find_street("48 Oak Road, Apt 3B") == {"address1": "48 Oak Road", "address2": "Apt 3B"}
    assert find_street("the 2 pack please") is None
    frame = {"task": "modify_address", "said": {"order_ids": ["#W1234567"], "texts": ["new address please"]},
             "fallback": None}
    text = "48 Oak Road, Apt 3B"
    u = Understanding.model_validate({"items": [{"item": text}]})  # a reading that took it for an item
    said = fold([frame], "address", u, text).frames[0]["said"]
    assert said["address"] == {"address1": "48 Oak Road", "address2": "Apt 3B"} and not said.get("items")


def test_a_customer_with_no_orders_is_told_so_not_given_an_empty_list():
    from graphs.flows.resolvers import resolve_order

    user_id = next(k for k, u in _data()["users"].items() if not u.get("orders"))
    view = CustomerView.load(_store(), user_id)
    resolution = resolve_order(view, {"order_hint": "the one with the lamp", "items": [{"item": "lamp"}]},
                               ("delivered",))
    assert resolution.status == "none" and resolution.detail == "no_orders"


class _Catalogue:
    """The one product a variant step looks up (``CustomerView.product``)."""

    def __init__(self, product: dict) -> None:
        self._product = product

    def product(self, product_id: str) -> dict | None:
        return self._product if product_id == self._product["product_id"] else None


def test_the_customers_fuller_wording_of_a_variant_binds_over_a_shorter_reading():
    """ "<colour>, still a size <n>" read as just "<colour>" must not become the one <colour> variant in stock in
    another size; an alternative that repeats the failed wish loosely is no alternative."""
    from graphs.flows.variant_step import _variant_for

    def variant(iid: str, size: str, color: str, material: str, available: bool) -> dict:
        return {"item_id": iid, "options": {"size": size, "color": color, "material": material},
                "available": available, "price": 90.0}

    shoes = {"product_id": "p", "name": "Running Shoes", "variants": {v["item_id"]: v for v in (
        variant("1", "10", "red", "leather", True), variant("2", "10", "black", "mesh", False),
        variant("3", "11", "black", "mesh", True), variant("4", "7", "black", "leather", True))}}
    view = _Catalogue(shoes)
    item = {"item_id": "1", "product_id": "p", "name": "Running Shoes",
            "options": {"size": "10", "color": "red", "material": "leather"}}
    order = {"items": [item]}
    said = {"items": [{"item": "red running shoes", "wanted": "black running shoes"}],
            "texts": ["Please change the red running shoes to black, still a size 10."]}
    assert _variant_for(view, order, item, said).value != "4"
    assert _variant_for(view, order, item, said).status == "none"
    loose = {**said, "alternatives": [{"condition": "not_possible", "wanted": "black running shoes"}]}
    assert _variant_for(view, order, item, loose).status == "none"
    other = {**said, "alternatives": [{"condition": "not_possible", "wanted": "black, size 11"}]}
    assert _variant_for(view, order, item, other).value == "3"
    # Only a colour said anywhere: the one black variant that keeps the most is offered, as before.
    plain = {"items": [{"item": "red running shoes", "wanted": "black"}],
             "texts": ["Please change the red running shoes to black."]}
    assert _variant_for(view, order, item, plain).value == "4"


# --- held-out set 2026-12-05f ------------------------------------------------------------------------------
def test_both_of_one_described_item_takes_both_units_and_is_not_every_item():
    """ "Two of the same <item> came ... return both of them": two units of that item, not the whole order, and
    not every order either; "both of my orders" still is every order."""
    from graphs.flows.items import resolve_items, units_said

    text = "My order came with two of the same red backpack and I'd like to return both of them."
    got = _merged(text, {"tasks": ["return"], "items": [{"item": "red backpack"}], "all_items": True,
                         "order_scope": "all"})
    assert "all_items" not in got and "order_scope" not in got
    both_orders = "Please return the lamps from both of my orders."
    assert _merged(both_orders, {"tasks": ["return"], "items": [{"item": "lamps"}],
                                 "order_scope": "all"})["order_scope"] == "all"
    assert units_said("red backpack", [text]) == 2 and units_said("lamp", ["Return the lamp."]) == 1
    bag = {"item_id": "7", "name": "Backpack", "options": {"color": "red"}}
    order = {"items": [bag, {"item_id": "8", "name": "Water Bottle", "options": {}}, dict(bag)]}
    assert resolve_items(order, {"items": [{"item": "red backpack"}], "texts": [text]}).value == ["7", "7"]
    assert resolve_items(order, {"items": [{"item": "red backpack"}],
                                 "texts": ["Return the red backpack."]}).value == ["7"]
    # Counted twice over (the reading listed it twice): still only the units the order has.
    twice = {"items": [{"item": "red backpack"}, {"item": "red backpack"}], "texts": [text]}
    assert resolve_items(order, twice).value == ["7", "7"]


def test_an_item_excluded_over_several_orders_need_not_be_in_each():
    from graphs.flows.selection import all_except

    order = {"items": [{"item_id": "1", "name": "Water Bottle", "options": {}},
                       {"item_id": "2", "name": "Luggage Set", "options": {}}]}
    assert all_except(order, ["the headphones"]).status == "none"
    assert all_except(order, ["the headphones"], over_several=True).value == ["1", "2"]


def test_a_usual_payment_method_is_not_the_one_paid_with():
    from graphs.flows.resolvers import says_original

    assert not says_original("my card, the usual one")
    assert says_original("the same card as before") and says_original("the original method")


def test_an_answer_that_picks_the_item_keeps_the_variant_wished_before():
    from graphs.flows.plan import _answer_to_awaited
    from graphs.understanding import Understanding

    said = {"items": [{"item": "my boots", "wanted": "size 9"}]}
    update = {"items": [{"item": "the size 12 waterproof ones", "wanted": None}]}
    got = _answer_to_awaited("items", said, update, "The size 12 waterproof ones.", Understanding())
    assert got["items"] == [{"item": "the size 12 waterproof ones", "wanted": "size 9"}]


def test_a_material_said_as_an_adjective_is_the_material():
    from graphs.flows.items import item_score

    wood = {"item_id": "1", "name": "Bookshelf", "options": {"material": "wood"}}
    metal = {"item_id": "2", "name": "Bookshelf", "options": {"material": "metal"}}
    assert item_score("the wooden one", wood) > item_score("the wooden one", metal)


def test_what_follows_the_ranking_word_binds_the_ranking():
    def variant(iid: str, size: str, color: str, price: float, available: bool = True) -> dict:
        return {"item_id": iid, "options": {"screen size": size, "color": color}, "available": available,
                "price": price}

    tablet = {"product_id": "t", "name": "Tablet", "variants": {v["item_id"]: v for v in (
        variant("1", "12-inch", "gold", 680.0), variant("2", "10-inch", "silver", 200.0),
        variant("3", "12-inch", "silver", 220.0), variant("4", "12-inch", "black", 150.0, False))}}
    item = {"item_id": "1", "product_id": "t", "name": "Tablet", "options": {"screen size": "12-inch", "color": "gold"}}
    view = _Catalogue(tablet)
    said = ["Swap my gold tablet for the cheapest 12-inch model you have in stock, colour doesn't matter."]
    assert ranked_variant(view, item, "cheapest", Rank.CHEAPEST, said).value == "3"
    # The words before the ranking describe the item the customer has, not the one wanted.
    assert ranked_variant(view, item, None, Rank.CHEAPEST, ["Swap my 12-inch tablet for the cheapest one."]).value == "2"


def test_an_address_given_in_parts_is_asked_for_what_is_missing_not_again():
    """City, state and zip first, the street after: the second question names the street, and it is progress,
    not the same question asked again (which would escalate at the third)."""
    from graphs.flows.asking import repeated
    from graphs.flows.steps import _address_step
    from graphs.flows.text import find_city_line

    assert find_city_line("Columbus OH 43210") == {"city": "Columbus", "state": "OH", "zip": "43210"}
    assert find_city_line("I have 2 orders 12345") is None
    first = _address_step({})
    rest = _address_step({"address": find_city_line("Columbus OH 43210")})
    assert first.slot == rest.slot == "address" and "street" in rest.text and rest.still_missing == "address1"
    _, asked, _ = repeated(first, "modify_address", {})
    text, asked, give_up = repeated(rest, "modify_address", asked)
    assert text == rest.text and give_up is None  # asked once for the whole, once for the street
    # The same partial question again is a repeat, reworded.
    again, _, _ = repeated(rest, "modify_address", asked)
    assert again != rest.text


def test_an_alternative_read_as_a_second_change_of_the_item_is_only_the_alternative():
    text = "I'd rather have the black lamp in white. If the white one costs more than $90, the white LED one instead."
    reading = {"tasks": ["modify_items"], "items": [{"item": "black lamp", "wanted": "white lamp"},
                                                    {"item": "black lamp", "wanted": "white LED lamp"}],
               "alternatives": [{"condition": "price_above", "amount": 90, "wanted": "white LED lamp"}]}
    got = _merged(text, reading)
    assert got["items"] == [{"item": "black lamp", "wanted": "white lamp"}] and got["alternatives"]


def test_an_answer_naming_the_pair_to_change_and_the_pair_that_stays_picks_the_first():
    """ "The size 12 ones then. The size 10s stay as they are", read as two items each wanted as itself: the one
    said to stay is dropped, and the answer keeps the variant wished before."""
    from graphs.flows.plan import _answer_to_awaited
    from graphs.understanding import Understanding

    text = "Oh, there are two pairs? The size 12 ones then. The size 10s stay as they are."
    got = _merged(text, {"tasks": ["modify_items"], "items": [{"item": "size 12 ones", "wanted": "size 12 ones"},
                                                              {"item": "size 10s", "wanted": "size 10s"}]})
    assert [i["item"] for i in got["items"]] == ["size 12 ones"]
    said = {"items": [{"item": "my boots", "wanted": "size 9"}]}
    update = _answer_to_awaited("items", said, {"items": got["items"]}, text, Understanding())
    assert update["items"] == [{"item": "size 12 ones", "wanted": "size 9"}]


def test_state_and_zip_read_into_the_wrong_fields_are_read_by_code():
    """ "<ST>, <zip>" read as city <ST>, state <zip>: the reading's address is dropped, and as the answer to an
    address question code reads the state and the zip exactly."""
    from graphs.flows.plan import _answer_to_awaited
    from graphs.understanding import Understanding

    text = "TX, 77081"
    got = _merged(text, {"address": {"city": "TX", "state": "77081", "zip": "77081"}})
    assert "address" not in got
    update = _answer_to_awaited("address", {}, {k: v for k, v in got.items() if k != "zip"}, text,
                                Understanding(**got))
    assert update["address"] == {"state": "TX", "zip": "77081"}


def test_moving_said_as_the_reason_for_another_request_is_no_address_change():
    text = ("I'm moving into a furnished place and the kitchen things I ordered are now redundant. I'd like to "
            "return that order.")
    assert _merged(text, {"tasks": ["return", "change_default_address"]})["tasks"] == ["return"]
    moved = "I'm moving: please send my lamp order to 12 Main Street, Springfield, IL 62701 and cancel the other."
    assert "modify_address" in _merged(moved, {"tasks": ["modify_address", "cancel"]})["tasks"]


def test_money_that_should_go_to_a_method_is_no_address_change():
    got = _merged("The refund should go to your gift card.", {"tasks": ["modify_address"], "payment": "gift card"})
    assert "tasks" not in got and got["payment"] == "gift card"
    sent = _merged("Can it go to my office instead? Send it to 12 Main Street, Springfield, IL 62701.",
                   {"tasks": ["modify_address"]})
    assert sent["tasks"] == ["modify_address"]
