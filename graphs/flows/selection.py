"""Code evaluates the request's selectors against the store (the model only read them; ``graphs.selectors``).

- order scope: every order (of a status) or the most recent one -> order ids, one task each;
- item selector: everything except the items described -> item ids;
- ranking: the cheapest / most expensive / largest / smallest available variant that has what was said;
- conditions: an alternative applies when its fact holds for the write about to be proposed.
"""

from __future__ import annotations

import re
from typing import Any

from graphs.flows.customer import CustomerView, options_text
from graphs.flows.items import indifferent_options, item_label, item_score, named_options
from graphs.flows.reading_schema import selector_checks
from graphs.flows.resolution import Resolution, ok
from graphs.flows.text import sentences, tokens
from graphs.selectors import Condition, OrderScope, Rank


# --- orders ---------------------------------------------------------------------------------------------
def select_orders(view: CustomerView, said: dict[str, Any], statuses: tuple[str, ...] | None) -> list[str] | None:
    """The orders an ``all`` / ``most_recent`` scope selects (oldest first), or None for one described order.

    The status said wins over the task's own statuses ("all my delivered orders"), so an order the task cannot
    act on is explained by the flow rather than silently skipped.
    """
    scope = said.get("order_scope")
    if scope not in (OrderScope.ALL, OrderScope.MOST_RECENT) or said.get("order_ids"):
        return None
    wanted = (said["order_status"],) if said.get("order_status") else statuses
    pool = [oid for oid, order in view.orders.items() if not wanted or order["status"] in wanted]
    if said.get("order_total_below") is not None:
        pool = [oid for oid in pool if order_total(view.orders[oid]) < float(said["order_total_below"])]
    if said.get("order_total_above") is not None:
        pool = [oid for oid in pool if order_total(view.orders[oid]) > float(said["order_total_above"])]
    for description in said.get("except_orders", []):
        # "Every <status> order but the one with <an item> (or shipped to <a city>)": the best match leaves.
        scores = {oid: order_score(description, view.orders[oid]) for oid in pool}
        best = max(scores.values(), default=0)
        pool = [oid for oid in pool if best == 0 or scores[oid] < best]
    if scope == OrderScope.MOST_RECENT:
        return pool[-1:]
    return pool


def order_total(order: dict[str, Any]) -> float:
    """The sum of the order's item prices."""
    return round(sum(float(item["price"]) for item in order.get("items", [])), 2)


def order_score(description: str, order: dict[str, Any]) -> int:
    """How well a description fits an order: by its items, or by where it is shipped (its city, state or street)."""
    by_items = max((item_score(description, item) for item in order.get("items", [])), default=0)
    said = tokens(description)
    place = {w for value in order.get("address", {}).values() for w in tokens(str(value))}
    by_place = len(said & place) + (1 if said & _CITY_SHORT.get(str(order.get("address", {}).get("city")), set())
                                    else 0)
    return max(by_items, 2 * by_place)


#: How customers shorten city names ("LA", "NYC", "SF").
_CITY_SHORT = {"Los Angeles": {"la", "l.a"}, "New York": {"nyc", "ny"}, "San Francisco": {"sf"},
               "Washington": {"dc"}, "Las Vegas": {"vegas"}, "Philadelphia": {"philly"}}


# --- items ----------------------------------------------------------------------------------------------
def all_except(order: dict[str, Any], excluded: list[str], *, over_several: bool = False) -> Resolution:
    """Every item of the order but those the descriptions name. Each must name an item of the order, unless the
    request is over several orders (``over_several``): "return everything from both orders except the <item>"
    excludes nothing from the order without one."""
    items = order.get("items", [])
    dropped: set[str] = set()
    for description in excluded:
        scores = [(item_score(description, item), item) for item in items]
        best = max((score for score, _ in scores), default=0)
        if best == 0 and over_several:
            continue
        if best == 0:
            return Resolution("none", detail="item_not_in_order", value=description,
                              candidates=[(i["item_id"], item_label(i)) for i in items])
        dropped |= {item["item_id"] for score, item in scores if score == best}
    kept = [i["item_id"] for i in items if i["item_id"] not in dropped]
    if not kept:
        return Resolution("none", detail="nothing_left", value=", ".join(excluded))
    return ok(kept)


# --- ranking --------------------------------------------------------------------------------------------
_LETTERS = ["XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL"]
_WORD_SIZES = {"extra small": "XS", "x-small": "XS", "small": "S", "medium": "M", "large": "L",
               "extra large": "XL", "x-large": "XL"}
_UNITS = {"tb": 1000.0, "gb": 1.0, "mb": 0.001, "l": 1000.0, "liter": 1000.0, "litre": 1000.0, "ml": 1.0,
          "kg": 1000.0, "g": 1.0, "lb": 453.6, "lbs": 453.6, "oz": 28.35, "ft": 12.0, "feet": 12.0}
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)?", re.I)
#: Options that mean "size" when a customer says biggest / smallest, most telling first.
_SIZE_NAMES = ("size", "capacity", "storage", "volume", "length", "dimension", "weight", "ram")


def size_value(value: str) -> float | None:
    """A comparable magnitude of an option value ("XL", "10.5", "1TB SSD", "750ml"), or None."""
    text = str(value).strip()
    text = _WORD_SIZES.get(text.lower(), text)
    if text.upper() in _LETTERS:
        return float(_LETTERS.index(text.upper()))
    match = _NUMBER.search(text)
    if not match:
        return None
    return float(match.group(1)) * _UNITS.get((match.group(2) or "").lower(), 1.0)


def _size_option(variants: list[dict[str, Any]], wanted: str | None) -> str | None:
    """The option a size ranking orders by: the one the customer named, else the most size-like."""
    names = {name for v in variants for name in v["options"]}
    orderable = [n for n in names if all(size_value(v["options"].get(n, "")) is not None for v in variants)
                 and len({v["options"].get(n) for v in variants}) > 1]
    said = str(wanted or "").lower()
    named = [n for n in orderable if n.lower() in said]
    if named:
        return named[0]
    for word in _SIZE_NAMES:
        found = sorted(n for n in orderable if word in n.lower())
        if found:
            return found[0]
    return sorted(orderable)[0] if orderable else None


def ranked_variant(view: CustomerView, item: dict[str, Any], wanted: str | None, rank: Rank,
                   texts: list[str] | None = None) -> Resolution:
    """The available variant of the item's product that the ranking picks among those with what was said.

    The ranking is over the variants that have what the customer said ("the biggest one in fleece": any colour);
    of those it ranks alike, the one that keeps more of the options not mentioned wins, then the lower price. An
    option whose values the customer listed as all alike to them (``texts``: "<type>, <type>, I don't mind") is
    no constraint, whatever the reading copied into the wanted variant.
    """
    product = view.product(item["product_id"]) or {"variants": {}}
    variants = list(product["variants"].values())
    current = dict(item.get("options", {}))
    attributes = named_options(wanted, current, variants) if wanted else {}
    # What the customer wrote right after the ranking word ("the cheapest <12-inch> model") binds too, when the
    # reading put it elsewhere; the words before it describe the item they have.
    after = named_options(_after_ranking(rank, texts or []), current, variants)
    if Rank(rank) in (Rank.LARGEST, Rank.SMALLEST):
        after.pop(_size_option([*variants, {"options": current}], wanted) or "", None)  # "the biggest size" ranks it
    attributes = after | attributes
    for option in indifferent_options(texts or [], variants):
        attributes.pop(option, None)
    pool = [v for v in variants if v["available"] and v["item_id"] != item["item_id"]
            and all(v["options"].get(k) == val for k, val in attributes.items())]
    if not pool:
        return Resolution("none", detail="no_variant_available", value=item["name"],
                          candidates=[(v["item_id"], options_text(v["options"])) for v in variants if v["available"]])
    rank = Rank(rank)
    if rank in (Rank.CHEAPEST, Rank.MOST_EXPENSIVE):
        sign = 1 if rank == Rank.MOST_EXPENSIVE else -1

        def key(v: dict[str, Any]) -> tuple[float, ...]:
            return (sign * float(v["price"]),)
    else:
        option = _size_option([*pool, {"options": current}], wanted)
        if option is None:
            return Resolution("none", detail="no_size_order", value=item["name"])
        sign = 1 if rank == Rank.LARGEST else -1
        free = [k for k in current if k != option and k not in attributes]

        def key(v: dict[str, Any]) -> tuple[float, ...]:
            kept = sum(v["options"].get(k) == current[k] for k in free)
            return (sign * (size_value(v["options"].get(option, "")) or 0.0), kept, -float(v["price"]))
    return ok(max(pool, key=key)["item_id"])


def _after_ranking(rank: Rank | str, texts: list[str]) -> str:
    """The words after the ranking word, to the end of each sentence that has it."""
    word = selector_checks().get(f"rank_{Rank(rank).value}")
    if word is None:
        return ""
    return " ".join(s[m.end():] for t in texts for s in sentences(t) if (m := word.search(s)))


# --- conditions -----------------------------------------------------------------------------------------
def write_facts(view: CustomerView, args: dict[str, Any]) -> dict[str, float]:
    """Facts of a proposed write that conditions ask about: the new variants' price, the refund or difference."""
    order = view.orders.get(str(args.get("order_id")), {"items": []})
    by_id = {i["item_id"]: i for i in order.get("items", [])}
    old = [by_id[i] for i in args.get("item_ids", []) if i in by_id]
    facts: dict[str, float] = {}
    if args.get("new_item_ids"):
        prices = []
        for before, new_id in zip(old, args["new_item_ids"], strict=False):
            product = view.product(before["product_id"]) or {"variants": {}}
            prices.append(float(product["variants"].get(new_id, {}).get("price", 0)))
        facts["price"] = max(prices, default=0.0)
        facts["refund"] = round(sum(float(o["price"]) for o in old) - sum(prices), 2)
    elif old:
        facts["price"] = max(float(o["price"]) for o in old)
        facts["refund"] = round(sum(float(o["price"]) for o in old), 2)
    elif "order_id" in args and "item_ids" not in args:
        facts["refund"] = view.paid_amount(str(args["order_id"]))
    return facts


def holds(condition: str, amount: float | None, facts: dict[str, float]) -> bool:
    """Whether a price / refund condition holds for a proposed write (False when the fact is unknown); a refund
    condition is on the amount of the difference, refunded or charged."""
    fact = {Condition.PRICE_ABOVE: "price", Condition.PRICE_BELOW: "price",
            Condition.REFUND_ABOVE: "refund", Condition.REFUND_BELOW: "refund"}.get(Condition(condition))
    if fact is None or amount is None or fact not in facts:
        return False
    # The money that changes hands, either way: "costs me more than <n> on top" of an upgrade is a difference
    # charged (a negative refund), said with the same words as a refund over <n>.
    value = abs(facts[fact]) if fact == "refund" else facts[fact]
    return value > amount if condition in (Condition.PRICE_ABOVE, Condition.REFUND_ABOVE) else value < amount
