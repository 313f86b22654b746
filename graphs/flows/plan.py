"""Folding one message's understanding into the queue of task frames (pure functions, no I/O).

A frame is one customer task with what the customer said for it so far. New tasks are queued in the order
asked; details go to the task that asked for them (the active frame when it is waiting for an answer), and a
short answer that the model could not place is taken as the answer to the question we asked.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from graphs.flows.plan_checks import echoed
from graphs.flows.resolvers import says_original
from graphs.flows.segments import share_of, states_task, task_parts
from graphs.flows.text import find_city_line, find_street, mentions_order, state_code
from graphs.intents import stated_reason
from graphs.understanding import Task, Understanding

#: Tasks that run as flows (the others are handled by the dialogue directly).
FLOW_TASKS = frozenset(Task) - {Task.HUMAN, Task.QUESTION}
_CHANGE_OF_MIND = re.compile(r"\b(instead|actually|rather|changed? my mind|never ?mind|forget)\b", re.I)
#: Slots whose value answers a question; a "no" that gives none of them declines (a "no" followed by no new value).
_ANSWERING = frozenset({"order_ids", "items", "all_items", "payment", "address"})
_KEEP = re.compile(r"\b(keep (it|them|the|this|that|my|those)|never ?mind|forget (it|about it))\b", re.I)
#: Tasks a reading confuses with each other: one is never queued as a new request beside the other.
_KIN = {"modify_items": ("exchange",), "exchange": ("modify_items",), "modify_address": ("change_default_address",),
        "change_default_address": ("modify_address",)}
#: The tasks whose words are also the words of an answer to a question about a slot.
_TOPIC_TASKS = {"payment": frozenset({"modify_payment"}),
                "address": frozenset({"modify_address", "change_default_address"})}
_SLOT_KEYS = ("order_ids", "order_hint", "items", "all_items", "reason", "payment", "address", "order_scope",
              "order_status", "except_orders", "order_total_below", "order_total_above", "except_items",
              "alternatives")


def said_of(u: Understanding) -> dict[str, Any]:
    """The slot values a message gave (only those present)."""
    data = u.model_dump(mode="json", exclude_none=True)
    said = {k: data[k] for k in _SLOT_KEYS if data.get(k) not in (None, [], False, "")}
    if said.get("address"):
        said["address"] = {k: v for k, v in said["address"].items() if v}
    return said


def _apply(frame_said: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(frame_said)
    for key, value in update.items():
        if key == "address":
            merged["address"] = {**merged.get("address", {}), **value}
        elif key == "order_ids":
            merged.pop("order_hint", None)
            merged[key] = value
        elif key == "order_hint":
            if update.get("order_ids"):
                continue  # the message's own ids, read exactly by code, beat a hint that repeats or describes them
            merged.pop("order_ids", None)
            merged[key] = value
        else:
            merged[key] = value
    return merged


def _answer_to_awaited(awaiting: str | None, said: dict[str, Any], update: dict[str, Any], text: str,
                       u: Understanding) -> dict[str, Any]:
    """Place the message as the answer to the question asked, when the understanding did not fill that slot."""
    update = dict(update)
    if awaiting not in (None, "order") and (awaiting == "identity" or not names_no_order(said)) \
            and update.get("order_hint") and not update.get("order_ids") and not mentions_order(text):
        # Asked for something else (who they are, a reason) about an order already described, a description that
        # does not speak of an order is no new one (a complaint about a missing order number read as a description
        # of an order "with the number").
        update.pop("order_hint")
    if awaiting == "order" and not (update.get("order_ids") or update.get("order_hint")):
        update["order_hint"] = " ".join([text] + [i["item"] for i in update.get("items", [])])
        update.pop("items", None)
    elif awaiting == "order" and update.get("items") and said.get("items"):
        update.pop("items")  # items named to pick the order, not to replace the ones to change
    elif awaiting == "items" and not update.get("items") and not update.get("all_items"):
        update["items"] = [{"item": text, "wanted": None}]
    elif awaiting == "items" and len(update.get("items", [])) == 1 \
            and (not update["items"][0].get("wanted") or echoed(update["items"][0])) \
            and len(wished := [i for i in said.get("items", []) if i.get("wanted")]) == 1:
        # "Which <product> do you mean?" answered: the answer picks the item, the variant wished before stays.
        update["items"] = [{**update["items"][0], "wanted": wished[0]["wanted"]}]
    elif awaiting and awaiting.startswith("variant:"):
        # The answer is bound to the item the question was about (by id: the order of the described items
        # need not be the order of the items asked about).
        item_id = awaiting.split(":", 1)[1]
        given = [i for i in update.pop("items", []) if i.get("wanted")]
        wanted = given[0]["wanted"] if given else text
        update["wanted_by_item"] = {**said.get("wanted_by_item", {}), item_id: wanted}
    elif awaiting == "reason" and not update.get("reason") and (reason := stated_reason(text)):
        update["reason"] = reason
    elif awaiting == "payment" and (not update.get("payment") or says_original(text)):
        # The reading keeps only the method's name ("PayPal"); "the same <method> I paid with" in the answer tells
        # two accounts of that kind apart.
        update["payment"] = text
    elif awaiting == "address" and update.get("address") is None and (u.zip or state_code(text)):
        # The rest of an address asked for ("<state>, <zip>"): code reads a zip and a state code exactly.
        update["address"] = find_city_line(text) or \
            {k: v for k, v in (("state", state_code(text)), ("zip", u.zip)) if v}
    elif awaiting == "address" and not (update.get("address") or {}).get("address1") and (street := find_street(text)):
        # The street lines of an address asked for in parts, which the reading took for something else.
        update["address"] = {**(update.get("address") or {}), **street}
        update.pop("items", None)
    return update


_BACK_REFERENCE = re.compile(r"\b(it|them|that|this|the same)\b", re.I)


def names_no_order(said: dict[str, Any]) -> bool:
    """The request names no order: no id, no description, no item, no scope over orders."""
    return not (said.get("order_ids") or said.get("order_hint") or said.get("items") or said.get("order_scope"))


def refers_back(said: dict[str, Any]) -> bool:
    """The customer names no order but points at one already talked about ("<change> it")."""
    if not names_no_order(said):
        return False
    return any(_BACK_REFERENCE.search(t) for t in said.get("texts", [])[-1:])


def _paired(update: dict[str, Any], count: int, k: int) -> dict[str, Any]:
    """Several tasks whose parts code could not find: ids and items are paired with the tasks in the order
    written ("cancel #W1 and tell me about #W2"); one order description belongs to the first task."""
    said = dict(update)
    order_ids, items = update.get("order_ids", []), update.get("items", [])
    if len(order_ids) == count:
        said["order_ids"] = [order_ids[k]]
    if len(items) == count:
        said["items"] = [items[k]]
    if k > 0 and "order_hint" in said and len(items) == count:
        said.pop("order_hint")
    return said


@dataclass(frozen=True)
class Folded:
    """The frame queue after a message."""

    frames: list[dict[str, Any]]
    changed_mind: bool = False
    """The active task was replaced by another ("return it instead")."""
    dropped: bool = False
    """The customer said no to our question: the active task is dropped, nothing is changed."""


def _answers(awaiting: str | None, update: dict[str, Any]) -> bool:
    """True when the message gives what our last question asked for."""
    wanted = {"address": ("address",), "order": ("order_ids", "order_hint", "items"), "items": ("items", "all_items"),
              "payment": ("payment",), "reason": ("reason",)}
    if awaiting and awaiting.startswith("variant:"):
        return bool(update.get("items"))
    return any(update.get(key) for key in wanted.get(str(awaiting), ()))


def fallback_of(u: Understanding) -> Task | None:
    """The task to do instead when the asked one is not possible ("if not, return it")."""
    if u.fallback:
        return u.fallback
    return next((a.task for a in u.alternatives if a.condition == "not_possible" and a.task), None)


#: Item changes a reading confuses: the order's status decides which one applies, never both to one request.
_ITEM_KIN = ("modify_items", "exchange")


def _one_of_kin(new: list[Task], fallback: Task | None, text: str) -> tuple[list[Task], Task | None]:
    """A change of items read as both kinds in one message, with no part of the text for each ("<swap> the
    <item>"), is one request: the first kind is tried, the other is what to do when the order's status refuses
    it."""
    kin = [t for t in new if t.value in _ITEM_KIN]
    if len(kin) < 2 or task_parts(text, [t.value for t in kin]):
        return new, fallback
    return [t for t in new if t != kin[1]], fallback or kin[1]


def fold(frames: list[dict[str, Any]], awaiting: str | None, u: Understanding, text: str) -> Folded:
    """The new frame queue after a message."""
    frames = copy.deepcopy(frames)
    fallback = fallback_of(u)
    asked = [t for t in dict.fromkeys(u.tasks) if t in FLOW_TASKS]
    update = said_of(u)
    active = frames[0] if frames else None
    also: list[Task] = []
    if active and awaiting in _TOPIC_TASKS and {t.value for t in asked} <= _TOPIC_TASKS[awaiting] \
            and active["task"] not in _TOPIC_TASKS[awaiting] and not _CHANGE_OF_MIND.search(text):
        # "<charge verb> <card>" when we asked how to pay: the words of a payment change answer the question about
        # the payment (the task that asked stays the request).
        asked = []
    if active and _answers(awaiting, update) and not _CHANGE_OF_MIND.search(text):
        # An address given after we asked for one answers our question; it is not a new request. A further request made with
        # its own verb in the same message ("PayPal, and please also cancel the lamp order") is queued after it.
        kin = {active["task"], *_KIN.get(active["task"], ())}
        also = [t for t in asked if t.value not in kin and states_task(t.value, text)]
        asked = []
    new = [t for t in asked if not active or t != active["task"]]
    new, fallback = _one_of_kin(new, fallback, text)
    declinable = awaiting in ("order", "items", "payment") or str(awaiting).startswith("variant:")
    declines = (u.answer == "no" and not update.keys() & _ANSWERING) or bool(_KEEP.search(text))
    if active and not new and declines and declinable:
        return Folded(frames[1:], dropped=True)  # a "no" with nothing else
    if active and not new:
        update = _answer_to_awaited(awaiting, active["said"], update, text, u)
        active["said"] = _apply(active["said"], update)
        for sibling in frames[1:]:
            if sibling["task"] == active["task"] and sibling["said"].get("texts", [])[:1] == \
                    active["said"]["texts"][:1]:
                # One request over several orders ("<task> every <status> order") became a frame per order: the
                # reason or payment given for the first is the request's, not asked again for each.
                sibling["said"] |= {k: v for k, v in update.items() if k in ("reason", "payment")}
        active["said"]["texts"] = [*active["said"].get("texts", []), text]
        if fallback and fallback in FLOW_TASKS:
            active["fallback"] = fallback
        return Folded(frames + [{"task": t.value, "said": {"texts": [text]}, "fallback": None} for t in also])
    if not new:
        return Folded(frames)
    changed_mind = bool(active and active["task"] not in asked
                        and (u.answer == "no" or _CHANGE_OF_MIND.search(text)))
    base: dict[str, Any] = {}
    if changed_mind:
        # "Actually, return it instead": the new task keeps the order and items already named.
        base = {k: v for k, v in frames.pop(0)["said"].items()
                if k in ("order_ids", "order_hint", "items", "all_items", "texts")}
    parts = task_parts(text, [t.value for t in new]) if len(new) > 1 else None
    created = []
    for k, task in enumerate(new):
        if parts:
            said = _apply(base, share_of(update, parts, k))
            said["texts"] = [parts[k]]
        else:
            said = _apply(base, update if len(new) == 1 else _paired(update, len(new), k))
            said["texts"] = [*base.get("texts", []), text] if len(new) == 1 else [text]
        created.append({"task": task.value, "said": said,
                        "fallback": fallback.value if fallback and k == 0 else None})
    # A new request instead of an answer to our question goes first; the question comes back after it.
    interrupts = bool(active and awaiting and awaiting not in ("confirm", "identity"))
    return Folded(created + frames if changed_mind or interrupts else frames + created, changed_mind=changed_mind)
