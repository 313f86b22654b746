"""The synthetic dataset generator: deterministic and valid per spec §1."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.shared_data import REPO
from tools import RetailStore, validate_dataset
from tools.generator import generate_dataset


def _export_bytes(data: dict) -> bytes:
    return b"".join(json.dumps(data[k], indent=2).encode() for k in ("users", "orders", "products"))


def test_deterministic():
    a, b = generate_dataset(seed=3), generate_dataset(seed=3)
    assert _export_bytes(a) == _export_bytes(b)
    assert _export_bytes(generate_dataset(seed=4)) != _export_bytes(a)


def test_deterministic_across_processes():
    import subprocess
    import sys

    code = "import json;from tools.generator import generate_dataset;print(json.dumps(generate_dataset(seed=5)))"
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={"PYTHONHASHSEED": str(h), "PYTHONPATH": str(REPO)}).stdout
        for h in (1, 2)
    }
    assert len(outs) == 1
    assert json.loads(outs.pop()) == generate_dataset(seed=5)


@pytest.mark.parametrize("kw", [{}, {"customers": 30, "seed": 9, "orders": 70, "products": 12}])
def test_valid(kw):
    d = generate_dataset(**kw)
    validate_dataset(d)
    users, orders, products = d["users"], d["orders"], d["products"]
    assert len(users) == kw.get("customers", 200) and len(products) == kw.get("products", 50)
    assert len(orders) == kw.get("orders", 500)
    emails = [u["email"] for u in users.values()]
    assert len({e.lower() for e in emails}) == len(emails) and all(e == e.lower() for e in emails)
    pm_ids = [m for u in users.values() for m in u["payment_methods"]]
    assert len(set(pm_ids)) == len(pm_ids)
    for uid, u in users.items():
        first, last, digits = uid.split("_")
        assert first == u["name"]["first_name"].lower() and last == u["name"]["last_name"].lower()
        assert len(digits) == 4 and digits.isdigit()
        assert 1 <= len(u["payment_methods"]) <= 4
        a = u["address"]
        assert a["country"] == "USA" and len(a["zip"]) == 5 and a["zip"].isdigit()
        for mid, m in u["payment_methods"].items():
            assert mid.startswith(m["source"] + "_") and len(mid.rsplit("_", 1)[1]) == 7
            if m["source"] == "gift_card":
                assert type(m["balance"]) is int and 0 <= m["balance"] <= 100
            if m["source"] == "credit_card":
                assert m["brand"] in ("visa", "mastercard") and len(m["last_four"]) == 4
        for oid in u["orders"]:
            assert orders[oid]["user_id"] == uid
    assert sum(len(u["orders"]) for u in users.values()) == len(orders)
    all_items = {}
    for p in products.values():
        assert len(p["product_id"]) == 10 and len(p["variants"]) >= 2
        for iid, v in p["variants"].items():
            assert type(v["price"]) is float and type(v["available"]) is bool
            all_items[iid] = (p, v)
    assert not set(all_items) & set(products)
    assert len({p["name"] for p in products.values()}) == len(products)
    unavailable = sum(not v["available"] for _, v in all_items.values())
    assert 0.2 < unavailable / len(all_items) < 0.45
    statuses = Counter(o["status"] for o in orders.values())
    assert set(statuses) == {"pending", "processed", "delivered", "cancelled"}
    for oid, o in orders.items():
        assert oid.startswith("#W") and len(oid) == 9 and oid[2:].isdigit()
        assert o["user_id"] in users and oid in users[o["user_id"]]["orders"]
        assert 1 <= len(o["items"]) <= 5
        for it in o["items"]:
            p, v = all_items[it["item_id"]]
            assert it["product_id"] == p["product_id"] and it["name"] == p["name"]
            assert it["price"] == v["price"] and type(it["price"]) is float and it["options"] == v["options"]
        if o["status"] == "pending":
            assert o["fulfillments"] == []
        else:
            (f,) = o["fulfillments"]
            assert len(f["tracking_id"]) == 1 and len(f["tracking_id"][0]) == 12
            assert f["item_ids"] == [i["item_id"] for i in o["items"]]
        h = o["payment_history"]
        total = round(sum(i["price"] for i in o["items"]), 2)
        assert h[0] == {"transaction_type": "payment", "amount": total, "payment_method_id": h[0]["payment_method_id"]}
        assert type(h[0]["amount"]) is float
        for t in h:
            assert t["payment_method_id"] in users[o["user_id"]]["payment_methods"]
        if o["status"] == "cancelled":
            assert h[1] == dict(h[0], transaction_type="refund") and len(h) == 2
        else:
            assert len(h) == 1


def test_namesakes_make_zip_matter():
    d = generate_dataset()
    by_name = Counter((u["name"]["first_name"], u["name"]["last_name"]) for u in d["users"].values())
    assert sum(1 for c in by_name.values() if c > 1) >= 5
    assert len({(u["name"]["first_name"], u["name"]["last_name"], u["address"]["zip"])
                for u in d["users"].values()}) == len(d["users"])
    s = RetailStore.open(":memory:")
    s.load_json(d)
    from tools import run_tool

    for uid, u in d["users"].items():
        got = run_tool(s, "find_user_id_by_name_zip", {"first_name": u["name"]["first_name"],
                                                       "last_name": u["name"]["last_name"],
                                                       "zip": u["address"]["zip"]})
        assert got == uid
        assert run_tool(s, "find_user_id_by_email", {"email": u["email"].upper()}) == uid


def test_added_customers_leave_the_first_cohort_as_it_was():
    """Scenarios name the first cohort's customers and orders: adding customers must not move any of them."""
    from tools.generator import add_customers, demo_dataset

    base = generate_dataset(customers=20, seed=2, products=10)
    before = _export_bytes(base)
    more = add_customers(base, 15, seed=1)
    assert _export_bytes(base) == before  # the input is not changed either
    assert list(more["users"])[:20] == list(base["users"]) and list(more["orders"])[:50] == list(base["orders"])
    assert all(more["users"][u] == base["users"][u] for u in base["users"])
    assert all(more["orders"][o] == base["orders"][o] for o in base["orders"])
    assert len(more["users"]) == 35 and more["products"] == base["products"]
    validate_dataset(more)
    for key in ("email",):
        values = [u[key] for u in more["users"].values()]
        assert len(set(values)) == len(values)
    pm_ids = [m for u in more["users"].values() for m in u["payment_methods"]]
    assert len(set(pm_ids)) == len(pm_ids)
    assert len({(u["name"]["first_name"], u["name"]["last_name"], u["address"]["zip"])
                for u in more["users"].values()}) == 35
    new_orders = [o for o in more["orders"] if o not in base["orders"]]
    assert new_orders and all(more["orders"][o]["user_id"] not in base["users"] for o in new_orders)
    assert _export_bytes(add_customers(base, 15, seed=1)) == _export_bytes(more)
    assert _export_bytes(add_customers(base, 15, seed=2)) != _export_bytes(more)
    demo = demo_dataset()
    assert len(demo["users"]) == 400 and list(demo["users"])[:200] == list(generate_dataset()["users"])


def test_a_store_seeded_with_the_demo_data_round_trips(tmp_path):
    from tools.generator import demo_dataset

    data = demo_dataset()
    with RetailStore.open(tmp_path / "s.db") as store:
        store.load_json(data)
        assert store.counts()["users"] == 400
        assert store.dump_json() == data
