"""Every tool's success and error paths, including all worked examples of spec §5 (A–G) and §2.1."""

from __future__ import annotations

import json
import math
import threading

import pytest

from tests.unit.retail_ref import example_data
from tools import (
    READ_TOOLS,
    TOOL_ARGS,
    TOOL_DESCRIPTIONS,
    TOOL_NAMES,
    WRITE_TOOLS,
    RetailStore,
    langchain_tools,
    run_tool,
)

GC, CC, PP = "gift_card_6620913", "credit_card_1048826", "paypal_2290457"
O1, O2, U = "#W1000001", "#W1000002", "lena_moreau_3307"
ADDR = {"address1": "1 Elm St", "address2": "", "city": "Austin", "state": "TX", "country": "USA", "zip": "73301"}


@pytest.fixture
def store(new_store):
    s = new_store()
    s.load_json(example_data())
    return s


@pytest.fixture
def make(new_store):
    """A store with the example data and the gift card at ``balance``."""

    def make_one(balance: int) -> RetailStore:
        s = new_store()
        s.load_json(example_data(balance))
        return s

    return make_one


def call(s, name, **kw):
    return run_tool(s, name, kw)


def order(s, oid):
    return s.dump_json()["orders"][oid]


def gc_balance(s):
    return s.dump_json()["users"][U]["payment_methods"][GC]["balance"]


def assert_error_unchanged(s, name, expected, **kw):
    before = json.dumps(s.dump_json())
    assert call(s, name, **kw) == expected
    assert json.dumps(s.dump_json()) == before


# ----------------------------------------------------------------------------- interface
def test_names_and_sets():
    assert len(TOOL_NAMES) == 16 and len(set(TOOL_NAMES)) == 16
    assert set(TOOL_NAMES) == WRITE_TOOLS | READ_TOOLS and not WRITE_TOOLS & READ_TOOLS
    assert len(WRITE_TOOLS) == 7 and {"think", "calculate", "transfer_to_human_agents"} <= READ_TOOLS
    assert set(TOOL_ARGS) == set(TOOL_NAMES) == set(TOOL_DESCRIPTIONS)


def test_schemas_have_no_example_ids():
    import re

    for name, model in TOOL_ARGS.items():
        schema = json.dumps(model.model_json_schema())
        assert not re.search(r"#W\d|\d{7}|@", schema), name
        for f, info in model.model_fields.items():
            assert info.description, (name, f)
    assert TOOL_ARGS["cancel_pending_order"].model_json_schema()["properties"]["reason"]["enum"] == [
        "no longer needed",
        "ordered by mistake",
    ]
    assert TOOL_ARGS["modify_user_address"].model_fields.keys() == {
        "user_id", "address1", "address2", "city", "state", "country", "zip"}


def test_example_roundtrip(store):
    assert store.dump_json() == example_data()
    assert json.dumps(store.dump_json()) == json.dumps(example_data())
    assert store.counts() == {"users": 1, "orders": 2, "products": 2}
    assert store.order_owner(O1) == U and store.order_owner("nope") is None
    assert store.user_order_ids(U) == [O1, O2] and store.user_order_ids("x") == []
    assert store.user_exists(U) and not store.user_exists("LENA_moreau_3307")


# ----------------------------------------------------------------------------- harness
def test_harness_errors(store):
    assert run_tool(store, "nope", {}) == "Unknown action nope"
    assert (
        call(store, "modify_user_address", user_id=U, address1="a", address2="", city="c", state="s", country="x")
        == "Error: ModifyUserAddress.invoke() missing 1 required positional argument: 'zip'"
    )
    assert call(store, "get_order_details") == (
        "Error: GetOrderDetails.invoke() missing 1 required positional argument: 'order_id'"
    )
    assert call(store, "get_order_details", order_id=O1, extra=1) == (
        "Error: GetOrderDetails.invoke() got an unexpected keyword argument 'extra'"
    )
    assert run_tool(store, "think", '{"thought": "hm"}') == ""
    assert run_tool(store, "think", "{bad").startswith("Error: ")
    assert run_tool(store, "think", "[1]").startswith("Error: ")
    assert run_tool(store, "think", None).startswith("Error: ")
    assert call(store, "transfer_to_human_agents", summary="s") == "Transfer successful"
    before = json.dumps(store.dump_json())
    for name, kw in [
        ("return_delivered_order_items", dict(order_id=O2, item_ids="9100000101", payment_method_id=PP)),
        ("return_delivered_order_items", dict(order_id=O2, item_ids=[1], payment_method_id=PP)),
        ("cancel_pending_order", dict(order_id=O1, reason=None)),
        ("modify_pending_order_payment", dict(order_id=[O1], payment_method_id=GC)),
    ]:
        r = call(store, name, **kw)
        assert r.startswith("Error: argument"), r
    assert json.dumps(store.dump_json()) == before


# ----------------------------------------------------------------------------- reads
def test_reads(store):
    assert call(store, "find_user_id_by_email", email="LENA.moreau5521@EXAMPLE.com") == U
    assert call(store, "find_user_id_by_email", email=" lena.moreau5521@example.com") == "Error: user not found"
    assert call(store, "find_user_id_by_name_zip", first_name="lena", last_name="MOREAU", zip="74103") == U
    assert call(store, "find_user_id_by_name_zip", first_name="lena", last_name="moreau", zip="74104") == (
        "Error: user not found"
    )
    assert call(store, "get_order_details", order_id=O1) == json.dumps(example_data()["orders"][O1])
    assert call(store, "get_order_details", order_id="W1000001") == "Error: order not found"
    assert call(store, "get_product_details", product_id="9000000017") == json.dumps(
        example_data()["products"]["9000000017"]
    )
    assert call(store, "get_product_details", product_id="9100000101") == "Error: product not found"
    assert call(store, "get_user_details", user_id=U) == json.dumps(example_data()["users"][U])
    assert call(store, "get_user_details", user_id="nobody") == "Error: user not found"
    assert call(store, "list_all_product_types") == '{"Desk Fan": "9000000017", "Yoga Block": "9000000042"}'


def test_list_all_product_types_sorting(new_store):
    data = example_data()
    data["products"]["9000000017"]["name"] = "LED Light Bulb"
    data["products"]["9000000042"]["name"] = "Laptop"
    s = new_store()
    s.load_json(data)
    assert call(s, "list_all_product_types") == '{"LED Light Bulb": "9000000017", "Laptop": "9000000042"}'


@pytest.mark.parametrize(
    "expr,out",
    [
        ("2 + 2", "4.0"), ("1/3", "0.33"), ("10/4", "2.5"), ("7//2", "3.0"), ("0.125", "0.12"),
        ("2.675", "2.67"), ("3 - 3.0001", "-0.0"), ("1234567890123456789", "1.2345678901234568e+18"),
        ("-7//2", "-4.0"), ("-2**2", "-4.0"), ("2**-1", "0.5"), ("--2", "2.0"), ("1.+.5+007.5", "9.0"),
        ("1/0", "Error: division by zero"), ("1.0/0", "Error: float division by zero"),
        ("2 +", "Error: invalid syntax (<string>, line 1)"), ("", "Error: invalid syntax (<string>, line 0)"),
        ("10**400", "Error: int too large to convert to float"),
        ("()", "Error: float() argument must be a string or a real number, not 'tuple'"),
        ("(-8)**0.5", "Error: float() argument must be a string or a real number, not 'complex'"),
        ("(1)(2)", "Error: 'int' object is not callable"),
        ("2*x", "Error: invalid characters in expression"), ("1e5", "Error: invalid characters in expression"),
        ("1\t+1", "Error: invalid characters in expression"), ("5%2", "Error: invalid characters in expression"),
        ("9**9**9**9", "Error: int too large to convert to float"),
    ],
)
def test_calculate(store, expr, out):
    assert call(store, "calculate", expression=expr) == out


# ----------------------------------------------------------------------------- §5 A
def test_example_a_modify_items_gift_card(store):
    r = call(store, "modify_pending_order_items", order_id=O1, item_ids=["9100000101", "9200000230"],
             new_item_ids=["9100000102", "9200000231"], payment_method_id=GC)
    o = order(store, O1)
    assert r == json.dumps(o)
    last = o["payment_history"][-1]
    assert last == {"transaction_type": "payment", "amount": 12.009999999999998, "payment_method_id": GC}
    assert gc_balance(store) == 45.99 and type(gc_balance(store)) is float
    assert [(i["item_id"], i["price"], i["options"]) for i in o["items"]] == [
        ("9100000102", 54.25, {"size": "large", "color": "white"}),
        ("9200000231", 19.5, {"material": "foam", "size": "large"}),
    ]
    assert [i["name"] for i in o["items"]] == ["Desk Fan", "Yoga Block"]
    assert o["status"] == "pending (item modified)"
    assert_error_unchanged(store, "cancel_pending_order", "Error: non-pending order cannot be cancelled",
                           order_id=O1, reason="no longer needed")
    assert_error_unchanged(store, "modify_pending_order_items", "Error: non-pending order cannot be modified",
                           order_id=O1, item_ids=[], new_item_ids=[], payment_method_id=GC)


# ----------------------------------------------------------------------------- §5 B
def test_example_b_exchange_rounding(store):
    before = store.dump_json()
    r = call(store, "exchange_delivered_order_items", order_id=O2, item_ids=["9200000230", "9100000101"],
             new_item_ids=["9200000231", "9100000102"], payment_method_id=GC)
    o = order(store, O2)
    assert r == json.dumps(o)
    assert list(o)[-5:] == ["payment_history", "exchange_items", "exchange_new_items",
                            "exchange_payment_method_id", "exchange_price_difference"]
    assert o["status"] == "exchange requested"
    assert o["exchange_items"] == ["9100000101", "9200000230"]
    assert o["exchange_new_items"] == ["9100000102", "9200000231"]
    assert o["exchange_payment_method_id"] == GC
    assert o["exchange_price_difference"] == 12.01 and type(o["exchange_price_difference"]) is float
    assert o["items"] == before["orders"][O2]["items"]
    assert o["payment_history"] == before["orders"][O2]["payment_history"]
    assert gc_balance(store) == 58 and type(gc_balance(store)) is int
    assert_error_unchanged(store, "return_delivered_order_items", "Error: non-delivered order cannot be returned",
                           order_id=O2, item_ids=[], payment_method_id=PP)
    assert_error_unchanged(store, "exchange_delivered_order_items",
                           "Error: non-delivered order cannot be exchanged",
                           order_id=O2, item_ids=[], new_item_ids=[], payment_method_id=PP)


def test_exchange_insufficient_balance(make):
    s = make(12)
    assert_error_unchanged(s, "exchange_delivered_order_items",
                           "Error: insufficient gift card balance to pay for the price difference",
                           order_id=O2, item_ids=["9100000101"], new_item_ids=["9100000102"], payment_method_id=GC)
    # negative difference never fails on balance; any method of the owner is fine
    r = call(s, "exchange_delivered_order_items", order_id=O2, item_ids=["9200000230"],
             new_item_ids=["9200000231"], payment_method_id=CC)
    assert json.loads(r)["exchange_price_difference"] == -2.25


# ----------------------------------------------------------------------------- §5 C
def test_example_c_payment_then_cancel(make):
    s = make(80)
    r = call(s, "modify_pending_order_payment", order_id=O1, payment_method_id=GC)
    o = order(s, O1)
    assert r == json.dumps(o)
    assert o["payment_history"][1:] == [
        {"transaction_type": "payment", "amount": 61.74, "payment_method_id": GC},
        {"transaction_type": "refund", "amount": 61.74, "payment_method_id": CC},
    ]
    assert gc_balance(s) == 18.26
    assert o["status"] == "pending"
    assert_error_unchanged(s, "modify_pending_order_payment",
                           "Error: there should be exactly one payment for a pending order",
                           order_id=O1, payment_method_id=PP)
    r = call(s, "cancel_pending_order", order_id=O1, reason="ordered by mistake")
    o = order(s, O1)
    assert r == json.dumps(o)
    assert [(h["transaction_type"], h["amount"], h["payment_method_id"]) for h in o["payment_history"][3:]] == [
        ("refund", 61.74, CC), ("refund", 61.74, GC), ("refund", 61.74, CC)]
    assert len(o["payment_history"]) == 6
    b = gc_balance(s)
    assert b == 80.0 and type(b) is float
    assert o["status"] == "cancelled" and o["cancel_reason"] == "ordered by mistake"
    assert list(o)[-1] == "cancel_reason"
    assert '"balance": 80.0' in call(s, "get_user_details", user_id=U)


def test_example_c_errors(store):
    assert_error_unchanged(store, "modify_pending_order_payment",
                           "Error: insufficient gift card balance to pay for the order",
                           order_id=O1, payment_method_id=GC)
    assert_error_unchanged(store, "modify_pending_order_payment",
                           "Error: the new payment method should be different from the current one",
                           order_id=O1, payment_method_id=CC)
    assert_error_unchanged(store, "modify_pending_order_payment", "Error: payment method not found",
                           order_id=O1, payment_method_id="gift_card_0000000")
    assert_error_unchanged(store, "modify_pending_order_payment", "Error: order not found",
                           order_id="#W0", payment_method_id=PP)
    assert_error_unchanged(store, "modify_pending_order_payment", "Error: non-pending order cannot be modified",
                           order_id=O2, payment_method_id=CC)


def test_payment_from_gift_card_credits_old(new_store):
    data = example_data(100)
    data["orders"][O1]["payment_history"][0]["payment_method_id"] = GC
    data["orders"][O1]["payment_history"][0]["amount"] = 46.0
    s = new_store()
    s.load_json(data)
    call(s, "modify_pending_order_payment", order_id=O1, payment_method_id=PP)
    assert gc_balance(s) == 146.0 and type(gc_balance(s)) is float
    o = order(s, O1)
    assert type(o["payment_history"][2]["amount"]) is float
    call(s, "cancel_pending_order", order_id=O1, reason="no longer needed")
    assert gc_balance(s) == round(round(146.0 + 46.0, 2) + 46.0, 2)


def test_cancel_paths(store):
    assert_error_unchanged(store, "cancel_pending_order", "Error: order not found",
                           order_id="#w1000001", reason="no longer needed")
    assert_error_unchanged(store, "cancel_pending_order", "Error: non-pending order cannot be cancelled",
                           order_id=O2, reason="no longer needed")
    assert_error_unchanged(store, "cancel_pending_order", "Error: invalid reason",
                           order_id=O1, reason="No longer needed")
    r = json.loads(call(store, "cancel_pending_order", order_id=O1, reason="no longer needed"))
    assert r["payment_history"][-1] == {"transaction_type": "refund", "amount": 61.74, "payment_method_id": CC}
    assert gc_balance(store) == 58 and type(gc_balance(store)) is int


# ----------------------------------------------------------------------------- §5 D
def test_example_d_error_precedence(store):
    assert_error_unchanged(store, "exchange_delivered_order_items", "Error: new item 9100000103 not found or available",
                           order_id=O2, item_ids=["9100000101"], new_item_ids=["9100000103"], payment_method_id=PP)
    assert_error_unchanged(store, "exchange_delivered_order_items", "Error: 9100000101 not found",
                           order_id=O2, item_ids=["9100000101", "9100000101"],
                           new_item_ids=["9100000102", "9100000102"], payment_method_id=PP)
    assert_error_unchanged(store, "exchange_delivered_order_items", "Error: x not found",
                           order_id=O2, item_ids=["x"], new_item_ids=[], payment_method_id="nope")
    assert_error_unchanged(store, "exchange_delivered_order_items",
                           "Error: the number of items to be exchanged should match",
                           order_id=O2, item_ids=["9100000101"], new_item_ids=[], payment_method_id="nope")
    assert_error_unchanged(store, "exchange_delivered_order_items", "Error: payment method not found",
                           order_id=O2, item_ids=["9100000101"], new_item_ids=["9100000102"],
                           payment_method_id="nope")
    assert_error_unchanged(store, "exchange_delivered_order_items",
                           "Error: new item 9200000230 not found or available",
                           order_id=O2, item_ids=["9100000101"], new_item_ids=["9200000230"], payment_method_id=PP)
    assert_error_unchanged(store, "return_delivered_order_items",
                           "Error: payment method should be either the original payment method or a gift card",
                           order_id=O2, item_ids=["9100000101"], payment_method_id=CC)
    # payment checks come before the item check for returns
    assert_error_unchanged(store, "return_delivered_order_items", "Error: payment method not found",
                           order_id=O2, item_ids=["zzz"], payment_method_id="nope")
    assert_error_unchanged(store, "return_delivered_order_items", "Error: some item not found",
                           order_id=O2, item_ids=["9100000101", "9100000101"], payment_method_id=GC)
    assert_error_unchanged(store, "return_delivered_order_items", "Error: order not found",
                           order_id="x", item_ids=[], payment_method_id=GC)


def test_return_success(store):
    r = call(store, "return_delivered_order_items", order_id=O2, item_ids=["9200000230", "9100000101"],
             payment_method_id=GC)
    o = order(store, O2)
    assert r == json.dumps(o)
    assert o["status"] == "return requested"
    assert o["return_items"] == ["9100000101", "9200000230"] and o["return_payment_method_id"] == GC
    assert list(o)[-2:] == ["return_items", "return_payment_method_id"]


# ----------------------------------------------------------------------------- §5 E
def _dup_data():
    data = example_data(500)
    items = data["orders"][O1]["items"]
    a, x = items
    # [A, X, A] where A = Desk Fan 101, X = Yoga Block 230
    data["orders"][O1]["items"] = [a, x, dict(a, options=dict(a["options"]))]
    return data


def test_example_e_self_pair(new_store):
    s = new_store()
    s.load_json(_dup_data())
    call(s, "modify_pending_order_items", order_id=O1, item_ids=["9100000101", "9100000101"],
         new_item_ids=["9100000101", "9100000102"], payment_method_id=GC)
    o = order(s, O1)
    assert [i["item_id"] for i in o["items"]] == ["9100000102", "9200000230", "9100000101"]
    amt = o["payment_history"][-1]["amount"]
    assert amt == abs(0.0 + (54.25 - 39.99)) and o["payment_history"][-1]["transaction_type"] == "payment"


def test_example_e_chaining(new_store):
    data = example_data()
    a = data["orders"][O1]["items"][0]
    b = dict(a, item_id="9100000102", price=54.25, options={"size": "large", "color": "white"})
    data["orders"][O1]["items"] = [a, b]
    s = new_store()
    s.load_json(data)
    before = order(s, O1)["items"]
    call(s, "modify_pending_order_items", order_id=O1, item_ids=["9100000101", "9100000102"],
         new_item_ids=["9100000102", "9100000101"], payment_method_id=CC)
    o = order(s, O1)
    assert o["items"] == before
    last = o["payment_history"][-1]
    assert last == {"transaction_type": "refund", "amount": 0.0, "payment_method_id": CC}
    assert type(last["amount"]) is float
    assert o["status"] == "pending (item modified)"


def test_modify_items_errors(store, make):
    kw = dict(order_id=O1, payment_method_id=GC)
    assert_error_unchanged(store, "modify_pending_order_items", "Error: 9100000102 not found",
                           item_ids=["9100000102"], new_item_ids=["9100000101"], **kw)
    assert_error_unchanged(store, "modify_pending_order_items",
                           "Error: the number of items to be exchanged should match",
                           item_ids=["9100000101"], new_item_ids=[], **kw)
    assert_error_unchanged(store, "modify_pending_order_items", "Error: new item 9100000103 not found or available",
                           item_ids=["9100000101"], new_item_ids=["9100000103"], **kw)
    assert_error_unchanged(store, "modify_pending_order_items", "Error: payment method not found",
                           order_id=O1, item_ids=["9100000101"], new_item_ids=["9100000102"],
                           payment_method_id="credit_card_1048827")
    s = make(14)
    assert_error_unchanged(s, "modify_pending_order_items",
                           "Error: insufficient gift card balance to pay for the new item",
                           item_ids=["9100000101"], new_item_ids=["9100000102"], **kw)
    assert_error_unchanged(store, "modify_pending_order_items", "Error: order not found",
                           order_id="#W1000003", item_ids=[], new_item_ids=[], payment_method_id=GC)


def test_modify_items_refund_raises_gift_card(store):
    call(store, "modify_pending_order_items", order_id=O1, item_ids=["9200000230"], new_item_ids=["9200000231"],
         payment_method_id=GC)
    o = order(store, O1)
    assert o["payment_history"][-1] == {"transaction_type": "refund", "amount": 2.25, "payment_method_id": GC}
    assert gc_balance(store) == 60.25


# ----------------------------------------------------------------------------- §5 F
def test_example_f_empty_lists(store, make):
    call(store, "modify_pending_order_items", order_id=O1, item_ids=[], new_item_ids=[], payment_method_id=GC)
    o = order(store, O1)
    last = o["payment_history"][-1]
    assert last == {"transaction_type": "refund", "amount": 0, "payment_method_id": GC}
    assert type(last["amount"]) is int
    assert gc_balance(store) == 58 and type(gc_balance(store)) is int
    assert o["status"] == "pending (item modified)"

    s = make(58)
    call(s, "exchange_delivered_order_items", order_id=O2, item_ids=[], new_item_ids=[], payment_method_id=PP)
    o = order(s, O2)
    assert o["exchange_items"] == [] and o["exchange_new_items"] == []
    assert o["exchange_price_difference"] == 0 and type(o["exchange_price_difference"]) is int

    s = make(58)
    call(s, "return_delivered_order_items", order_id=O2, item_ids=[], payment_method_id=PP)
    o = order(s, O2)
    assert o["return_items"] == [] and o["status"] == "return requested"


def test_exchange_negative_zero(new_store):
    data = example_data()
    data["products"]["9000000042"]["variants"]["9200000231"]["price"] = 21.75 + 1e-15
    data["products"]["9000000017"]["variants"]["9100000102"]["price"] = 39.99 - 2e-14
    s = new_store()
    s.load_json(data)
    r = call(s, "exchange_delivered_order_items", order_id=O2, item_ids=["9100000101", "9200000230"],
             new_item_ids=["9100000102", "9200000231"], payment_method_id=PP)
    d = order(s, O2)["exchange_price_difference"]
    assert d == 0 and math.copysign(1.0, d) == -1.0
    assert '"exchange_price_difference": -0.0}' in r
    s2 = new_store()
    s2.load_json(s.dump_json())
    assert math.copysign(1.0, order(s2, O2)["exchange_price_difference"]) == -1.0


# ----------------------------------------------------------------------------- §5 G
def test_example_g_address_and_lookup(store):
    r = call(store, "modify_user_address", user_id=U, **ADDR)
    u = store.dump_json()["users"][U]
    assert r == json.dumps(u)
    assert list(u["address"]) == ["address1", "address2", "city", "state", "country", "zip"]
    assert u["address"] == ADDR
    assert order(store, O1)["address"]["zip"] == "74103"
    assert call(store, "find_user_id_by_name_zip", first_name="LENA", last_name="moreau", zip="73301") == U
    assert call(store, "find_user_id_by_name_zip", first_name="LENA", last_name="moreau", zip="74103") == (
        "Error: user not found"
    )
    assert_error_unchanged(store, "modify_user_address", "Error: user not found", user_id="lena", **ADDR)


def test_modify_order_address(store, new_store):
    r = call(store, "modify_pending_order_address", order_id=O1, **ADDR)
    o = order(store, O1)
    assert r == json.dumps(o) and o["address"] == ADDR
    assert list(o["address"]) == ["address1", "address2", "city", "state", "country", "zip"]
    assert o["status"] == "pending"
    assert store.dump_json()["users"][U]["address"]["zip"] == "74103"
    assert_error_unchanged(store, "modify_pending_order_address", "Error: non-pending order cannot be modified",
                           order_id=O2, **ADDR)
    assert_error_unchanged(store, "modify_pending_order_address", "Error: order not found", order_id="#W", **ADDR)
    # the replaced key order survives a reload
    s2 = new_store()
    s2.load_json(store.dump_json())
    assert list(order(s2, O1)["address"]) == list(ADDR)


def test_gift_card_substring_vs_source(new_store):
    """A method whose id contains 'gift_card' but whose source is not gift_card: cancel hits KeyError, no change."""
    data = example_data()
    pms = data["users"][U]["payment_methods"]
    pms["paypal_gift_card_1"] = {"source": "paypal", "id": "paypal_gift_card_1"}
    data["orders"][O1]["payment_history"][0]["payment_method_id"] = "paypal_gift_card_1"
    s = new_store()
    s.load_json(data)
    assert_error_unchanged(s, "cancel_pending_order", "Error: 'balance'", order_id=O1, reason="no longer needed")
    # the return check uses the substring test: any "gift_card" id passes check 4
    r = call(s, "return_delivered_order_items", order_id=O2, item_ids=[], payment_method_id="paypal_gift_card_1")
    assert json.loads(r)["status"] == "return requested"


# ----------------------------------------------------------------------------- langchain + threads + files
def test_langchain_tools(store):
    tools = {t.name: t for t in langchain_tools(store)}
    assert list(tools) == list(TOOL_NAMES)
    assert "store" not in json.dumps(tools["get_order_details"].args)
    assert tools["get_order_details"].invoke({"order_id": O1}) == call(store, "get_order_details", order_id=O1)
    assert tools["cancel_pending_order"].invoke({"order_id": O2, "reason": "other"}) == (
        "Error: non-pending order cannot be cancelled"
    )
    assert tools["list_all_product_types"].invoke({}).startswith('{"Desk Fan"')
    sub = langchain_tools(store, ["think"])
    assert [t.name for t in sub] == ["think"] and sub[0].invoke({"thought": "x"}) == ""


def test_file_store_threads_and_tickets(tmp_path):
    path = tmp_path / "sub" / "store.db"
    s = RetailStore.open(path)
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with s.transaction() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS side_notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO side_notes (body) VALUES ('x')")
    s.load_json(example_data())
    errors = []

    def worker():
        try:
            for _ in range(50):
                assert call(s, "get_order_details", order_id=O1).startswith("{")
                call(s, "modify_user_address", user_id=U, **ADDR)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    s.load_json(example_data())
    assert s.db["side_notes"].count == 1
    s.close()
    s2 = RetailStore.open(path)
    assert s2.dump_json() == example_data()
    with pytest.raises(RuntimeError), s2.transaction() as conn:
        conn.execute("DELETE FROM side_notes")
        raise RuntimeError("boom")
    assert s2.db["side_notes"].count == 1
    s2.close()


def test_customer_records_are_the_profile_and_its_orders_in_one_snapshot(store):
    profile, orders = store.customer_records(U)
    assert profile == store.user_record(U)
    assert list(orders) == profile["orders"] and orders[O1] == store.order_record(O1)
    assert store.customer_records("nobody_1") == (None, {})


def test_customer_records_equal_each_record_read_on_its_own(new_store):
    """The read of a customer's records (every query by the customer's id, sent together) gives exactly the
    records that ``order_record`` reads one order at a time: items, fulfillments and payments in their order,
    numbers as stored, for every customer of a generated shop (orders in every status, several per customer)."""
    from tools.generator import generate_dataset

    s = new_store()
    data = generate_dataset(customers=25, seed=7)
    s.load_json(data)
    statuses = set()
    for user_id in data["users"]:
        profile, orders = s.customer_records(user_id)
        assert profile == s.user_record(user_id)
        assert list(orders) == [o for o in profile["orders"] if s.order_record(o) is not None]
        for order_id, record in orders.items():
            assert record == s.order_record(order_id)
            statuses.add(record["status"])
    assert len(statuses) >= 3 and any(len(s.user_record(u)["orders"]) > 1 for u in data["users"])
