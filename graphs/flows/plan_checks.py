"""The request plan checked against the customer's own text (pure functions, in place on the plan's dict).

A small model pads its reading; every selector (a scope over orders, an exclusion, a ranking, a condition with its
alternative, every item) is kept only as far as the text says it, and the parts of "everything but X" and "every
<status> order" are put where code evaluates them (``selection``, ``evaluate``).
"""

from __future__ import annotations

import re
from typing import Any

from graphs.flows.reading_schema import said as said_check
from graphs.flows.reading_schema import selector_checks
from graphs.flows.text import sentences, tokens
from graphs.selectors import Rank
from graphs.task_words import REASON_CHECKS, beyond_doubt, cue_said, start


def rank_from_text(data: dict[str, Any], text: str) -> None:
    """A ranking the text says ("the <rank> <attribute> one") put on the one item being changed
    when the reading left it out (in place): the ranking checks that drop a padded rank also read one that is
    said, and a single changed item can only be what it ranks."""
    items = data.get("items") or []
    changing = {str(t) for t in data.get("tasks", [])} & {"modify_items", "exchange"}
    if len(items) != 1 or not changing or not isinstance(items[0], dict) or items[0].get("rank"):
        return
    ranks = [r.value for r in Rank if said_check(f"rank_{r.value}", text)]
    if len(ranks) == 1:
        items[0]["rank"] = ranks[0]


def check_selectors(data: dict[str, Any], text: str) -> None:
    """Keep the plan's selectors only as far as the text says them (in place): a scope over several orders needs
    a word like "all", exclusions and alternatives need their words and names, an amount needs its number."""
    checks = selector_checks()
    scope = data.get("order_scope")
    if scope and scope != "one" and \
            not checks.get(f"order_scope_{scope}", re.compile("$^")).search(_both_counted(data, text)):
        data.pop("order_scope")
    if scope == "one":
        data.pop("order_scope")
    status = data.get("order_status")
    if status and not checks.get(f"order_status_{status}", re.compile("$^")).search(text):
        data.pop("order_status")  # the status narrows which orders are meant: only when the text says it
    if data.get("order_status") and {str(t) for t in data.get("tasks", [])} == {"order_info"} and \
            sum(bool(checks[f"order_status_{s}"].search(text)) for s in ("pending", "processed", "delivered")) > 1:
        # "<what's status A>, <what's status B> and <what's status C>": statuses listed to ask about them all, not
        # one to narrow by (a question over a superset of the orders meant still answers it).
        data.pop("order_status", None)
    if data.get("except_orders"):
        kept = [e for e in data["except_orders"] if isinstance(e, str) and _excluded_as_said(e, text)]
        if kept and data.get("order_scope"):
            data["except_orders"] = kept
        else:
            data.pop("except_orders")
    for bound in ("order_total_below", "order_total_above"):
        if data.get(bound) is not None and not (data.get("order_scope") and _amount_said(data[bound], text)):
            data.pop(bound)
    for item in data.get("items") or []:
        # A ranking only as said: "the cheapest one" says cheapest; a plain "2 liter version" says none.
        if isinstance(item, dict) and item.get("rank") and \
                not checks.get(f"rank_{item['rank']}", re.compile("$^")).search(text):
            item["rank"] = None
    if data.get("reason") and not said_check(REASON_CHECKS.get(str(data["reason"]), ""), text):
        data.pop("reason")  # a reason the text does not give: asked, never guessed
    if data.get("all_items") and not _all_items_asked(data, text):
        data.pop("all_items")
    if data.get("except_items"):
        kept = [e for e in data["except_items"] if isinstance(e, str) and _excluded_as_said(e, text)]
        if kept:
            data["except_items"] = kept
        else:
            data.pop("except_items")
    if data.get("alternatives"):
        tasks = {str(t) for t in data.get("tasks", [])}
        data["alternatives"] = [a for a in (_as_alternative(a, text, tasks) for a in data["alternatives"]) if a]
        if not data["alternatives"] or not checks["alternatives"].search(text):
            data.pop("alternatives")


def _both_counted(data: dict[str, Any], text: str) -> str:
    """The text without the "both" that counts the items named ("<n> of one <item> ... <task> both of
    them"): beside named items it is neither every item of the order nor every order."""
    return selector_checks()["both_of_items"].sub(" ", text) if any(i.get("item") for i in data.get("items", [])) else text


def _all_items_asked(data: dict[str, Any], text: str) -> bool:
    """Every item is asked for only when a word that says so stands in a sentence of the request: "<task>
    everything", not "<item> ... <remark about> everything else <of mine>" beside a request for one item."""
    words = selector_checks()["all_items"]
    text = _both_counted(data, text)
    tasks = [str(t) for t in data.get("tasks", []) if cue_said(str(t), text)]
    if not tasks:
        return bool(words.search(text))  # an answer ("all of them") asks for no task of its own (a task the
        # reading padded it with has no cue in it)
    return any(words.search(s) and any(cue_said(t, s) for t in tasks) for s in sentences(text))


#: Tasks that act on items of an order.
_ITEM_TASKS = ("return", "exchange", "modify_items")


def every_item_of_each(data: dict[str, Any], text: str) -> None:
    """Over several orders, "<task> every (single) thing" asks for every item of each (in place): the reading gave
    the scope but no item."""
    tasks = {str(t) for t in data.get("tasks", [])}
    if data.get("order_scope") == "all" and tasks and tasks <= set(_ITEM_TASKS) and not data.get("items") \
            and not data.get("all_items") and not data.get("except_items") and _all_items_asked(data, text):
        data["all_items"] = True


def kept_from_description(data: dict[str, Any], text: str) -> None:
    """Over every item of one order, the item the order was described by is excluded when a sentence says it is
    kept (in place): "<item> <is what I keep> ... <task> everything else" names the order by the one
    thing not to act on."""
    hint = str(data.get("order_hint") or "")
    if not data.get("all_items") or data.get("except_items") or data.get("order_scope") or not hint:
        return
    kept = [s for s in sentences(text) if said_check("item_kept", s)]
    described = tokens(hint) - tokens("the one order with my that in it")
    if described and any(described <= tokens(s) for s in kept):
        data["except_items"] = [" ".join(w for w in hint.split() if tokens(w) and tokens(w) <= described)]


def echoed(item: dict[str, Any]) -> bool:
    """An item reading whose wanted variant is its own description, word for word: it names, it changes nothing."""
    return bool(item.get("item")) and tokens(item.get("item")) == tokens(item.get("wanted"))


def alternative_items_dropped(data: dict[str, Any]) -> None:
    """An item whose wanted variant is an alternative's ("<A>; if <condition>, <B> instead" read as two changes
    of the item, to <A> and to <B>) is that alternative, not a second change (in place)."""
    instead = [tokens(a.get("wanted")) for a in data.get("alternatives", []) if a.get("wanted")]
    items = data.get("items") or []
    kept = [i for i in items if not (i.get("wanted") and tokens(i["wanted"]) in instead)]
    if instead and kept and len(kept) < len(items):
        data["items"] = kept


def kept_items_dropped(data: dict[str, Any], text: str) -> None:
    """Of several items, one said only in sentences that say it is kept ("I only need the <item A>") and that
    start no request is not acted on (in place): it is the customer's reason for acting on the other."""
    items = data.get("items") or []
    if len(items) < 2:
        return
    tasks = [str(t) for t in data.get("tasks", [])]
    said_in = sentences(text)
    kept = [s for s in said_in if said_check("item_kept", s) and not any(start(t, s) for t in tasks)]

    def kept_only(item: dict[str, Any]) -> bool:
        named = str(item.get("item") or "")
        # Where an item is said is where the words that tell it from the others are ("round" of "round <thing>"
        # beside "square <thing>"), else where most of its words are.
        own = tokens(named) - set().union(*(tokens(str(i.get("item") or "")) for i in items if i is not item))
        where = [s for s in said_in if (own & tokens(s) if own else mostly_said(named, s))]
        changes = item.get("wanted") and not echoed(item)
        return bool(named) and not changes and bool(where) and all(s in kept for s in where)

    acted_on = [i for i in items if not kept_only(i)]
    if acted_on:
        data["items"] = acted_on


def _exclusion_clauses(text: str) -> list[str]:
    """What the text says after each of its exclusion words ("except ...", "all but ..."), to the end of that
    sentence; and each whole sentence that says what is kept ("<item> ... keeping", "<task> everything else"),
    where the kept thing may come first."""
    checks = selector_checks()
    after = [re.split(r"[.!?;]", text[m.end():], maxsplit=1)[0] for m in checks["except_items"].finditer(text)]
    return after + [s for s in sentences(text) if checks["except_kept"].search(s)]


def _excluded_as_said(value: str, text: str) -> bool:
    """An exclusion is something the text says after an exclusion word: "<item A> ... except the <item B>"
    excludes <B>, never <A>."""
    return any(mostly_said(value, clause) for clause in _exclusion_clauses(text))


def exclusion_from_description(data: dict[str, Any], text: str) -> None:
    """Over every order of a status, an order description said after the exclusion word is the exclusion (in
    place): "<task> every <status> order, except <the order described>" names no order to act on."""
    if data.get("order_scope") != "all" or data.get("except_orders") or data.get("except_items"):
        return
    clauses = _exclusion_clauses(text)
    hint = str(data.get("order_hint") or "")
    if hint and any(mostly_said(hint, c) for c in clauses):
        data["except_orders"] = [data.pop("order_hint")]
        data["items"] = [i for i in data.get("items", []) if not mostly_said(str(i.get("item") or ""), hint)]


#: Tasks that act on whole orders: what such a request excludes over several orders is orders, not items.
_WHOLE_ORDER_TASKS = ("cancel", "modify_address", "modify_payment")


def place_exclusions(data: dict[str, Any]) -> None:
    """Put each part of "everything but X" where code evaluates it (in place).

    The model names every item it reads in ``items``, the excluded ones too, and sometimes "everything" itself
    ("all of it but the <item>" as an item): an item also listed as excluded is not acted on, and an item that says
    "everything" is the all-items selector (a variant wanted for it is wanted for every item). Over several orders
    of a whole-order task ("<task> every <status> order except the <item> one"), the exclusions are orders.
    """
    excluded = [tokens(e) for e in data.get("except_items", [])]
    everything = selector_checks()["all_items"]
    kept = []
    for item in data.get("items", []):
        words = tokens(item.get("item"))
        if words and any(e and e <= words for e in excluded) and not everything.search(item.get("item") or ""):
            continue  # the excluded item itself
        if excluded and everything.search(item.get("item") or ""):
            data["all_items"] = True
            if not (item.get("wanted") or item.get("rank")):
                continue
            item = {**item, "item": ""}
        kept.append(item)
    if "items" in data:
        data["items"] = kept
    tasks = {str(t) for t in data.get("tasks", [])}
    if data.get("order_scope") == "all" and excluded and tasks and tasks <= set(_WHOLE_ORDER_TASKS) \
            and not data.get("except_orders"):
        data["except_orders"] = data.pop("except_items")
        data.pop("all_items", None)


def _amount_said(amount: Any, text: str) -> bool:
    """The amount (its whole dollars) is written in the text."""
    try:
        whole = int(float(amount))
    except (TypeError, ValueError):
        return False
    return bool(re.search(rf"(?<![\d.]){whole}(?!\d)", text.replace(",", "")))


def _as_alternative(alternative: dict[str, Any], text: str, tasks: set[str]) -> dict[str, Any] | None:
    """An alternative kept as said: its amount written in the text, its variant and payment in the customer's
    words, and something to do instead (when the reading gave none, the task a conditional sentence names
    beyond doubt: "if <a fact> is over <n>, <task> the order")."""
    said = tokens(text)
    kept = dict(alternative)
    if kept.get("amount") is not None and not _amount_said(kept["amount"], text):
        return None
    for key in ("wanted", "payment"):
        if kept.get(key) and not tokens(kept[key]) <= said:
            kept.pop(key)
    if str(kept.get("condition", "")).startswith("refund_") and kept.get("payment"):
        kept.pop("task", None)  # where the refund goes: the same request, paid back another way
    if not (kept.get("task") or kept.get("wanted") or kept.get("payment")):
        conditional = [x for x in sentences(text) if said_check("alternatives", x)]
        named = {t for x in conditional for t in beyond_doubt(x)} - tasks
        if len(named) != 1:
            return None
        kept["task"] = named.pop()
    return kept


def mostly_said(value: str, text: str) -> bool:
    """True when at least half of the value's words (filler aside) occur in the text."""
    words = tokens(value)
    return bool(words) and len(words & tokens(text)) * 2 >= len(words)
