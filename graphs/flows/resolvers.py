"""Resolvers: what the customer said -> the ids a tool needs, or why that cannot be done.

Each resolver returns a ``Resolution``: ``ok`` with a value, ``missing`` (nothing usable was said: ask),
``ambiguous`` (several candidates: ask, listing them) or ``none`` (nothing matches: say so). They never guess
between candidates: an ambiguous description is never resolved silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from graphs.flows.customer import CustomerView, options_text, payment_label
from graphs.flows.text import mentions, order_description_spans, tokens

Status = Literal["ok", "missing", "ambiguous", "none"]


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving one slot."""

    status: Status
    value: Any = None
    candidates: list[tuple[str, str]] = field(default_factory=list)
    """(id, label) pairs to list in a clarifying question."""
    detail: str = ""
    """Why nothing matched (a template key of the flow replies), for ``none``."""


def ok(value: Any) -> Resolution:
    """A resolved value."""
    return Resolution("ok", value)


_RECENT = {"last", "latest", "recent", "newest", "most"}
_STATUS_WORDS = {"pending", "delivered", "processed", "cancelled"}


def order_label(order: dict[str, Any]) -> str:
    """'#W1234567 (pending: Desk Lamp, Yoga Mat)'."""
    names = ", ".join(item["name"] for item in order.get("items", []))
    return f"{order['order_id']} ({order['status']}: {names})"


def _item_words(item: dict[str, Any]) -> set[str]:
    words = tokens(item["name"])
    for value in item.get("options", {}).values():
        words |= tokens(value)
    return words


def _item_score(description: str, item: dict[str, Any]) -> int:
    said = tokens(description)
    if not said:
        return 0
    name = tokens(item["name"])
    overlap = len(said & _item_words(item))
    # The product name is the strongest signal; an option word alone ("the blue one") still counts.
    return overlap + (2 if name and (name & said) else 0)


def _best_orders(pool: list[dict[str, Any]], description: str) -> list[dict[str, Any]]:
    """The orders whose items match the description best (none when nothing matches at all)."""
    scored = [(max((_item_score(description, item) for item in order.get("items", [])), default=0), order)
              for order in pool]
    best = max((score for score, _ in scored), default=0)
    return [order for score, order in scored if score == best and score > 0]


def named_in_texts(items: list[dict[str, Any]], said: dict[str, Any]) -> list[str]:
    """Product names of ``items`` that the customer's own messages for this task contain, as descriptions.

    The code-side safety net under the model's reading: "return the jigsaw puzzle" names the item even when the
    model left ``items`` empty."""
    words = tokens(" ".join(said.get("texts", [])))
    return list(dict.fromkeys(i["name"] for i in items if tokens(i["name"]) and tokens(i["name"]) <= words))


@dataclass(frozen=True)
class NamedItem:
    """An item of the order whose product name the customer wrote, and the words about it."""

    item: dict[str, Any]
    clause: str
    """From its mention to the next other item's mention: where the wanted variant is said."""
    describes_order: bool
    """Every mention is inside an order description ("my order with the hiking boots")."""


def named_items(items: list[dict[str, Any]], texts: list[str]) -> list[NamedItem]:
    """The order's items named in the customer's messages, each with its own clause (code's reading, under the
    model's): "the running shoes in size 9, and the tea kettle in 2 liters" gives each item its half."""
    text = " \n ".join(texts)
    spans = order_description_spans(text)
    found: dict[str, tuple[dict[str, Any], list[tuple[int, int]]]] = {}
    for item in items:
        where = mentions(text, item["name"])
        if where and item["name"] not in found:
            found[item["name"]] = (item, where)
    named = []
    for name, (item, where) in found.items():
        inside = [any(a <= start < b for a, b in spans) for start, _ in where]
        outside = [w for w, ins in zip(where, inside, strict=True) if not ins]
        start = (outside or where)[-1][0]
        later = [s for other, (_, ws) in found.items() if other != name for s, _ in ws if s > start]
        named.append(NamedItem(item, text[start:min(later, default=len(text))], all(inside)))
    return named


def wanted_texts(order: dict[str, Any], item_id: str, said: dict[str, Any]) -> list[str]:
    """What the customer wants instead of one item, best source first: the model's reading for the description
    that matches the item, then the item's own clause, then (one item only) all the customer said."""
    items = order.get("items", [])
    by_id = {i["item_id"]: i for i in items}
    found = []
    for s in said.get("items", []):
        if s.get("wanted") and s.get("item"):
            scores = {i["item_id"]: _item_score(s["item"], i) for i in items}
            if scores.get(item_id) and scores[item_id] == max(scores.values()):
                found.append(str(s["wanted"]))
    named = named_items(items, said.get("texts", []))
    found += [n.clause for n in named if n.item["item_id"] == item_id]
    others = [n for n in named if n.item["item_id"] != item_id and not n.describes_order]
    if by_id.get(item_id) and said.get("texts") and not others:
        found.append(" ".join(said["texts"]))
    return list(dict.fromkeys(found))


def resolve_order(view: CustomerView, said: dict[str, Any], statuses: tuple[str, ...] | None) -> Resolution:
    """The order the customer means, among their own orders (an id, a description, or the only eligible one)."""
    orders = view.orders
    if not (said.get("order_ids") or said.get("order_hint") or said.get("items")) and said.get("texts"):
        named = named_in_texts([i for o in orders.values() for i in o["items"]], said)
        if named:
            said = {**said, "items": [{"item": name} for name in named]}
    eligible = [o for o in orders.values() if not statuses or o["status"] in statuses]
    if said.get("order_ids"):
        mine = [orders[i] for i in said["order_ids"] if i in orders]
        if not mine:
            return Resolution("none", detail="order_not_yours", value=said["order_ids"][0])
        if len(mine) > 1 and statuses:
            mine = [o for o in mine if o["status"] in statuses] or mine
        if len(mine) == 1:
            return ok(mine[0]["order_id"])
        return Resolution("ambiguous", candidates=[(o["order_id"], order_label(o)) for o in mine])
    hint = " ".join([str(said.get("order_hint") or "")] + [i.get("item", "") for i in said.get("items", [])])
    if said.get("order_hint") and said.get("items"):
        # The order's own description decides when it picks one order; the items then only narrow a tie.
        own = _best_orders(list(orders.values()), str(said["order_hint"]))
        if len(own) == 1:
            return ok(own[0]["order_id"])
    hint_words = tokens(hint)
    pool = list(orders.values())
    status_words = hint_words & _STATUS_WORDS
    if status_words:
        pool = [o for o in pool if o["status"] in status_words] or pool
    matches = _best_orders(pool, hint)
    if not matches and hint_words & _RECENT and pool:
        matches = [pool[-1]]
    if not matches and status_words:
        matches = pool
    if not matches:
        if hint_words - _RECENT - _STATUS_WORDS and said.get("items"):
            return Resolution("none", detail="no_order_matches", value=hint.strip())
        matches = eligible if eligible else list(orders.values())
        if len(matches) == 1:
            return ok(matches[0]["order_id"])
        if not matches:
            return Resolution("none", detail="no_eligible_order")
        return Resolution("missing", candidates=[(o["order_id"], order_label(o)) for o in matches])
    if len(matches) > 1 and statuses:
        matches = [o for o in matches if o["status"] in statuses] or matches
    if len(matches) == 1:
        return ok(matches[0]["order_id"])
    return Resolution("ambiguous", candidates=[(o["order_id"], order_label(o)) for o in matches])


def _only_matches(description: str, items: list[dict[str, Any]], ids: set[str]) -> bool:
    scores = [(_item_score(description, i), i["item_id"]) for i in items]
    best = max((score for score, _ in scores), default=0)
    return best > 0 and {i for score, i in scores if score == best} <= ids


def also_named(order: dict[str, Any], said: dict[str, Any], chosen: list[str]) -> list[str]:
    """Items the customer named outside an order description that the reading left out (candidates only: a
    flow keeps those for which the customer also said what they want)."""
    return [n.item["item_id"] for n in named_items(order.get("items", []), said.get("texts", []))
            if not n.describes_order and n.item["item_id"] not in chosen]


def item_label(item: dict[str, Any]) -> str:
    """'Running Shoes (size 9, black)'."""
    return f"{item['name']} ({options_text(item.get('options', {}))})"


def resolve_items(order: dict[str, Any], said: dict[str, Any]) -> Resolution:
    """The order's item ids the customer means (one per described item; every item for 'all of it')."""
    items = order.get("items", [])
    if said.get("all_items"):
        return ok([i["item_id"] for i in items])
    said_items = [s for s in said.get("items", []) if s.get("item")]
    named = named_items(items, said.get("texts", []))
    outside = [n.item["name"] for n in named if not n.describes_order]
    if outside:
        # "In the order with the hiking boots, exchange the thermostat": the boots only pick the order.
        describers = {n.item["item_id"] for n in named if n.describes_order}
        said_items = [s for s in said_items if not _only_matches(s["item"], items, describers)]
    if any(s.get("wanted") for s in said_items):
        # "In the order with the hiking boots, exchange the thermostat for ...": the item with a wanted variant
        # is the one to change; the others only described the order.
        said_items = [s for s in said_items if s.get("wanted")]
    elif len(said_items) > 1 and said.get("order_hint"):
        hint = tokens(said["order_hint"])
        said_items = [s for s in said_items if not tokens(s["item"]) <= hint] or said_items
    described = [s["item"] for s in said_items]
    if not described and said.get("texts"):
        described = outside or named_in_texts(items, said)
    if not described:
        if len(items) == 1:
            return ok([items[0]["item_id"]])
        return Resolution("missing", candidates=[(i["item_id"], item_label(i)) for i in items])
    chosen: list[str] = []
    for description in described:
        scores = [(_item_score(description, item), item) for item in items]
        best = max((s for s, _ in scores), default=0)
        top = [item for s, item in scores if s == best and s > 0]
        if not top:
            return Resolution("none", detail="item_not_in_order", value=description,
                              candidates=[(i["item_id"], item_label(i)) for i in items])
        distinct = {item["item_id"] for item in top}
        if len(distinct) > 1:
            return Resolution("ambiguous", candidates=[(i["item_id"], item_label(i)) for i in top],
                              value=description)
        # Several units of the same variant: take one more unit per mention.
        free = [i for i in top if chosen.count(i["item_id"]) < sum(1 for t in items if t["item_id"] == i["item_id"])]
        if free:  # otherwise the same item described twice ("the pet bed ... same grey fleece"), not a second unit
            chosen.append(free[0]["item_id"])
    return ok(chosen)


def _named_options(wanted: str | None, current: dict[str, Any], variants: list[dict[str, Any]]) -> dict[str, str]:
    """Option values the customer named. A value shared by two options ("black" for a frame and a lens colour)
    counts only in a phrase that names its own option ("black frame, brown lenses"); a value unique to one
    option counts anywhere."""
    clauses = [tokens(c) for c in re.split(r",|;|\band\b|\bwith\b", str(wanted or ""), flags=re.I)]
    values = {o: {str(v["options"].get(o)) for v in variants if o in v["options"]} for o in current}
    changes: dict[str, str] = {}
    for option, option_values in values.items():
        name = tokens(option)
        others = set().union(*(tokens(n) for n in values if n != option)) if len(values) > 1 else set()
        own_words = name - others
        own_clauses = [c for c in clauses if name <= c or c & own_words]
        said = set().union(*clauses) if clauses else set()
        hits = []
        for value in option_values:
            value_words = tokens(value)
            if value_words and value_words <= name:
                # A value spelled inside its option's name ("bagged/bagless: bagless") counts only outside it.
                if not any(value_words <= c - name for c in clauses):
                    continue
            elif not value_words or not (value_words <= said or any(value_words <= c for c in own_clauses)):
                continue
            shared = any(value_words <= tokens(v) for o, vs in values.items() if o != option for v in vs)
            if any(value_words <= c for c in own_clauses) or not shared:
                hits.append(value)
        # "Wi-Fi + Cellular" also contains "Wi-Fi": the more specific value named wins.
        hits = [h for h in hits if not any(tokens(h) < tokens(other) for other in hits)]
        if hits:
            # What the customer wants differs from what they have; then the longest ("stainless steel" over "steel").
            changes[option] = max(hits, key=lambda v: (v != str(current[option]), len(v)))
    return changes


def resolve_variant(view: CustomerView, item: dict[str, Any], wanted: str | None) -> Resolution:
    """The available variant of the same product with the options the customer asked for."""
    product = view.product(item["product_id"]) or {"variants": {}}
    variants = list(product["variants"].values())
    current = dict(item.get("options", {}))
    changes = _named_options(wanted, current, variants)
    available = [v for v in variants if v["available"] and v["item_id"] != item["item_id"]]
    choices = [(v["item_id"], options_text(v["options"])) for v in available]
    if not changes:
        return Resolution("missing", candidates=choices)
    target = current | changes
    exact = [v for v in variants if v["options"] == target]
    if exact and exact[0]["item_id"] == item["item_id"]:
        return Resolution("none", detail="same_variant", candidates=choices, value=options_text(target))
    if exact and exact[0]["available"]:
        return ok(exact[0]["item_id"])
    # The exact combination is not sold (or not in stock): what the customer named is binding, the options
    # they did not mention may differ. One best match (most unmentioned options kept) is offered for
    # confirmation; several equally good ones are listed.
    named = [v for v in available if all(v["options"].get(k) == val for k, val in changes.items())]
    if named:
        def kept(v: dict[str, Any]) -> int:
            return sum(v["options"].get(k) == val for k, val in current.items() if k not in changes)
        best = max(kept(v) for v in named)
        top = [v for v in named if kept(v) == best]
        if len(top) == 1:
            return ok(top[0]["item_id"])
        return Resolution("ambiguous", candidates=[(v["item_id"], options_text(v["options"])) for v in top],
                          value=options_text(changes))
    detail = "variant_unavailable" if exact else "no_such_variant"
    return Resolution("none", detail=detail, candidates=choices, value=options_text(target))


_CARD_WORDS = {"card", "credit", "debit", "visa", "mastercard", "amex", "american", "discover"}


def resolve_payment(view: CustomerView, words: str | None, order_id: str | None = None) -> Resolution:
    """The payment method id the customer's words name ('my PayPal', 'the visa ending 1234', 'original')."""
    said = tokens(words)
    methods = list(view.payment_methods.values())
    if not said:
        return Resolution("missing", candidates=[(m["id"], payment_label(m)) for m in methods])
    if said & {"original", "same", "back", "usual"} and order_id:
        original = view.original_payment(order_id)
        if original:
            return ok(original)
    if "gift" in said:
        pool = [m for m in methods if m["source"] == "gift_card"]
    elif "paypal" in said:
        pool = [m for m in methods if m["source"] == "paypal"]
    elif said & _CARD_WORDS or any(w.isdigit() and len(w) == 4 for w in said):
        pool = [m for m in methods if m["source"] == "credit_card"]
        brands = said & {"visa", "mastercard", "amex", "discover"}
        if brands:
            pool = [m for m in pool if str(m.get("brand", "")).lower() in brands]
        digits = {w for w in said if w.isdigit() and len(w) == 4}
        if digits:
            pool = [m for m in pool if str(m.get("last_four")) in digits]
    else:
        return Resolution("missing", candidates=[(m["id"], payment_label(m)) for m in methods])
    if len(pool) == 1:
        return ok(pool[0]["id"])
    if not pool:
        return Resolution("none", detail="no_such_payment", value=words,
                          candidates=[(m["id"], payment_label(m)) for m in methods])
    return Resolution("ambiguous", candidates=[(m["id"], payment_label(m)) for m in pool])


_ADDRESS_REQUIRED = ("address1", "city", "state", "zip")


def resolve_address(said: dict[str, Any] | None) -> Resolution:
    """A complete address (street, city, state, zip; country defaults to USA, second line to empty)."""
    said = {k: v for k, v in (said or {}).items() if v}
    missing = [k for k in _ADDRESS_REQUIRED if not said.get(k)]
    if missing:
        return Resolution("missing", value=missing)
    state = str(said["state"]).strip()
    return ok({"address1": str(said["address1"]).strip(), "address2": str(said.get("address2") or "").strip(),
               "city": str(said["city"]).strip(), "state": state.upper() if len(state) == 2 else state,
               "country": str(said.get("country") or "USA").strip(), "zip": str(said["zip"]).strip()})
