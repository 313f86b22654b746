"""Code's reading under the model's: each task of a message gets its own part and details, each item its own
clause, and a model reading is kept only as far as the customer said it. The messages are the ones the
embedded model got wrong in the evaluation (each case names its scenario); the store is the generated demo store
the scenarios are written against."""

from __future__ import annotations

from functools import lru_cache

import pytest

from graphs.flows.customer import CustomerView
from graphs.flows.items import named_items, resolve_items
from graphs.flows.plan import fold
from graphs.flows.segments import task_parts
from graphs.flows.steps import next_step
from graphs.flows.text import order_description_spans, plausible_tasks
from graphs.flows.understand import merge_with_code
from graphs.understanding import Task, Understanding
from tools import RetailStore
from tools.generator import demo_dataset


@lru_cache(maxsize=1)
def _store() -> RetailStore:
    store = RetailStore.open()
    store.load_json(demo_dataset())
    return store


def _view(user_id: str) -> CustomerView:
    return CustomerView.load(_store(), user_id)


REROUTE = ("Hi, lena.moreau9631@example.com. Two things: please cancel the order with the air purifier, I no longer "
           "need it. And the order with the dumbbell set should go to my office instead: 500 Market Street, Suite "
           "300, Philadelphia, PA 19106.")


def test_two_tasks_in_one_message_each_get_their_part_and_their_details():
    """multi-cancel-and-reroute-one-message: one order description, one address, two orders."""
    parts = task_parts(REROUTE, ["cancel", "modify_address"])
    assert parts is not None and "".join(parts) == REROUTE
    assert "air purifier" in parts[0] and "dumbbell set" in parts[1] and "500 Market" in parts[1]
    reading = Understanding.model_validate({
        "tasks": ["cancel", "modify_address"], "email": "lena.moreau9631@example.com", "reason": "no longer needed",
        "order_hint": "the one with the air purifier",
        "address": {"address1": "500 Market Street", "address2": "Suite 300", "city": "Philadelphia", "state": "PA",
                    "zip": "19106"}})
    cancel, reroute = fold([], None, reading, REROUTE).frames
    assert cancel["said"]["order_hint"] and "address" not in cancel["said"]
    assert "order_hint" not in reroute["said"] and reroute["said"]["address"]["city"] == "Philadelphia"
    view = _view("lena_moreau_6143")
    first = next_step(Task.CANCEL, cancel["said"], view)
    second = next_step(Task.MODIFY_ADDRESS, reroute["said"], view)
    assert (first.kind, first.args["order_id"]) == ("confirm", "#W1172543")
    assert (second.kind, second.args["order_id"]) == ("confirm", "#W8980682")


def test_parts_are_not_guessed_when_a_task_has_no_verb_in_the_text():
    assert task_parts("Cancel my lamp order and the other one too.", ["cancel", "return"]) is None
    assert task_parts("Exchange and return, please", ["return", "exchange"]) is None  # not in the order written


def test_an_item_the_reading_left_out_joins_the_change_with_its_own_clause():
    """modify-items-shoes-and-kettle: the model read the shoes only; the kettle's clause says what is wanted."""
    text = ("In my order with the running shoes I'd like to change two things: the blue mesh running shoes in size 9 "
            "instead of 7, and the tea kettle in the 2 liter version for electric stoves. Charge the difference to "
            "my Visa ending 4039.")
    said = {"order_hint": "my order with the running shoes", "payment": "Visa ending 4039", "texts": [text],
            "items": [{"item": "blue mesh running shoes", "wanted": "size 9"}]}
    step = next_step(Task.MODIFY_ITEMS, said, _view("lena_brown_0284"))
    assert step.kind == "confirm"
    assert step.args["item_ids"] == ["2560976701", "4617959561"]
    assert step.args["new_item_ids"] == ["8868412696", "4938583329"]


def test_an_item_that_only_names_the_order_is_not_the_one_changed():
    """exchange-thermostat-order-by-hiking-boots: the model put the wanted variant on the boots."""
    text = ("Hi, Mason Lee here, zip 78237. In the order where I bought the hiking boots, I got a smart thermostat for "
            "Alexa but I need the Google Assistant one. Can I exchange it?")
    view = _view("mason_lee_2254")
    order = view.orders["#W8142894"]
    named = {n.item["name"]: n for n in named_items(order["items"], [text])}
    assert named["Hiking Boots"].describes_order and not named["Smart Thermostat"].describes_order
    assert "Google Assistant" in named["Smart Thermostat"].clause
    said = {"order_hint": "the one with the hiking boots", "texts": [text], "payment": "gift card",
            "items": [{"item": "hiking boots", "wanted": "Google Assistant"}]}
    step = next_step(Task.EXCHANGE, said, view)
    assert step.kind == "confirm", step.text
    assert (step.args["item_ids"], step.args["new_item_ids"]) == (["1076342977"], ["6571183273"])


def test_the_same_item_described_twice_is_one_item():
    """policy-change-of-mind-return-to-exchange: 'the pet bed ... same grey fleece' is one pet bed."""
    view = _view("harper_wilson_5585")
    said = {"items": [{"item": "pet bed", "wanted": "medium size"}, {"item": "grey fleece", "wanted": "same"}]}
    assert resolve_items(view.orders["#W5884263"], said).value == ["1897038606"]


def test_a_wanted_variant_the_model_left_the_same_is_read_from_the_customers_words():
    """policy-second-item-modification: the model's wanted kept the colour; the text says white."""
    text = ("In my order with the wall clock, I'd like the clock in white instead of black, same 12 inch analog "
            "one. Use my Visa ending 4239 for the difference.")
    said = {"order_hint": "the wall clock", "payment": "Visa ending 4239", "texts": [text],
            "items": [{"item": "wall clock", "wanted": "same 12 inch analog one"}]}
    step = next_step(Task.MODIFY_ITEMS, said, _view("daiki_moreau_8214"))
    assert step.kind == "confirm", step.text
    assert (step.args["item_ids"], step.args["new_item_ids"]) == (["2155427633"], ["5901884245"])


def test_order_descriptions_end_where_the_request_begins():
    text = "In my order with the vacuum cleaner I'd like to exchange the red fleece jacket, and the order where I got the lamp"
    assert [text[a:b] for a, b in order_description_spans(text)] == ["order with the vacuum cleaner",
                                                                     "order where I got the lamp"]


def test_a_reading_is_kept_only_as_far_as_the_customer_said_it():
    merged = merge_with_code("I want to return the pet bed I received, refund to my Visa.",
                             {"tasks": ["return"], "payment": "visa ending 1234",
                              "items": [{"item": "pet bed", "wanted": "size 11, red"}]}, {})
    assert merged.payment == "visa" and merged.items[0].item == "pet bed" and merged.items[0].wanted is None
    clock = merge_with_code("In my order with the wall clock, I'd like the clock in white instead of black.",
                            {"tasks": ["modify_items"], "order_hint": "my last order",
                             "items": [{"item": "white running shoes", "wanted": "size 12, red"}]}, {})
    assert clock.items == [] and clock.order_hint is None
    card = merge_with_code("Exchange my red helmet for size L, difference on my Mastercard ending 8095?",
                           {"tasks": ["exchange"], "items": [{"item": "red helmet", "wanted": "size L"},
                                                             {"item": "Mastercard ending 8095"}]}, {})
    assert [i.item for i in card.items] == ["red helmet"] and card.payment == "Mastercard ending 8095"


@pytest.mark.parametrize(("text", "read", "believed"), [
    ("Which versions of the smart watch do you have available at the moment?", ["order_info"], ["question"]),
    ("Is the smart watch from my order #W1234567 available in black?", ["order_info"], ["order_info"]),
    ("My gift card.", ["modify_payment"], []),
    ("3100 Riverside Drive, Apt 12, Austin, TX 78741.", ["modify_address"], []),
    ("Please switch the payment of my order to my gift card.", ["modify_payment"], ["modify_payment"]),
    ("Exchange the kettle for the electric one, refund the difference to PayPal.", ["exchange", "modify_payment"],
     ["exchange"]),
    ("Then which payment methods do I have saved on my account?", ["order_info"], ["question"]),
    ("Which card did I pay my last order with?", ["order_info"], ["order_info"]),
    ("my email, but I really just need the cover letter", ["human"], []),
    ("can I talk to one of your agents?", ["human"], ["human"]),
])
def test_what_a_message_asks_for_needs_its_words(text, read, believed):
    assert plausible_tasks(text, read) == believed


def test_a_no_that_keeps_the_item_declines_even_with_stray_details():
    """policy-exchange-to-unavailable-variant: 'No, then I'll keep the ones I have.' changes nothing."""
    frames = [{"task": "exchange", "said": {"items": [{"item": "hiking boots", "wanted": "size 12 leather"}]},
               "fallback": None}]
    reading = Understanding.model_validate({"order_hint": "the ones I have", "answer": "no"})
    folded = fold(frames, "variant:0", reading, "No, then I'll keep the ones I have.")
    assert folded.dropped and folded.frames == []


def test_a_new_request_instead_of_an_answer_goes_first_and_the_question_comes_back():
    frames = [{"task": "modify_payment", "said": {"order_hint": "the bicycle order"}, "fallback": None}]
    reading = Understanding.model_validate({"tasks": ["order_info"], "order_hint": "my order with the sneakers"})
    folded = fold(frames, "payment", reading, "Also, what's the tracking number of my order with the sneakers?")
    assert [f["task"] for f in folded.frames] == ["order_info", "modify_payment"]


def test_a_payment_change_with_no_other_method_is_explained_not_asked():
    view = _view("lucas_smith_3214")
    step = next_step(Task.MODIFY_PAYMENT, {"order_ids": ["#W4744902"], "texts": ["change the payment"]}, view)
    assert step.kind == "refuse" and "only payment method" in step.text


# --- found by the held-out scenarios (written after the fixes above, run once untuned: 7/12) -------------------

def test_code_reads_a_complete_address_and_a_greeted_name():
    from graphs.flows.text import code_facts, find_name

    facts = code_facts("can you send it to my office instead? 1500 Riverside Avenue, Suite 400, Jacksonville, FL 32207.")
    assert facts["address"] == {"address1": "1500 Riverside Avenue", "address2": "Suite 400", "city": "Jacksonville",
                                "state": "FL", "zip": "32207"}
    assert "address" not in code_facts("I live at 12 main st, springfield")  # partial: the model's to read
    assert find_name("Hiya, Chloe Ahmed here, zip 97252.") == ("Chloe", "Ahmed")


def test_a_status_question_in_a_sentence_of_its_own_is_a_task_and_a_fallback_is_not():
    text = ("Hey, two things. I ordered the coffee maker by accident, can you cancel that order? And did the hiking "
            "boots ever get delivered? Email is hugo.moore4466@example.org")
    assert [t.value for t in merge_with_code(text, {"tasks": ["cancel"]}, {}).tasks] == ["cancel", "order_info"]
    assert [t.value for t in merge_with_code("Cancel it, did it ship?", {"tasks": ["cancel"]}, {}).tasks] == ["cancel"]
    fallback = "Please cancel my order with the perfume. If that's not possible, then please just return it."
    assert [t.value for t in merge_with_code(fallback, {"tasks": ["cancel", "return"]}, {"fallback": "return"}).tasks] \
        == ["cancel"]


def test_send_back_is_not_the_original_payment_and_the_gift_card_named_wins():
    from graphs.flows.resolvers import resolve_payment

    view = _view("harper_wilson_5585")
    text = "I need to send back the pet bed. Can the refund go on my gift card?"
    assert resolve_payment(view, text, "#W5884263").value == "gift_card_8582034"
    assert resolve_payment(view, "the original payment method", "#W5884263").value == "credit_card_6055613"


def test_letter_sizes_are_said_in_words_and_i_am_is_not_size_m():
    """heldout-multi-return-sunglasses-then-exchange-fleece: 'an XL and I'm swimming in it ... a large'."""
    text = ("the red fleece jacket I got a while back is an XL and I'm swimming in it. Can I exchange it for a "
            "large?")
    step = next_step(Task.EXCHANGE, {"items": [{"item": "red fleece jacket"}], "texts": [text], "payment": "visa"},
                     _view("ava_novak_2863"))
    assert step.kind == "confirm" and step.args["new_item_ids"] == ["2084353913"]  # size L, still red


def test_a_reply_fragment_keeps_its_space():
    from graphs.flows.render import say

    assert say("refund_later") == " within 5-7 business days"


def test_only_the_item_asked_to_change_is_changed_and_the_answer_binds_to_it():
    """heldout-modify-items-sneakers-size-up-name-zip: the kettle only describes the purchase."""
    text = ("Hiya, Chloe Ahmed here, zip 97252. I just ordered sneakers and a tea kettle and I think the sneakers are "
            "gonna be too small, can you bump them up a size? Put whatever extra it costs on my visa.")
    view = _view("chloe_ahmed_0336")
    said = {"items": [{"item": "tea kettle"}, {"item": "sneakers"}], "texts": [text], "payment": "visa"}
    question = next_step(Task.MODIFY_ITEMS, said, view)
    assert question.kind == "ask" and "Sneakers" in question.text and question.slot == "variant:7597283079"
    frames = fold([{"task": "modify_items", "said": said, "fallback": None}], question.slot,
                  Understanding.model_validate({"items": [{"item": "sneakers", "wanted": "size 9, same red leather"}]}),
                  "Size 9, same red leather please.")
    step = next_step(Task.MODIFY_ITEMS, frames.frames[0]["said"], view)
    assert step.kind == "confirm" and (step.args["item_ids"], step.args["new_item_ids"]) == (["7597283079"],
                                                                                             ["6230577154"])


def test_a_request_beside_an_answer_is_queued_not_lost():
    frames = [{"task": "exchange", "said": {"items": [{"item": "pet bed", "wanted": "medium"}]}, "fallback": None}]
    reading = Understanding.model_validate({"tasks": ["cancel", "modify_payment"], "payment": "PayPal"})
    text = "PayPal for the difference, and please also cancel my order with the desk lamp."
    folded = fold(frames, "payment", reading, text)
    assert [f["task"] for f in folded.frames] == ["exchange", "cancel"]
    assert folded.frames[0]["said"]["payment"] == "PayPal" and folded.frames[1]["said"]["texts"] == [text]
    # an address that answers our question is not a new request, whatever the reading says
    frames = [{"task": "change_default_address", "said": {}, "fallback": None}]
    reading = Understanding.model_validate({"tasks": ["modify_address"], "address": {"address1": "18 Harbor View Road"}})
    assert [f["task"] for f in fold(frames, "address", reading, "18 Harbor View Road, ship it there").frames] == \
        ["change_default_address"]


def test_a_notebook_is_not_a_laptop():
    from graphs.flows.text import tokens

    assert tokens("notebook") != tokens("laptop") and tokens("sneakers") == tokens("shoe")


def test_code_s_address_keeps_the_flat_line_the_model_read():
    from graphs.flows.text import code_facts
    from graphs.flows.understand import merge_with_code

    text = "Please ship it to 500 Market Street, Philadelphia, PA 19106, flat 4B."
    facts = code_facts(text)
    reading = {"tasks": ["modify_address"], "address": {"address1": "500 Market Street", "address2": "flat 4B",
                                                        "city": "Philadelphia", "state": "PA", "zip": "19106"}}
    address = merge_with_code(text, reading, facts).address
    assert address is not None and address.address2 == "flat 4B" and address.address1 == "500 Market Street"


def test_a_ranking_is_kept_only_as_said():
    from graphs.flows.understand import merge_with_code

    text = "the tea kettle in the 2 liter version please"
    reading = {"tasks": ["modify_items"], "items": [{"item": "tea kettle", "wanted": "2 liter", "rank": "smallest"}]}
    assert merge_with_code(text, reading, {}).items[0].rank is None
    said = "swap it for the cheapest tea kettle you have"
    reading = {"tasks": ["modify_items"], "items": [{"item": "tea kettle", "rank": "cheapest"}]}
    assert merge_with_code(said, reading, {}).items[0].rank == "cheapest"


def test_a_name_inside_a_user_id_is_not_an_introduction():
    from graphs.flows.understand import merge_with_code

    text = "Hi, my user id is fatima_lee_4299. What's the status of my laptop order?"
    reading = {"tasks": ["order_info"], "first_name": "Fatima", "last_name": "Lee"}
    understood = merge_with_code(text, reading, {})
    assert understood.first_name is None and understood.last_name is None
    assert merge_with_code("I'm Fatima Lee", reading, {}).first_name == "Fatima"


def test_an_excluded_item_is_not_acted_on_and_everything_is_the_all_items_selector():
    # The embedded model lists every item it reads, the excluded one too, and "everything" as an item of its own.
    text = "can you switch everything over to the blue version? except the desk fan, leave that one white"
    reading = {"tasks": ["modify_items"], "except_items": ["desk fan"],
               "items": [{"item": "desk fan", "wanted": "white"}, {"item": "all of it but the desk fan",
                                                                   "wanted": "blue"}]}
    understood = merge_with_code(text, reading, {})
    assert understood.all_items and understood.except_items == ["desk fan"]
    assert [(i.item, i.wanted) for i in understood.items] == [("", "blue")]  # a wish for every item
    text = "Everything except the blender - that one I'm keeping"
    reading = {"tasks": ["return"], "except_items": ["blender"],
               "items": [{"item": "blender"}, {"item": "everything else"}]}
    understood = merge_with_code(text, reading, {})
    assert understood.all_items and understood.except_items == ["blender"] and understood.items == []
    # Without an exclusion, named items stay what they are.
    reading = {"tasks": ["return"], "items": [{"item": "blender"}]}
    assert [i.item for i in merge_with_code("return the blender", reading, {}).items] == ["blender"]


def test_over_several_orders_a_whole_order_task_excludes_orders():
    text = ("Could you send all my orders that haven't shipped yet to 4410 Park Road, Apt 12, Charlotte, NC 28209? "
            "Except the one with the laptop.")
    reading = {"tasks": ["modify_address"], "order_scope": "all", "order_status": "pending",
               "except_items": ["the one with the laptop"]}
    understood = merge_with_code(text, reading, {})
    assert understood.except_orders == ["the one with the laptop"] and not understood.except_items
    # A return over several orders excludes items ("everything I got delivered except the blender").
    text = "return everything from all my delivered orders except the blender"
    reading = {"tasks": ["return"], "order_scope": "all", "order_status": "delivered", "all_items": True,
               "except_items": ["blender"]}
    understood = merge_with_code(text, reading, {})
    assert understood.except_items == ["blender"] and not understood.except_orders


def test_a_status_said_in_one_task_s_part_is_not_the_other_task_s():
    # "did the boots get delivered?" narrowed the cancellation to delivered orders, which left the coffee maker's
    # pending order out ("I couldn't find an order of yours with Coffee Maker").
    text = ("Hey, two things. I ordered the coffee maker by accident, can you cancel that order? And did the hiking "
            "boots ever get delivered? Email is hugo.moore4466@example.org")
    reading = Understanding.model_validate({
        "tasks": ["cancel", "order_info"], "reason": "ordered by mistake", "order_status": "delivered",
        "items": [{"item": "coffee maker"}, {"item": "hiking boots"}]})
    cancel, info = fold([], None, reading, text).frames
    assert "order_status" not in cancel["said"] and info["said"]["order_status"] == "delivered"
    assert cancel["said"]["reason"] == "ordered by mistake"


def test_a_ranked_variant_is_an_item_change_even_when_read_as_a_question():
    text = ("I've got a laptop on order that hasn't shipped yet. Just give me the most expensive 15-inch laptop "
            "that's actually in stock.")
    reading = {"tasks": ["order_info"], "items": [{"item": "15-inch laptop", "rank": "most_expensive"}]}
    assert merge_with_code(text, reading, {}).tasks == ["modify_items"]
    delivered = "The laptop I got delivered is slow: I want the most expensive one you have instead."
    assert merge_with_code(delivered, reading, {}).tasks == ["exchange"]
    # No ranking said: the question stays a question.
    plain = {"tasks": ["order_info"], "items": [{"item": "laptop"}]}
    assert merge_with_code("What did I pay for the laptop in my order?", plain, {}).tasks == ["order_info"]


def test_a_wanted_variant_beside_another_request_and_a_street_without_a_name_are_dropped():
    text = "Please send all my pending orders to 1190 Woodward Avenue, Unit 3B, Detroit, MI 48226 instead."
    reading = {"tasks": ["modify_address"], "items": [{"item": "", "wanted": "1190 Woodward Avenue"}]}
    assert merge_with_code(text, reading, {}).items == []
    # An answer to our variant question (no task) keeps its wanted variant.
    answer = merge_with_code("the blue one", {"tasks": [], "items": [{"item": "", "wanted": "blue"}]}, {})
    assert [i.wanted for i in answer.items] == ["blue"]
    text = "the biggest red stainless steel bottle please, zip 74188"
    reading = {"tasks": ["modify_items"], "address": {"address1": "74188", "city": "zip", "state": "red"}}
    assert merge_with_code(text, reading, {}).address is None


def test_the_new_address_copied_into_the_order_description_describes_no_order():
    text = "In that case can you send it to my office instead? 1500 Riverside Avenue, Suite 400, Jacksonville, FL 32207."
    reading = {"tasks": ["modify_address"], "order_hint": "1500 Riverside Avenue, Suite 400, Jacksonville, FL 32207"}
    facts = {"address": {"address1": "1500 Riverside Avenue", "address2": "Suite 400", "city": "Jacksonville",
                         "state": "FL", "zip": "32207"}}
    understood = merge_with_code(text, reading, facts)
    assert understood.order_hint is None and understood.address.city == "Jacksonville"
    kept = merge_with_code("send my order with the desk lamp to 1500 Riverside Avenue, Jacksonville, FL 32207",
                           {"tasks": ["modify_address"], "order_hint": "my order with the desk lamp"}, facts)
    assert kept.order_hint == "my order with the desk lamp"


def test_an_item_that_names_the_order_describes_the_order():
    # "the <item A> that came with my <item B> order": B is the order's description, only A is returned.
    text = "I'd like to return the sunglasses that came with my coffee maker order, the green lenses aren't for me."
    merged = merge_with_code(text, {"tasks": ["return"], "order_hint": "the one with the green lenses",
                                    "items": [{"item": "sunglasses with green lenses"}, {"item": "coffee maker order"}]},
                             {})
    assert [i.item for i in merged.items] == ["sunglasses with green lenses"]
    assert merged.order_hint == "coffee maker order"


def test_a_new_address_read_as_an_item_is_no_item():
    text = "Can you send it to my office instead? 1500 Riverside Avenue, Suite 400, Jacksonville, FL 32207."
    address = {"address1": "1500 Riverside Avenue", "address2": "Suite 400", "city": "Jacksonville", "state": "FL",
               "zip": "32207"}
    merged = merge_with_code(text, {"tasks": ["modify_address"], "address": address,
                                    "items": [{"item": "1500 Riverside Avenue, Suite 400, Jacksonville, FL 32207"}]},
                             {})
    assert merged.items == [] and merged.address is not None and merged.address.address2 == "Suite 400"


def test_statuses_listed_to_ask_about_every_order_do_not_narrow_it():
    listed = ("Could you give me a rundown of all my orders? I've lost track of what's arrived, what's on the way "
              "and what hasn't even left yet.")
    merged = merge_with_code(listed, {"tasks": ["order_info"], "order_scope": "all", "order_status": "delivered"}, {})
    assert merged.order_scope == "all" and merged.order_status is None
    one = "What's the status of all my orders that have been delivered?"
    merged = merge_with_code(one, {"tasks": ["order_info"], "order_scope": "all", "order_status": "delivered"}, {})
    assert merged.order_status == "delivered"


def test_where_a_refund_goes_is_an_alternative_payment_not_another_task():
    text = ("Return the yoga mat and the pet bed. If the refund comes to more than $200, put it on my gift card; "
            "if it's less, send it back to PayPal.")
    merged = merge_with_code(text, {"tasks": ["return"], "items": [{"item": "yoga mat"}, {"item": "pet bed"}],
                                    "alternatives": [{"condition": "refund_above", "amount": 200,
                                                      "payment": "gift card", "task": "modify_payment"}]}, {})
    [alternative] = merged.alternatives
    assert alternative.condition == "refund_above" and alternative.payment == "gift card" and alternative.task is None


def test_an_answer_about_something_else_keeps_the_order_already_named():
    frames = [{"task": "cancel", "said": {"order_hint": "Yes, that's the one, the grill."}, "fallback": None}]
    reading = Understanding.model_validate({"tasks": ["question"], "order_hint": "the one with the number"})
    folded = fold(frames, "reason", reading, "I told you, I don't have the number. Can't you look it up?")
    assert folded.frames[0]["said"]["order_hint"] == "Yes, that's the one, the grill."
    # Speaking of an order, it is a correction of the order meant.
    other = Understanding.model_validate({"order_hint": "the order with the lamp"})
    folded = fold(frames, "reason", other, "Sorry, I meant the order with the lamp.")
    assert folded.frames[0]["said"]["order_hint"] == "the order with the lamp"


def test_payment_words_that_answer_how_to_pay_are_the_answer_not_a_payment_change():
    frames = [{"task": "modify_items", "said": {"order_hint": "the one with the headphones"}, "fallback": None}]
    reading = Understanding.model_validate({"tasks": ["modify_payment"]})
    folded = fold(frames, "payment", reading, "Charge it to the same Visa, please.")
    assert [f["task"] for f in folded.frames] == ["modify_items"]
    assert folded.frames[0]["said"]["payment"] == "Charge it to the same Visa, please."


def test_a_description_made_of_who_the_customer_is_describes_no_order():
    text = "I don't remember which email I used. I'm Aarav Garcia, zip code 98175."
    assert merge_with_code(text, {"order_hint": "the one with the Aarav Garcia's account"}, {"zip": "98175"}) \
        .order_hint is None
    frames = [{"task": "order_info", "said": {"items": [{"item": "skateboard"}]}, "fallback": None}]
    folded = fold(frames, "identity", Understanding.model_validate({"order_hint": "the one for my son"}),
                  "Chen Rossi, zip code 78272, it's for my son")
    assert "order_hint" not in folded.frames[0]["said"]


def test_a_variant_read_onto_the_items_that_describe_the_order_goes_to_the_items_changed():
    # The 1.5B model's reading, as it was: the items of "my order with the <A> and the <B>" took the colour that
    # the message gives the two other items.
    text = ("On my order with the sneakers and the backpack (I don't think it's shipped yet), could you change the "
            "electric kettle and the water bottle to black? Any extra can go on the same PayPal.")
    reading = {"tasks": ["modify_items"], "items": [{"item": "sneakers", "wanted": "black"},
                                                    {"item": "backpack", "wanted": "black"}],
               "order_hint": "the one with the sneakers and the backpack", "payment": "PayPal"}
    [frame] = fold([], None, merge_with_code(text, reading, {}), text).frames
    step = next_step(Task.MODIFY_ITEMS, frame["said"], _view("ingrid_patel_9455"))
    assert step.kind == "confirm", step.text
    assert step.args["order_id"] == "#W0451848"
    assert sorted(zip(step.args["item_ids"], step.args["new_item_ids"], strict=True)) == [
        ("3758257173", "2141892762"), ("4525198614", "9388058802")]


def test_the_task_done_if_the_first_is_not_possible_is_not_a_second_request():
    text = ("I'd like to cancel my order with the perfume, I don't need it anymore. If that's not possible, then "
            "please just return it and refund me.")
    reading = {"tasks": ["cancel", "return"], "items": [{"item": "perfume"}],
               "alternatives": [{"condition": "not_possible", "task": "return"}]}
    merged = merge_with_code(text, reading, {})
    assert [t.value for t in merged.tasks] == ["cancel"] and merged.alternatives[0].task == "return"


def test_a_reason_given_for_one_order_of_a_scope_is_the_whole_requests():
    ask = "Please cancel every order that hasn't shipped yet, except the one with the hiking boots."
    frames = [{"task": "cancel", "said": {"order_ids": [oid], "texts": [ask]}, "fallback": None}
              for oid in ("#W1000001", "#W1000002")]
    other = {"task": "cancel", "said": {"order_ids": ["#W1000003"], "texts": ["cancel the lamp order"]},
             "fallback": None}
    reading = Understanding.model_validate({"reason": "ordered by mistake"})
    folded = fold([*frames, other], "reason", reading, "They were ordered by mistake. By my kid, not me.")
    assert [f["said"].get("reason") for f in folded.frames] == ["ordered by mistake", "ordered by mistake", None]


def test_a_name_read_as_an_item_is_no_item_and_where_it_ships_is_an_address_change():
    assert merge_with_code("Tariq Muller", {"items": [{"item": "Tariq Muller"}], "first_name": "Tariq",
                                            "last_name": "Muller"}, {}).items == []
    assert "modify_address" in plausible_tasks("hi i need to change where my stuff is getting shipped",
                                               ["modify_address"])


def test_a_ranking_the_text_says_goes_on_the_one_item_being_changed():
    text = "Can I swap the blue kettle for whichever 2 liter one is cheapest that you have in stock?"
    reading = {"tasks": ["exchange"], "items": [{"item": "blue kettle", "wanted": "2 liter"}]}
    got = merge_with_code(text, reading, {})
    assert got.items[0].rank == "cheapest" and got.items[0].wanted == "2 liter"
    # Two items: which one the ranking is for is the reading's call, not code's.
    two = {"tasks": ["exchange"], "items": [{"item": "blue kettle", "wanted": "2 liter"}, {"item": "red mug"}]}
    assert all(i.rank is None for i in merge_with_code(text + " And the red mug too.", two, {}).items)
    # No ranking word, no ranking.
    assert merge_with_code("Swap the blue kettle for the 2 liter one.", reading, {}).items[0].rank is None
    # "Changed my mind" says no smallest: the ranking words are whole words.
    assert merge_with_code("I changed my mind, swap the blue kettle for the 2 liter one.", reading, {}).items[0].rank \
        is None


def test_an_exclusion_is_what_the_text_says_after_its_exclusion_word():
    text = ("The <kid> used my tablet to order things. Cancel every order that hasn't shipped yet, except the one "
            "with the hiking boots.")
    reading = {"tasks": ["cancel"], "order_scope": "all", "order_status": "pending", "except_orders": ["tablet"],
               "order_hint": "the one with the hiking boots", "items": [{"item": "hiking boots"}]}
    got = merge_with_code(text, reading, {})
    # The tablet comes before "except": it is excluded from nothing. The boots' order, said after it, is.
    assert got.except_orders == ["the one with the hiking boots"] and got.order_hint is None
    assert all(i.item != "hiking boots" for i in got.items)
    returning = {"tasks": ["return"], "all_items": True, "except_items": ["blender"], "order_ids": ["#W1234567"]}
    assert merge_with_code("Return everything from #W1234567 except the blender.", returning, {}).except_items \
        == ["blender"]
    assert merge_with_code("The blender broke. Return everything from #W1234567.", returning, {}).except_items == []


def test_what_is_kept_excludes_it_whichever_side_of_the_sentence_it_is_on():
    text = "The desk lamp is the only thing I'm keeping. Return everything else from #W1234567."
    reading = {"tasks": ["return"], "order_ids": ["#W1234567"], "all_items": True, "except_items": ["desk lamp"]}
    assert merge_with_code(text, reading, {}).except_items == ["desk lamp"]


def test_a_new_address_for_every_order_of_a_status_is_the_orders_address():
    text = ("Could everything that hasn't shipped yet go to 1 Main St, Austin, TX 78701 instead? Don't change the "
            "address on my account.")
    reading = {"tasks": ["change_default_address"], "order_scope": "all", "order_status": "pending"}
    assert [t.value for t in merge_with_code(text, reading, {}).tasks] == ["modify_address"]
