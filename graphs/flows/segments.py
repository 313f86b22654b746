"""One message, several tasks: the part of the message that belongs to each task, and the details said in it.

"<task 1> <order A>. And <order B> should go to <address> ..." asks for two tasks about two
orders; each task gets its own part of the text, and each detail the
model read (an order description, items, an address, payment words) goes to the task whose part contains it.
Code finds the parts by each task's verb, cutting at the last sentence break or "and / also" before it.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

from graphs.flows.reading_schema import said
from graphs.flows.text import sentences, tokens
from graphs.task_words import cue_said, start

_BREAK = re.compile(r"[.?!;]\s+|\s(?:and|also|plus|then)\s", re.I)


def states_task(task: str, text: str) -> bool:
    """The text has the verb that starts a request for ``task`` ("cancel", "return", "exchange", ...)."""
    return start(task, text) is not None


def task_parts(text: str, tasks: list[str]) -> list[str] | None:
    """The text split into one part per task (tasks in the order written), or None when code cannot tell where
    each request starts (a verb missing, or two tasks starting at the same word)."""
    starts = []
    for task in tasks:
        match = start(task, text)
        if not match:
            return None
        starts.append(match.start())
    if len(set(starts)) < len(starts) or starts != sorted(starts):
        return None
    cuts = [0]
    for previous, begins in pairwise(starts):
        breaks = [m.end() for m in _BREAK.finditer(text, previous, begins)]
        cuts.append(breaks[-1] if breaks else begins)
    cuts.append(len(text))
    return [text[a:b] for a, b in pairwise(cuts)]


_STATUS_QUESTION = re.compile(r"\b(delivered|shipped|arrived?|tracking|status|where is|where's)\b", re.I)


def unread_questions(text: str, tasks: list[str]) -> list[str]:
    """``tasks`` plus an order-status question asked in a sentence of its own that the reading left out ("...
    <task> <order>? And <status question about another item>?")."""
    if "order_info" in tasks or not tasks:
        return tasks
    for sentence in sentences(text):
        if not sentence.rstrip().endswith("?") or not _STATUS_QUESTION.search(sentence) or "refund" in sentence.lower():
            continue
        if any(start(t, sentence) or cue_said(t, sentence) for t in tasks):
            continue  # the question belongs to a task already read ("<task> it if it is still <status>?")
        return [*tasks, "order_info"]
    return tasks


def _home(value: str, parts: list[str]) -> int | None:
    """The part that says a value: the one sharing most of its words (None when no part does)."""
    wanted = tokens(value)
    overlaps = [len(wanted & tokens(part)) for part in parts]
    best = max(overlaps, default=0)
    return overlaps.index(best) if best else None


def share_of(update: dict[str, Any], parts: list[str], k: int) -> dict[str, Any]:
    """The details of a message that belong to task ``k``: those said in its part."""
    share: dict[str, Any] = {}
    for key, value in update.items():
        if key == "order_ids":
            mine = [i for i in value if i in parts[k] or i.lstrip("#") in parts[k]]
            if mine:
                share[key] = mine
        elif key == "items":
            mine = [i for i in value if _home(f"{i.get('item', '')} {i.get('wanted') or ''}", parts) == k]
            if mine:
                share[key] = mine
        elif key == "address":
            anchor = str(value.get("address1") or value.get("zip") or "")
            if anchor and anchor.lower() in parts[k].lower():
                share[key] = value
        elif key in ("order_hint", "payment"):
            if _home(str(value), parts) == k:
                share[key] = value
        elif key == "all_items":
            if re.search(r"\b(everything|all|whole|entire)\b", parts[k], re.I):
                share[key] = value
        elif (check := _SELECTOR_CHECK.get(key)) and any(said(check(value), part) for part in parts):
            # "<task> the <item> order. And was the <other item> <status>?": a status, scope or exclusion belongs
            # to the task whose part says it, not to the other tasks of the message.
            if said(check(value), parts[k]):
                share[key] = value
        else:
            share[key] = value  # a reason: only the cancellation reads it
    return share


#: The reading_checks.json check that says a selector's value, by slot.
_SELECTOR_CHECK = {"order_status": lambda v: f"order_status_{v}", "order_scope": lambda v: f"order_scope_{v}",
                   "except_items": lambda v: "except_items", "except_orders": lambda v: "except_items",
                   "alternatives": lambda v: "alternatives"}
