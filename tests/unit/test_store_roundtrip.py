"""Exact round trip of the tau-retail excerpt through the store, on SQLite and on PostgreSQL (spec §4)."""

from __future__ import annotations

import json

import pytest

from tests.shared_data import TAU_RETAIL_COUNTS, load_tau_retail
from tests.unit.retail_ref import canonical_hash, example_data
from tools import DatasetError, RetailStore, validate_dataset


def _key_orders(v, path=""):
    if isinstance(v, dict):
        yield path, tuple(v)
        for k, x in v.items():
            yield from _key_orders(x, f"{path}/{k}")
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from _key_orders(x, f"{path}[{i}]")


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_tau_roundtrip(tmp_path, engine, request):
    data = load_tau_retail()
    location = tmp_path / "s.db" if engine == "sqlite" else request.getfixturevalue("postgres_url")
    s = RetailStore.open(location)
    s.load_json(data)
    assert s.counts() == TAU_RETAIL_COUNTS
    out = s.dump_json()
    assert json.dumps(out, sort_keys=True) == json.dumps(data, sort_keys=True)
    assert json.dumps(out) == json.dumps(data)  # key order too
    assert list(_key_orders(out)) == list(_key_orders(data))
    assert canonical_hash(out) == canonical_hash(data)
    s.close()
    s2 = RetailStore.open(location)
    assert canonical_hash(s2.dump_json()) == canonical_hash(data)
    s2.close()


def test_tau_excerpt_is_whole_records():
    """Every user's orders are in, and the products are exactly those the orders reference."""
    data = load_tau_retail()
    validate_dataset(data)
    assert {k: len(v) for k, v in data.items()} == TAU_RETAIL_COUNTS
    assert sorted(data["orders"]) == sorted(oid for u in data["users"].values() for oid in u["orders"])
    assert set(data["products"]) == {i["product_id"] for o in data["orders"].values() for i in o["items"]}
    statuses = {o["status"] for o in data["orders"].values()}
    assert {"pending", "processed", "delivered", "cancelled"} <= statuses


def test_optional_fields_roundtrip(new_store):
    data = example_data()
    o = data["orders"]["#W1000002"]
    o.update(status="exchange requested", exchange_items=[], exchange_new_items=[],
             exchange_payment_method_id="paypal_2290457", exchange_price_difference=-0.0)
    data["orders"]["#W1000001"].update(status="cancelled", cancel_reason="no longer needed")
    data["users"]["lena_moreau_3307"]["payment_methods"]["gift_card_6620913"]["balance"] = 80.0
    s = new_store()
    s.load_json(data)
    assert json.dumps(s.dump_json()) == json.dumps(data)
    assert canonical_hash(s.dump_json()) == canonical_hash(data)


@pytest.mark.parametrize(
    "mutate,msg",
    [
        (lambda d: d.pop("products"), "missing field 'products'"),
        (lambda d: d["users"]["lena_moreau_3307"].pop("email"), "missing field 'email'"),
        (lambda d: d["orders"]["#W1000001"]["items"][0].update(price="39.99"), "expected a number"),
        (lambda d: d["orders"]["#W1000001"].update(user_id="ghost"), "unknown user"),
        (lambda d: d["orders"]["#W1000001"].update(extra=1), "unexpected field 'extra'"),
        (lambda d: d["products"]["9000000017"]["variants"]["9100000101"].update(available=1), "expected a bool"),
        (lambda d: d["users"]["lena_moreau_3307"]["payment_methods"]["gift_card_6620913"].update(balance=True),
         "expected a number"),
        (lambda d: d["orders"]["#W1000001"]["payment_history"][0].update(payment_method_id="x"),
         "not a payment method"),
        (lambda d: d["users"]["lena_moreau_3307"]["orders"].append("#W9"), "unknown order"),
        (lambda d: d["orders"]["#W1000001"].update(order_id="#W2"), "must equal"),
    ],
)
def test_load_rejects_bad_shapes(mutate, msg):
    s = RetailStore.open(":memory:")
    s.load_json(example_data())
    bad = example_data()
    mutate(bad)
    with pytest.raises(DatasetError, match=msg):
        s.load_json(bad)
    assert s.dump_json() == example_data()
