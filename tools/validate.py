"""Full shape validation of a retail dataset (spec §1) before anything is written.

`validate_dataset(data)` raises `DatasetError` with a one-line message naming the first
offending path; it never mutates `data`. Checks: top-level keys, every record's fields and
JSON types (int vs float vs bool kept apart), keys equal to the embedded ids, and that every
reference resolves (order owners, users' order lists, payment methods of the history).
"""

from __future__ import annotations

import math
from typing import Any

ADDRESS_KEYS = ("address1", "address2", "city", "country", "state", "zip")
ADDRESS_KEYS_REPLACED = ("address1", "address2", "city", "state", "country", "zip")
ORDER_FIXED = ("order_id", "user_id", "address", "items", "fulfillments", "status", "payment_history")
ORDER_OPTIONAL = (
    "cancel_reason",
    "return_items",
    "return_payment_method_id",
    "exchange_items",
    "exchange_new_items",
    "exchange_payment_method_id",
    "exchange_price_difference",
)
PM_KEYS = {
    "credit_card": ("source", "brand", "last_four", "id"),
    "gift_card": ("source", "balance", "id"),
    "paypal": ("source", "id"),
}
_I64 = 2**63


class DatasetError(ValueError):
    """The data is not in the shape of spec §1."""


def _fail(path: str, msg: str) -> None:
    raise DatasetError(f"{path}: {msg}")


def _obj(v: Any, path: str) -> dict:
    if not isinstance(v, dict):
        _fail(path, f"expected an object, got {_tname(v)}")
    return v


def _tname(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    return {str: "string", int: "int", float: "float", list: "array", dict: "object"}.get(type(v), type(v).__name__)


def _str(v: Any, path: str) -> str:
    if not isinstance(v, str):
        _fail(path, f"expected a string, got {_tname(v)}")
    return v


def _num(v: Any, path: str) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        _fail(path, f"expected a number, got {_tname(v)}")
    if isinstance(v, float) and not math.isfinite(v):
        _fail(path, "expected a finite number")
    if isinstance(v, int) and not -_I64 <= v < _I64:
        _fail(path, "integer out of 64-bit range")


def _strlist(v: Any, path: str) -> None:
    if not isinstance(v, list):
        _fail(path, f"expected an array, got {_tname(v)}")
    for i, s in enumerate(v):
        _str(s, f"{path}[{i}]")


def _keys(rec: dict, required: tuple[str, ...], path: str, optional: tuple[str, ...] = ()) -> None:
    for k in required:
        if k not in rec:
            _fail(path, f"missing field '{k}'")
    allowed = set(required) | set(optional)
    for k in rec:
        if k not in allowed:
            _fail(path, f"unexpected field '{k}'")


def _address(a: Any, path: str) -> None:
    _obj(a, path)
    _keys(a, ADDRESS_KEYS, path)
    for k in ADDRESS_KEYS:
        _str(a[k], f"{path}.{k}")


def _options(o: Any, path: str) -> None:
    _obj(o, path)
    for k, v in o.items():
        _str(v, f"{path}.{k}")


def validate_dataset(data: Any) -> None:
    """Raise `DatasetError` unless `data` is a complete, consistent dataset of spec §1."""
    _obj(data, "dataset")
    _keys(data, ("users", "orders", "products"), "dataset")
    users = _obj(data["users"], "users")
    orders = _obj(data["orders"], "orders")
    products = _obj(data["products"], "products")

    for pid, p in products.items():
        path = f"products[{pid}]"
        _obj(p, path)
        _keys(p, ("name", "product_id", "variants"), path)
        _str(p["name"], f"{path}.name")
        if p["product_id"] != pid:
            _fail(f"{path}.product_id", "must equal the product's key")
        variants = _obj(p["variants"], f"{path}.variants")
        for iid, v in variants.items():
            vp = f"{path}.variants[{iid}]"
            _obj(v, vp)
            _keys(v, ("item_id", "options", "available", "price"), vp)
            if v["item_id"] != iid:
                _fail(f"{vp}.item_id", "must equal the variant's key")
            _options(v["options"], f"{vp}.options")
            if not isinstance(v["available"], bool):
                _fail(f"{vp}.available", f"expected a bool, got {_tname(v['available'])}")
            _num(v["price"], f"{vp}.price")

    for uid, u in users.items():
        path = f"users[{uid}]"
        _obj(u, path)
        _keys(u, ("name", "address", "email", "payment_methods", "orders"), path)
        name = _obj(u["name"], f"{path}.name")
        _keys(name, ("first_name", "last_name"), f"{path}.name")
        _str(name["first_name"], f"{path}.name.first_name")
        _str(name["last_name"], f"{path}.name.last_name")
        _address(u["address"], f"{path}.address")
        _str(u["email"], f"{path}.email")
        pms = _obj(u["payment_methods"], f"{path}.payment_methods")
        for mid, m in pms.items():
            mp = f"{path}.payment_methods[{mid}]"
            _obj(m, mp)
            src = m.get("source")
            if src not in PM_KEYS:
                _fail(f"{mp}.source", "must be one of credit_card, gift_card, paypal")
            _keys(m, PM_KEYS[src], mp)
            if m["id"] != mid:
                _fail(f"{mp}.id", "must equal the payment method's key")
            if src == "credit_card":
                _str(m["brand"], f"{mp}.brand")
                _str(m["last_four"], f"{mp}.last_four")
            elif src == "gift_card":
                _num(m["balance"], f"{mp}.balance")
        _strlist(u["orders"], f"{path}.orders")
        for i, oid in enumerate(u["orders"]):
            if oid not in orders:
                _fail(f"{path}.orders[{i}]", f"unknown order {oid}")

    for oid, o in orders.items():
        path = f"orders[{oid}]"
        _obj(o, path)
        _keys(o, ORDER_FIXED, path, ORDER_OPTIONAL)
        if o["order_id"] != oid:
            _fail(f"{path}.order_id", "must equal the order's key")
        uid = _str(o["user_id"], f"{path}.user_id")
        if uid not in users:
            _fail(f"{path}.user_id", f"unknown user {uid}")
        _address(o["address"], f"{path}.address")
        if not isinstance(o["items"], list):
            _fail(f"{path}.items", f"expected an array, got {_tname(o['items'])}")
        for i, it in enumerate(o["items"]):
            ip = f"{path}.items[{i}]"
            _obj(it, ip)
            _keys(it, ("name", "product_id", "item_id", "price", "options"), ip)
            for k in ("name", "product_id", "item_id"):
                _str(it[k], f"{ip}.{k}")
            _num(it["price"], f"{ip}.price")
            _options(it["options"], f"{ip}.options")
        if not isinstance(o["fulfillments"], list):
            _fail(f"{path}.fulfillments", f"expected an array, got {_tname(o['fulfillments'])}")
        for i, f in enumerate(o["fulfillments"]):
            fp = f"{path}.fulfillments[{i}]"
            _obj(f, fp)
            _keys(f, ("tracking_id", "item_ids"), fp)
            _strlist(f["tracking_id"], f"{fp}.tracking_id")
            _strlist(f["item_ids"], f"{fp}.item_ids")
        _str(o["status"], f"{path}.status")
        if not isinstance(o["payment_history"], list):
            _fail(f"{path}.payment_history", f"expected an array, got {_tname(o['payment_history'])}")
        owner_pms = users[uid]["payment_methods"]
        for i, t in enumerate(o["payment_history"]):
            tp = f"{path}.payment_history[{i}]"
            _obj(t, tp)
            _keys(t, ("transaction_type", "amount", "payment_method_id"), tp)
            _str(t["transaction_type"], f"{tp}.transaction_type")
            _num(t["amount"], f"{tp}.amount")
            pm = _str(t["payment_method_id"], f"{tp}.payment_method_id")
            if pm not in owner_pms:
                _fail(f"{tp}.payment_method_id", f"{pm} is not a payment method of {uid}")
        for k in ("cancel_reason", "return_payment_method_id", "exchange_payment_method_id"):
            if k in o:
                _str(o[k], f"{path}.{k}")
        for k in ("return_items", "exchange_items", "exchange_new_items"):
            if k in o:
                _strlist(o[k], f"{path}.{k}")
        if "exchange_price_difference" in o:
            _num(o["exchange_price_difference"], f"{path}.exchange_price_difference")
