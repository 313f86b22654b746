"""Property test: random call sequences give identical results and states on SQLite, on PostgreSQL and in the dict
reference."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.retail_ref import Reference, example_data
from tools import RetailStore, run_tool
from tools.generator import generate_dataset

_BASE = generate_dataset(customers=12, seed=7, orders=40, products=12)
# add the §1.8 records (duplicate item ids, gift cards) so the tricky paths are common
_EX = example_data(75)
for _k in ("users", "orders", "products"):
    _BASE[_k].update(_EX[_k])
_DATA_TEXT = json.dumps(_BASE)

ORDER_IDS = [*_BASE["orders"], "#W0000000", "W1000001", "#w1000001"]
USER_IDS = [*_BASE["users"], "nobody_1234", "LENA_MOREAU_3307"]
ITEM_IDS = [
    *sorted(
        {i["item_id"] for o in _BASE["orders"].values() for i in o["items"]}
        | {v for p in _BASE["products"].values() for v in p["variants"]}
    ),
    "0000000000",
    "x",
]
PM_IDS = [*sorted({m for u in _BASE["users"].values() for m in u["payment_methods"]}), "gift_card_0000000"]
PRODUCT_IDS = [*_BASE["products"], "123"]
EMAILS = [u["email"] for u in _BASE["users"].values()] + ["nobody@example.com"]

text = st.sampled_from(["", "1 Elm St", "Apt 2", "Austin", "TX", "USA", "73301", "74103"])
order_id = st.sampled_from(ORDER_IDS)
pm = st.sampled_from(PM_IDS)
items = st.lists(st.sampled_from(ITEM_IDS), max_size=4)
addr = st.fixed_dictionaries(
    {"address1": text, "address2": text, "city": text, "state": text, "country": text, "zip": text}
)

CALLS = st.one_of(
    st.tuples(st.just("get_order_details"), st.fixed_dictionaries({"order_id": order_id})),
    st.tuples(st.just("get_user_details"), st.fixed_dictionaries({"user_id": st.sampled_from(USER_IDS)})),
    st.tuples(st.just("get_product_details"), st.fixed_dictionaries({"product_id": st.sampled_from(PRODUCT_IDS)})),
    st.tuples(st.just("list_all_product_types"), st.just({})),
    st.tuples(st.just("find_user_id_by_email"), st.fixed_dictionaries({"email": st.sampled_from(EMAILS)})),
    st.tuples(
        st.just("find_user_id_by_name_zip"),
        st.fixed_dictionaries({"first_name": st.sampled_from(["Lena", "lena", "Noah", "x"]),
                               "last_name": st.sampled_from(["Moreau", "SMITH", "Patel"]), "zip": text}),
    ),
    st.tuples(
        st.just("cancel_pending_order"),
        st.fixed_dictionaries({"order_id": order_id,
                               "reason": st.sampled_from(["no longer needed", "ordered by mistake", "other"])}),
    ),
    st.tuples(
        st.just("exchange_delivered_order_items"),
        st.fixed_dictionaries({"order_id": order_id, "item_ids": items, "new_item_ids": items,
                               "payment_method_id": pm}),
    ),
    st.tuples(
        st.just("modify_pending_order_items"),
        st.fixed_dictionaries({"order_id": order_id, "item_ids": items, "new_item_ids": items,
                               "payment_method_id": pm}),
    ),
    st.tuples(st.just("modify_pending_order_payment"),
              st.fixed_dictionaries({"order_id": order_id, "payment_method_id": pm})),
    st.tuples(st.just("modify_pending_order_address"),
              st.builds(lambda o, a: {"order_id": o, **a}, order_id, addr)),
    st.tuples(st.just("modify_user_address"),
              st.builds(lambda u, a: {"user_id": u, **a}, st.sampled_from(USER_IDS), addr)),
    st.tuples(
        st.just("return_delivered_order_items"),
        st.fixed_dictionaries({"order_id": order_id, "item_ids": items, "payment_method_id": pm}),
    ),
    st.tuples(st.just("think"), st.fixed_dictionaries({"thought": text})),
)


PENDING = [k for k, o in _BASE["orders"].items() if o["status"] == "pending"]
DELIVERED = [k for k, o in _BASE["orders"].items() if o["status"] == "delivered"]


@st.composite
def targeted_call(draw):
    """Calls likely to succeed: orders in the right status, item ids of the order, variants of the same product."""
    name = draw(st.sampled_from(["modify_pending_order_items", "exchange_delivered_order_items",
                                 "return_delivered_order_items", "modify_pending_order_payment",
                                 "cancel_pending_order"]))
    pool = DELIVERED if name in ("exchange_delivered_order_items", "return_delivered_order_items") else PENDING
    oid = draw(st.sampled_from(pool))
    o = _BASE["orders"][oid]
    olds = draw(st.lists(st.sampled_from([i["item_id"] for i in o["items"]]), max_size=3))
    by_item = {i["item_id"]: i["product_id"] for i in o["items"]}
    news = [
        draw(st.sampled_from([k for k, v in _BASE["products"][by_item[i]]["variants"].items() if v["available"]]))
        for i in olds
    ]
    methods = list(_BASE["users"][o["user_id"]]["payment_methods"])
    current = o["payment_history"][0]["payment_method_id"]
    others = [x for x in methods if x != current] or methods
    m = draw(st.sampled_from(others if name == "modify_pending_order_payment" else methods))
    if name == "cancel_pending_order":
        return name, {"order_id": oid, "reason": draw(st.sampled_from(["no longer needed", "ordered by mistake"]))}
    if name == "return_delivered_order_items":
        return name, {"order_id": oid, "item_ids": olds, "payment_method_id": m}
    if name == "modify_pending_order_payment":
        return name, {"order_id": oid, "payment_method_id": m}
    return name, {"order_id": oid, "item_ids": olds, "new_item_ids": news, "payment_method_id": m}


@pytest.fixture(scope="module")
def stores(postgres_server):
    """One store per engine for the whole module: every example loads its data afresh (load_json replaces all)."""
    opened = {"sqlite": RetailStore.open(":memory:"), "postgres": RetailStore.open(postgres_server.new_database())}
    yield opened
    for store in opened.values():
        store.close()


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(CALLS, targeted_call(), targeted_call()), min_size=1, max_size=25))
def test_store_matches_reference(stores, engine, calls):
    data = json.loads(_DATA_TEXT)
    ref = Reference(data)
    store = stores[engine]
    store.load_json(data)
    for name, args in calls:
        before = json.dumps(ref.data)
        expected = ref.call(name, json.loads(json.dumps(args)))
        got = run_tool(store, name, args)
        assert got == expected, (name, args)
        dumped = json.dumps(store.dump_json())
        assert dumped == json.dumps(ref.data), (name, args)
        if got.startswith("Error"):
            assert dumped == before


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_tau_random_walk_matches_reference(stores, engine):
    """1500 seeded random, mostly well-targeted calls on the real tau-retail excerpt: same results and states.

    The excerpt has 12 orders and most writes end an order's writable life, so the walk starts again from the
    loaded data every 25 calls (comparing the states first): successful writes stay as common as on the full
    dataset (1000 orders) instead of drying up after the first few dozen calls."""
    import random
    from collections import Counter

    from tests.shared_data import load_tau_retail
    from tests.unit.retail_ref import canonical_hash

    data = load_tau_retail()
    rng = random.Random(1234)
    oids = list(data["orders"])
    ok: Counter[str] = Counter()
    ref = store = None
    for step in range(1500):
        if step % 25 == 0:
            if store is not None:
                assert canonical_hash(store.dump_json()) == canonical_hash(ref.data), step
            ref = Reference(data)
            store = stores[engine]
            store.load_json(data)
        oid = rng.choice(oids)
        o = ref.data["orders"][oid]
        methods = list(ref.data["users"][o["user_id"]]["payment_methods"])
        olds = [i["item_id"] for i in o["items"]]
        olds = rng.sample(olds, rng.randint(0, len(olds)))
        news = [rng.choice(list(ref.data["products"][next(i for i in o["items"] if i["item_id"] == x)["product_id"]]
                                ["variants"])) for x in olds]
        m = rng.choice(methods)
        name, args = rng.choice([
            ("cancel_pending_order", {"order_id": oid, "reason": rng.choice(["no longer needed", "ordered by mistake"])}),
            ("modify_pending_order_items", {"order_id": oid, "item_ids": olds, "new_item_ids": news,
                                            "payment_method_id": m}),
            ("exchange_delivered_order_items", {"order_id": oid, "item_ids": olds, "new_item_ids": news,
                                                "payment_method_id": m}),
            ("return_delivered_order_items", {"order_id": oid, "item_ids": olds, "payment_method_id": m}),
            ("modify_pending_order_payment", {"order_id": oid, "payment_method_id": m}),
            ("modify_pending_order_address", {"order_id": oid, "address1": "1 A St", "address2": "", "city": "B",
                                              "state": "CA", "country": "USA", "zip": "90001"}),
            ("get_order_details", {"order_id": oid}),
        ])
        expected = ref.call(name, json.loads(json.dumps(args)))
        assert run_tool(store, name, args) == expected, (name, args)
        ok[name] += not expected.startswith("Error")
    assert sum(ok.values()) > 300
    # every write tool really wrote, many times (on this seed: 18 to 76 each)
    assert min(ok.values()) >= 10, ok
    assert canonical_hash(store.dump_json()) == canonical_hash(ref.data)
    assert json.dumps(store.dump_json()) == json.dumps(ref.data)
    store.close()
