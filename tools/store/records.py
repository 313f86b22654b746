"""Rows to the JSON records of spec §1, the tool error, and the reference's rounding."""

from __future__ import annotations

import json
from typing import Any

_dumps = json.dumps
_loads = json.loads


class ToolError(Exception):
    """A tool failure of spec §2; `str(e)` is the text after `Error: `."""


def round2(x: int | float) -> int | float:
    """The reference's rounding: Python's round(x, 2); ints stay ints (spec §0)."""
    return round(x, 2)


def _address(r: tuple, replaced: int) -> dict:
    # r = (address1, address2, city, country, state, zip)
    if replaced:
        return {"address1": r[0], "address2": r[1], "city": r[2], "state": r[4], "country": r[3], "zip": r[5]}
    return {"address1": r[0], "address2": r[1], "city": r[2], "country": r[3], "state": r[4], "zip": r[5]}


def _pm_record(source: str, mid: str, brand: Any, last_four: Any, balance: Any) -> dict:
    if source == "credit_card":
        return {"source": source, "brand": brand, "last_four": last_four, "id": mid}
    if source == "gift_card":
        return {"source": source, "balance": balance, "id": mid}
    return {"source": source, "id": mid}


def _order_record(row: tuple, items: list, fulfillments: list, history: list) -> dict:
    rec = {
        "order_id": row[0],
        "user_id": row[1],
        "address": _address(row[2:8], row[8]),
        "items": items,
        "fulfillments": fulfillments,
        "status": row[9],
        "payment_history": history,
    }
    if row[10] is not None:
        rec["cancel_reason"] = row[10]
    if row[11] is not None:
        rec["return_items"] = _loads(row[11])
    if row[12] is not None:
        rec["return_payment_method_id"] = row[12]
    if row[13] is not None:
        rec["exchange_items"] = _loads(row[13])
    if row[14] is not None:
        rec["exchange_new_items"] = _loads(row[14])
    if row[15] is not None:
        rec["exchange_payment_method_id"] = row[15]
    if row[16] is not None:
        rec["exchange_price_difference"] = row[16]
    return rec


def _count_check(item_ids: list[str], all_item_ids: list[str]) -> str | None:
    """CountCheck (spec §2.0): the first id asked for more often than the order holds it."""
    for item_id in item_ids:
        if item_ids.count(item_id) > all_item_ids.count(item_id):
            return item_id
    return None

