"""The variant step of item changes (modify items, exchange): for each item to change, the variant the customer
wants, by their words, a ranking ("the cheapest one in stock") or an alternative ("if that's gone, the black one").
"""

from __future__ import annotations

from typing import Any

from graphs.flows.customer import CustomerView
from graphs.flows.items import (
    also_named,
    item_label,
    item_score,
    resolve_variant,
    variant_changes,
    wanted_texts,
)
from graphs.flows.reading_schema import selector_checks
from graphs.flows.render import say
from graphs.flows.resolution import Resolution
from graphs.flows.selection import ranked_variant
from graphs.flows.step import FlowStep, listing
from graphs.flows.text import sentences


def _variant_for(view: CustomerView, order: dict[str, Any], item: dict[str, Any],
                 said: dict[str, Any]) -> Resolution:
    """The wanted variant of one item: the first of the customer's wordings that resolves, else what the best
    wording said (unavailable, the same variant), else a question."""
    ranked = _ranking_for(order, item, said)
    if ranked is not None:
        return ranked_variant(view, item, ranked.get("wanted"), ranked["rank"], said.get("texts", []))
    wordings = wanted_texts(order, item["item_id"], said)
    changes = [variant_changes(view, item, wanted) for wanted in wordings]
    results = [resolve_variant(view, item, wanted) for wanted in wordings]
    found = next((r for r in results if r.status == "ok"), None)
    wish = changes[results.index(found)] if found else {}
    if found:
        # The customer's own wording (a conditional sentence aside) that names what the reading's does and more
        # is binding: "<colour>, still a size <n>" read as just "<colour>" must not become another size.
        for wording in wordings[results.index(found) + 1:]:
            plain = _unconditional(wording)
            if plain and _names_more(fuller := variant_changes(view, item, plain), wish):
                found, wish = resolve_variant(view, item, plain), fuller
                break
    if found is None:
        found = next((r for r in results if r.status != "missing"), None) or resolve_variant(view, item, None)
        wish = next((c for c, r in zip(changes, results, strict=True) if r is found), {})
    if found.status == "none":
        # "If that's gone, the black one": the alternatives, in the order said, when the first wish cannot be met.
        # An alternative that names only part of the wish that failed is that wish said loosely: the customer's
        # conditional sentence says what they want instead.
        for alternative in said.get("alternatives", []):
            if alternative.get("condition") == "not_possible" and alternative.get("wanted"):
                instead = [str(alternative["wanted"])]
                if wish and _names_more(wish, variant_changes(view, item, instead[0])):
                    instead = _conditional(wordings)
                for wording in instead:
                    other = resolve_variant(view, item, wording)
                    if other.status == "ok":
                        return other
    return found


def _unconditional(wording: str) -> str:
    """The wording without its conditional sentences ("if <that> is gone, <the other>")."""
    condition = selector_checks()["alternatives"]
    return " ".join(s for s in sentences(wording) if not condition.search(s))


def _conditional(wordings: list[str]) -> list[str]:
    """The conditional sentences of the wordings, each once."""
    condition = selector_checks()["alternatives"]
    return list(dict.fromkeys(s for w in wordings for s in sentences(w) if condition.search(s)))


def _names_more(fuller: dict[str, str], other: dict[str, str]) -> bool:
    """``fuller`` names every option value ``other`` names, and more."""
    return other.items() < fuller.items()


def _task_instead(said: dict[str, Any]) -> bool:
    """The request names another task for when it is not possible."""
    return any(a.get("condition") == "not_possible" and a.get("task") for a in said.get("alternatives", []))


def _ranking_for(order: dict[str, Any], item: dict[str, Any], said: dict[str, Any]) -> dict[str, Any] | None:
    """The described item with a ranking ("the cheapest one") that means this item, if any."""
    ranked = [s for s in said.get("items", []) if s.get("rank")]
    if not ranked:
        return None
    if len(ranked) == 1 and not ranked[0].get("item"):
        return ranked[0]
    for s in ranked:
        scores = {i["item_id"]: item_score(s.get("item") or "", i) for i in order.get("items", [])}
        if scores.get(item["item_id"]) and scores[item["item_id"]] == max(scores.values()):
            return s
        if len(ranked) == 1 and len(said.get("items", [])) == 1 and not any(scores.values()):
            return s  # a description that fits no item of the order still means the one item changed
    return None  # a ranking said of another item (one the customer also named) is not this item's


def variants_step(view: CustomerView, order: dict[str, Any], item_ids: list[str],
                   said: dict[str, Any]) -> FlowStep | tuple[list[str], list[str]]:
    by_id = {item["item_id"]: item for item in order["items"]}
    sweeping = _sweeping_wish(order, said)
    new_ids = []
    kept_ids = []
    for item_id in item_ids:
        item = by_id[item_id]
        resolution = resolve_variant(view, item, sweeping) if sweeping else _variant_for(view, order, item, said)
        if sweeping and resolution.status in ("none", "missing"):
            continue  # "everything in blue": an item with no blue version (or blue already) stays as it is
        kept_ids.append(item_id)
        if resolution.status != "ok":
            if resolution.status == "none" and _task_instead(said):
                # "<variant>; if not possible, <other task>": the variant cannot be had, so the request is
                # refused as asked and the stated other task takes its place (no question first).
                return FlowStep("refuse", say(resolution.detail, item=item_label(item), value=resolution.value or "",
                                              candidates=listing(resolution.candidates)), slot=f"variant:{item_id}")
            if resolution.status == "missing" and not resolution.candidates:
                return FlowStep("refuse", say("no_variant_available", item=item["name"]), slot=f"variant:{item_id}")
            key = {"missing": "ask_variant", "ambiguous": "variant_ambiguous"}.get(resolution.status,
                                                                                  resolution.detail)
            return FlowStep("ask", say(key, item=item_label(item), value=resolution.value or "",
                                       candidates=listing(resolution.candidates)), slot=f"variant:{item_id}",
                            choices=tuple(resolution.candidates))
        new_ids.append(resolution.value)
    if sweeping:
        if not kept_ids:
            return FlowStep("refuse", say("no_variant_available", item=sweeping), slot="items")
        return kept_ids, new_ids
    # Items the reading left out but the customer named with what they want ("... and the <item> in the
    # <variant> version") join the change; a named item with no wanted variant is not guessed into it.
    item_ids = list(item_ids)
    for extra in also_named(order, said, item_ids):
        resolution = _variant_for(view, order, by_id[extra], said)
        if resolution.status == "ok" and extra not in item_ids:
            item_ids.append(extra)
            new_ids.append(resolution.value)
    return item_ids, new_ids


def _sweeping_wish(order: dict[str, Any], said: dict[str, Any]) -> str | None:
    """One wish for every item meant ("switch everything to <variant>, except the <item>"): a wanted
    variant said of all the items rather than of one item of the order."""
    if not (said.get("all_items") or said.get("except_items")):
        return None
    for s in said.get("items", []):
        if s.get("wanted") and not any(item_score(s.get("item") or "", i) for i in order.get("items", [])):
            return str(s["wanted"])
    return None
