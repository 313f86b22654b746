"""Items of an order from the customer's words: which items they mean, and which variant they want instead.

The model's reading of the items comes first; code's own reading of the text is the net under it: the product
names the customer wrote, each with its own clause ("the <item A> in <variant>, and the <item B> in
<variant>"), and the items that only describe the order ("my order with the <item>").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from graphs.flows.customer import CustomerView, options_text
from graphs.flows.reading_schema import check_pattern
from graphs.flows.reading_schema import said as said_check
from graphs.flows.resolution import Resolution, ok
from graphs.flows.text import mentions, order_description_spans, sentences, tokens
from prompts import load_data


def _item_words(item: dict[str, Any]) -> set[str]:
    words = tokens(item["name"])
    for value in item.get("options", {}).values():
        words |= tokens(value)
    return words


def item_score(description: str, item: dict[str, Any]) -> int:
    said = tokens(description)
    if not said:
        return 0
    name = tokens(item["name"])
    overlap = len(said & _item_words(item))
    # The product name is the strongest signal; an option word alone ("the blue one") still counts. The name as
    # written beats a synonym of it (tokens fold synonyms together), so the customer's own word tells apart two
    # orders whose products a folded word fits alike.
    return overlap + (2 if name and (name & said) else 0) + (1 if named_as_written(item["name"], description) else 0)


def named_as_written(name: str, description: str) -> bool:
    """Every word of the product name occurs in the description as written (plural aside), not as a synonym."""
    def words(text: str) -> set[str]:
        return {w.rstrip("s") for w in re.findall(r"[a-z0-9]+", text.lower())}
    return words(name) <= words(description)


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
    """Every mention is inside an order description ("my order with the <item>")."""


def named_items(items: list[dict[str, Any]], texts: list[str]) -> list[NamedItem]:
    """The order's items named in the customer's messages, each with its own clause (code's reading, under the
    model's): "the <item A> in <variant>, and the <item B> in <variant>" gives each item its half."""
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
    found = [str(said["wanted_by_item"][item_id])] if item_id in said.get("wanted_by_item", {}) else []
    for s in said.get("items", []):
        if s.get("wanted") and s.get("item"):
            scores = {i["item_id"]: item_score(s["item"], i) for i in items}
            if scores.get(item_id) and scores[item_id] == max(scores.values()):
                found.append(str(s["wanted"]))
    named = named_items(items, said.get("texts", []))
    if not found:
        # The variant read for items that only describe the order (a request that names the order by <A> and
        # changes <B> to <colour>, read as <A> in <colour>) was said of the items changed: one such variant is theirs.
        describers = {n.item["item_id"] for n in named if n.describes_order}
        stray = {str(s["wanted"]) for s in said.get("items", []) if s.get("wanted") and s.get("item")
                 and describers and _only_matches(s["item"], items, describers)}
        if len(stray) == 1 and item_id not in describers:
            found.append(stray.pop())
    found += [n.clause for n in named if n.item["item_id"] == item_id]
    others = [n for n in named if n.item["item_id"] != item_id and not n.describes_order]
    if by_id.get(item_id) and said.get("texts") and not others:
        found.append(" ".join(said["texts"]))
    return list(dict.fromkeys(found))


def _only_matches(description: str, items: list[dict[str, Any]], ids: set[str]) -> bool:
    scores = [(item_score(description, i), i["item_id"]) for i in items]
    best = max((score for score, _ in scores), default=0)
    return best > 0 and {i for score, i in scores if score == best} <= ids


_CHANGE_CUE = re.compile(r"\b(size|colou?r|bigger|smaller|larger|instead|different|another|swap|switch|change|bump|"
                         r"too (small|big|large|tight|loose|short|long)|(up|down) a size)\b", re.I)


def changed_only(order: dict[str, Any], item_ids: list[str], said: dict[str, Any]) -> list[str]:
    """Of several items to change with no wanted variant read yet, those whose own clause asks for a change ("I
    ordered <A> and <B>, the <A> are too small, can you go up a size?": the <A>)."""
    if len(set(item_ids)) < 2 or any(s.get("wanted") for s in said.get("items", [])):
        return item_ids
    clauses = {n.item["item_id"]: n.clause for n in named_items(order.get("items", []), said.get("texts", []))}
    asked = [i for i in item_ids if _CHANGE_CUE.search(clauses.get(i, ""))]
    return asked if asked and all(i in clauses for i in item_ids) else item_ids


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
    fitting = [s for s in said_items if any(item_score(s["item"], i) for i in items)]
    if fitting:
        # A long description that fits no item beside one that does is a clause the reading took for an item
        # ("<item>, the <part> is <complaint>"): it names nothing to act on.
        said_items = [s for s in said_items if s in fitting or len(tokens(s["item"])) < _CLAUSE_WORDS]
    named = named_items(items, said.get("texts", []))
    outside = [n.item["name"] for n in named if not n.describes_order]
    if outside:
        # "In the order with the <A>, exchange the <B>": the <A> only pick the order.
        describers = {n.item["item_id"] for n in named if n.describes_order}
        said_items = [s for s in said_items if not _only_matches(s["item"], items, describers)]
    if any(s.get("wanted") for s in said_items):
        # "In the order with the <A>, exchange the <B> for ...": the item with a wanted variant
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
        scores = [(item_score(description, item), item) for item in items]
        best = max((s for s, _ in scores), default=0)
        top = [item for s, item in scores if s == best and s > 0]
        if not top:
            return Resolution("none", detail="item_not_in_order", value=description,
                              candidates=[(i["item_id"], item_label(i)) for i in items])
        if len({item["item_id"] for item in top}) > 1:
            top = _told_apart(top, said) or top
        distinct = {item["item_id"] for item in top}
        if len(distinct) > 1:
            return Resolution("ambiguous", candidates=[(i["item_id"], item_label(i)) for i in top],
                              value=description)
        # Several units of the same variant: one more unit per mention, or as many as counted ("both of the
        # <items>"); a unit already taken is the same item described twice ("the <item> ... same <colour>").
        units = sum(1 for t in items if t["item_id"] == top[0]["item_id"])
        wanted_units = min(units - chosen.count(top[0]["item_id"]), units_said(description, said.get("texts", [])))
        chosen += [top[0]["item_id"]] * max(wanted_units, 0)
    return ok(chosen)


def units_said(description: str, texts: list[str]) -> int:
    """How many units of one described item the customer means: a count in the description ("both of the
    <items>"), else in a sentence that says the item ("<n> of one <item> ... <task> both of them"); 1 when
    none is said. Code caps it at the units the order has."""
    where = [description] + [s for t in texts for s in sentences(t) if tokens(description) & tokens(s)]
    for text in where:
        if found := check_pattern("units_counted").search(text):
            word = found.group(1).lower()
            return load_data("reading_checks")["_units_counted_words"].get(word) or int(word)
    return 1


#: Words from which a description that fits no item is a clause, not a product ("<the part> is <complaint>").
_CLAUSE_WORDS = 6


def _told_apart(top: list[dict[str, Any]], said: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Of items that one description fits alike ("the <product>"), the one whose own option values the customer
    wrote ("the <colour> one"), not counting the words of the variants wanted instead; None when that tells none
    apart."""
    wanted = {w for s in said.get("items", []) for w in _loose(s.get("wanted"))}
    written = set().union(*(_loose(t) for t in said.get("texts", []))) - wanted
    def own(item: dict[str, Any]) -> int:
        return sum(bool(_loose(v)) and _loose(v) <= written for v in item.get("options", {}).values())
    best = max(own(i) for i in top)
    picked = [i for i in top if own(i) == best]
    return picked if best and len({i["item_id"] for i in picked}) == 1 else None


#: Letter sizes and how customers say them ("a large" is size L where sizes are letters).
_LETTER_SIZES = {"XS": r"extra[- ]?small|x-small", "S": r"small", "M": r"medium", "L": r"large",
                 "XL": r"extra[- ]?large|x-large|xlarge", "XXL": r"xx-large|double extra large"}


def _letter_sizes(text: str, taken: set[str]) -> str:
    for size in ("XXL", "XL", "XS", "S", "M", "L"):  # the longer phrases first: "extra large" is not "large"
        spoken = [p for p in _LETTER_SIZES[size].split("|") if not tokens(p) & taken]
        if spoken:
            text = re.sub(rf"\b(?:{'|'.join(spoken)})\b", f" {size} ", text, flags=re.I)
    return text


def _loose(text: Any) -> set[str]:
    """Word tokens with hyphenated words split ("<n>-<unit>" and "<n> <unit>", hyphenated or joined words alike), for comparing
    option values with what the customer wrote."""
    return {part for token in tokens(text) for part in token.split("-") if part}


#: Words that keep an option as it is when they stand beside its name ("same size", "keep the colour").
_KEEP_WORDS = {"same", "keep", "current", "unchanged"}


def named_options(wanted: str | None, current: dict[str, Any], variants: list[dict[str, Any]]) -> dict[str, str]:
    """Option values the customer named. A value shared by two options ("black" for a frame and a lens colour)
    counts only in a phrase that names its own option ("black frame, brown lenses"); a value unique to one
    option counts anywhere."""
    values = {o: {str(v["options"].get(o)) for v in variants if o in v["options"]} for o in current}
    if any(vs and vs <= _LETTER_SIZES.keys() for vs in values.values()):
        # Unless another option has that word as a value ("ventilation: medium" beside sizes S/M/L).
        taken = {w for vs in values.values() if not vs <= _LETTER_SIZES.keys() for v in vs for w in _loose(v)}
        wanted = _letter_sizes(str(wanted or ""), taken)
    clauses = [_loose(c) for c in re.split(r",|;|\band\b|\bwith\b", str(wanted or ""), flags=re.I)]
    changes: dict[str, str] = {}
    for option, option_values in values.items():
        name = _loose(option)
        others = set().union(*(_loose(n) for n in values if n != option)) if len(values) > 1 else set()
        own_words = name - others
        own_clauses = [c for c in clauses if name <= c or c & own_words]
        said = set().union(*clauses) if clauses else set()
        hits = []
        for value in option_values:
            value_words = _loose(value)
            if value_words and value_words <= name:
                # A value spelled inside its option's name ("bagged/bagless: bagless") counts only outside it.
                if not any(value_words <= c - name for c in clauses):
                    continue
            elif not value_words or not (value_words <= said or any(value_words <= c for c in own_clauses)):
                continue
            shared = any(value_words <= _loose(v) for o, vs in values.items() if o != option for v in vs)
            if any(value_words <= c for c in own_clauses) or not shared:
                hits.append(value)
        # "Wi-Fi + Cellular" also contains "Wi-Fi": the more specific value named wins.
        hits = [h for h in hits if not any(_loose(h) < _loose(other) for other in hits)]
        if hits:
            # What the customer wants differs from what they have; then the longest ("stainless steel" over "steel").
            changes[option] = max(hits, key=lambda v: (v != str(current[option]), len(v)))
        elif any(name <= c and c & _KEEP_WORDS for c in clauses) and option in current:
            # "Red, same size": the option named as kept is as binding as one named with a new value.
            changes[option] = str(current[option])
    return changes


def indifferent_options(texts: list[str], variants: list[dict[str, Any]]) -> set[str]:
    """Options the customer said are all alike to them: a sentence with a word of indifference ("don't care",
    "doesn't matter") that names two or more of the option's values ("<value>, <value>, I don't care")."""
    free: set[str] = set()
    for sentence in (s for t in texts for s in sentences(t)):
        if not said_check("indifferent", sentence):
            continue
        words = _loose(sentence)
        for option in {o for v in variants for o in v["options"]}:
            values = {str(v["options"][option]) for v in variants if option in v["options"]}
            if sum(bool(_loose(value)) and _loose(value) <= words for value in values) >= 2:
                free.add(option)
    return free


def _variants(view: CustomerView, item: dict[str, Any]) -> list[dict[str, Any]]:
    product = view.product(item["product_id"]) or {"variants": {}}
    return list(product["variants"].values())


def variant_changes(view: CustomerView, item: dict[str, Any], wanted: str | None) -> dict[str, str]:
    """The option values a wording of the wanted variant names for ``item`` (``named_options`` over its product)."""
    return named_options(wanted, dict(item.get("options", {})), _variants(view, item))


def resolve_variant(view: CustomerView, item: dict[str, Any], wanted: str | None) -> Resolution:
    """The available variant of the same product with the options the customer asked for."""
    variants = _variants(view, item)
    current = dict(item.get("options", {}))
    changes = named_options(wanted, current, variants)
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
