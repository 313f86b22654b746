"""Resolvers of orders, payment methods and addresses: what the customer said -> the ids a tool needs, or why
that cannot be done (items and variants: ``graphs.flows.items``). Each returns a ``Resolution``."""

from __future__ import annotations

import re
from typing import Any

from graphs.flows.customer import CustomerView
from graphs.flows.items import item_score, named_as_written, named_in_texts
from graphs.flows.resolution import Resolution, ok
from graphs.flows.text import tokens
from graphs.labels import payment_label

#: A payment described by how the order was paid (how/which + paid or used; first person + paid or used): the
#: original method. Only the past tense: a wish to pay with <method> names that method.
_PAID_WITH = re.compile(r"\b(how(ever)?|what(ever)?|which(ever)?)\b[^.?!]{0,30}\b(paid|pay|used)\b|"
                        r"\b(i|we)\s+(originally\s+|first\s+|initially\s+)?(paid|used|bought (it|them) with)\b", re.I)
#: A method described against the order's own (other / another / different / new; not the <method>): any
#: method but the order's own.
_OTHER_THAN_ORIGINAL = re.compile(r"\b(other|another|different|new)\b|\bnot the (one|card|method)\b", re.I)
_RECENT = {"last", "latest", "recent", "newest", "most"}
_STATUS_WORDS = {"pending", "delivered", "processed", "cancelled"}


def order_label(order: dict[str, Any]) -> str:
    """'#W1234567 (pending: Desk Lamp, Yoga Mat)'."""
    names = ", ".join(item["name"] for item in order.get("items", []))
    return f"{order['order_id']} ({order['status']}: {names})"


def _best_orders(pool: list[dict[str, Any]], description: str) -> list[dict[str, Any]]:
    """The orders whose items match the description best (none when nothing matches at all)."""
    scored = [(max((item_score(description, item) for item in order.get("items", [])), default=0), order)
              for order in pool]
    best = max((score for score, _ in scored), default=0)
    tied = [order for score, order in scored if score == best and score > 0]
    if len(tied) > 1:
        # An order described by <A>, <B> and <C> together: of orders that fit one item alike, the one with more of the
        # items described (each product named as written) is meant.
        named = [(len({i["name"] for i in o.get("items", []) if named_as_written(i["name"], description)}), o)
                 for o in tied]
        most = max(count for count, _ in named)
        tied = [o for count, o in named if count == most]
    return tied



def resolve_order(view: CustomerView, said: dict[str, Any], statuses: tuple[str, ...] | None) -> Resolution:
    """The order the customer means, among their own orders (an id, a description, or the only eligible one)."""
    orders = view.orders
    if not (said.get("order_ids") or said.get("order_hint") or said.get("items")) and said.get("texts"):
        named = named_in_texts([i for o in orders.values() for i in o["items"]], said)
        if named:
            said = {**said, "items": [{"item": name} for name in named]}
    if said.get("order_status") and not said.get("order_ids"):
        # An order described by its status ("the one still pending"): the status narrows the orders first,
        # unless no order of that status fits what else was said ("if the <item> order <status>, <task>" states a
        # condition: that order is still the one meant, and the flow explains its status).
        narrowed = {oid: o for oid, o in orders.items() if o["status"] == said["order_status"]}
        described = " ".join([str(said.get("order_hint") or "")] + [i.get("item", "") for i in said.get("items", [])])
        if narrowed and (not tokens(described) or _best_orders(list(narrowed.values()), described)):
            orders = narrowed
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
    if not matches and not view.orders:
        return Resolution("none", detail="no_orders")  # "Your orders: ." would list nothing
    if not matches:
        if len(orders) == 1 and said.get("order_status"):
            return ok(next(iter(orders)))
        if hint_words - _RECENT - _STATUS_WORDS and said.get("items"):
            return Resolution("none", detail="no_order_matches", value=hint.strip(),
                              candidates=[(o["order_id"], order_label(o)) for o in view.orders.values()])
        matches = eligible if eligible else list(orders.values())
        if len(matches) == 1:
            return ok(matches[0]["order_id"])
        if not matches:
            return Resolution("none", detail="no_eligible_order" if view.orders else "no_orders")
        return Resolution("missing", candidates=[(o["order_id"], order_label(o)) for o in matches])
    if len(matches) > 1 and statuses:
        matches = [o for o in matches if o["status"] in statuses] or matches
    if len(matches) == 1:
        return ok(matches[0]["order_id"])
    return Resolution("ambiguous", candidates=[(o["order_id"], order_label(o)) for o in matches])


_CARD_WORDS = {"card", "credit", "debit", "visa", "mastercard", "amex", "american", "discover"}


def _kinds_named(said: set[str], methods: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The methods of each kind the words name, in the order gift card, PayPal, card (a card narrowed by its
    brand and last four digits)."""
    kinds = []
    if "gift" in said:
        kinds.append([m for m in methods if m["source"] == "gift_card"])
    if "paypal" in said:
        kinds.append([m for m in methods if m["source"] == "paypal"])
    if said & _CARD_WORDS or any(w.isdigit() and len(w) == 4 for w in said):
        pool = [m for m in methods if m["source"] == "credit_card"]
        brands = said & {"visa", "mastercard", "amex", "discover"}
        if brands:
            pool = [m for m in pool if str(m.get("brand", "")).lower() in brands]
        digits = {w for w in said if w.isdigit() and len(w) == 4}
        if digits:
            pool = [m for m in pool if str(m.get("last_four")) in digits]
        kinds.append(pool)
    return kinds


def said_as_paid_with(words: str, texts: list[str]) -> bool:
    """A sentence of the customer's says the order was paid with these words' method ("<I paid> ... with
    <method> but ..."): the method paid with, not the one wanted."""
    said = tokens(words)
    return bool(said) and any(said <= tokens(re.split(r"[,;.!?]|\bbut\b", t[m.end():], maxsplit=1)[0])
                              for t in texts for m in _PAID_WITH.finditer(t))


def says_original(words: str) -> bool:
    """The words point at the method that paid for the order ("the original <method>", "the same <method> as before").
    A customer's "usual" one is not: the store knows what paid this order, not what they usually use."""
    return bool(tokens(words) & {"original", "same"}) or bool(_PAID_WITH.search(words))


def resolve_payment(view: CustomerView, words: str | None, order_id: str | None = None,
                    exclude: str | None = None) -> Resolution:
    """The payment method id the customer's words name ('my PayPal', 'the visa ending 1234', 'original'); never
    ``exclude`` (the method a change of payment moves away from)."""
    said = tokens(words)
    methods = [m for m in view.payment_methods.values() if m["id"] != exclude]
    # A method named by its id (a numbered choice we listed with it, to tell two PayPal accounts apart).
    by_id = [m["id"] for m in methods if m["id"] in str(words or "")]
    if len(by_id) == 1:
        return ok(by_id[0])
    if not said:
        return Resolution("missing", candidates=[(m["id"], payment_label(m)) for m in methods])
    original = view.original_payment(order_id) if order_id else None
    # "the original card", "same as before" ("send it back" is a return, not a payment method).
    means_original = says_original(str(words)) and original is not None
    others = bool(original and not means_original and _OTHER_THAN_ORIGINAL.search(str(words)))
    if others:
        # The method is described against the order's own: the candidates are all the others.
        methods = [m for m in methods if m["id"] != original] or methods
    kinds = _kinds_named(said, methods)
    if kinds:
        # The first kind named that the customer has ("I paid with <A> but put it on <B>", A excluded: B).
        pool = next((p for p in kinds if p), [])
    elif means_original:
        return ok(original)
    elif others:
        pool = methods  # "the other one": any kind, just not the order's own
    else:
        return Resolution("missing", candidates=[(m["id"], payment_label(m)) for m in methods])
    if len(pool) == 1:
        return ok(pool[0]["id"])
    if means_original and original in {m["id"] for m in pool}:
        return ok(original)  # "the same <method> I paid with" among two accounts of that kind
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
