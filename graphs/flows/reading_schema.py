"""The JSON schema that constrains one message's reading, narrowed to what that message's text can say.

The prompt describes the whole plan and stays fixed (its tokens are prefix-cached); the schema that constrains
decoding admits, for this message, only the tasks whose cue words occur in it and the selectors whose check words
occur in it (``task_cues.json``, ``reading_checks.json``: the same catalogue that checks a reading afterwards, in
``understand.merge_with_code``). Why: a small model fills the slots it is offered. Offered a ranking, a scope and
alternatives on every message, the 1.5B model filled them on messages that said none of it ("rank":
"most_expensive", "order_status": "pending"), listed a task for every example it had seen, and stopped naming the
items the message did name. A slot the text cannot support is now not there to fill, and the output is shorter.

The other half: a slot the text has a word for is *decided*, not skipped (``required``, with null or "one" among
its values). Left optional, the 1.5B model skipped the scope of "<task> every <status> order", the
exclusions of "everything except the <item>" and the name beside a zip code, and the dialogue then asked for
what the customer had said. Required properties are decoded first (``tasks`` always leads), so a decision the
text calls for is made before the model can end the object.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from graphs.flows.text import find_address, find_email, find_zip
from graphs.selectors import Condition, OrderScope, Rank
from graphs.task_words import REASON_CHECKS, cue_said
from graphs.understanding import MessageReading, Task
from prompts import load_data

#: Statuses a request over orders can name (the ``order_status_*`` checks).
_STATUSES = ("pending", "processed", "delivered", "cancelled")
#: A condition on an amount needs the amount written.
_AMOUNT_CONDITIONS = tuple(c.value for c in Condition if c is not Condition.NOT_POSSIBLE)
#: A zip code, or a house number before a street's name, as written (not the digits of an email, an id or a size).
_ADDRESS_NUMBER = re.compile(r"(?<![\w#@.$])(\d{5}(?![\w@.])|\d{1,6}\s+[A-Z])")
#: An amount of money as written ("$200", "200 dollars"): a digit in an email or an order id is none.
_AMOUNT = re.compile(r"\$\s?\d|\b\d+(\.\d+)?\s?(dollars|bucks|usd)\b", re.I)


@cache
def selector_checks() -> dict[str, re.Pattern[str]]:
    """reading_checks.json compiled (case-insensitive), by check name."""
    return {k: re.compile(v, re.I) for k, v in load_data("reading_checks").items() if not k.startswith("_")}


def check_pattern(check: str) -> re.Pattern[str]:
    """The compiled check ``check`` of reading_checks.json (one that never matches when there is none)."""
    return selector_checks().get(check, re.compile("$^"))


def said(check: str, text: str) -> bool:
    """The text has a word that says ``check`` (a key of reading_checks.json); an unknown check says nothing."""
    pattern = selector_checks().get(check)
    return bool(pattern and pattern.search(text))


def allowed_tasks(text: str) -> list[str]:
    """Tasks the text gives a cue for; ``question`` always (any other question needs no cue word)."""
    allowed = [t.value for t in Task if t is Task.QUESTION or cue_said(t.value, text)]
    if any(said(f"rank_{r.value}", text) for r in Rank):
        # "<rank> one, please": a ranking of variants asks for an item change even
        # without a change verb (which of the two, by the order's status, is the model's call).
        allowed = [t.value for t in Task if t.value in allowed or t in (Task.MODIFY_ITEMS, Task.EXCHANGE)]
    if {"modify_address", "change_default_address"} & set(allowed):
        # One address cue serves both: which address is meant (an order's or the profile's) is the model's call.
        allowed = [t.value for t in Task if t.value in allowed or t.value in ("modify_address",
                                                                              "change_default_address")]
    return allowed


@cache
def _full_schema_json() -> str:
    return json.dumps(MessageReading.model_json_schema())


def reading_schema(text: str) -> dict[str, Any]:
    """The reading's JSON schema for this text: every field of ``MessageReading``, less what the text cannot say."""
    # A fresh copy to narrow, parsed from the cached text: ``copy.deepcopy`` of the cached dict did the same at
    # several times the cost, on every message read.
    schema = json.loads(_full_schema_json())
    defs, props = schema["$defs"], schema["properties"]
    defs["Task"]["enum"] = allowed_tasks(text)
    # No more tasks than the text offers: the 1.5B model repeated a lone task to the list's length.
    props["tasks"]["maxItems"] = min(props["tasks"].get("maxItems", 3), len(defs["Task"]["enum"]))

    if not {"exchange", "modify_items"} & set(defs["Task"]["enum"]):
        defs["ItemSaid"]["properties"].pop("wanted")  # a variant wanted instead needs a change of items
    ranks = [r.value for r in Rank if said(f"rank_{r.value}", text)]
    if ranks:
        defs["Rank"]["enum"] = ranks
    else:
        defs["ItemSaid"]["properties"].pop("rank")
    # What nearly every request names (its items, its order) is always decided: decoding writes required
    # properties first, and a model that had just decided a scope or a reason ended the object without them. Left
    # optional, the order's description was skipped and the items that only describe the order were listed as
    # items to change (tried: 4 more failures in 60 scenarios, for 30 % fewer tokens).
    decided = ["tasks", "items", "order_hint"]
    scopes = [s.value for s in OrderScope if s is not OrderScope.ONE and said(f"order_scope_{s.value}", text)]
    if scopes:
        defs["OrderScope"]["enum"] = [OrderScope.ONE.value, *scopes]  # "all" said of items is still one order
        if OrderScope.ALL.value in scopes:
            decided.append("order_scope")  # "last" is said of weeks and times too: most_recent stays optional
    else:
        props.pop("order_scope")
    statuses = [s for s in _STATUSES if said(f"order_status_{s}", text)]
    if statuses:
        props["order_status"]["anyOf"][0] = {"enum": statuses, "type": "string"}
        if "order_scope" in decided:
            decided.append("order_status")  # it qualifies the scope ("every <status> order"); of one order, optional
    else:
        props.pop("order_status")
    if said("all_items", text):
        if "order_scope" not in decided:
            decided.append("all_items")  # "every order" is a scope, not every item
    else:
        props.pop("all_items")
    if said("except_items", text):
        decided.append("except_items")
    else:
        props.pop("except_items")
    if not (said("except_items", text) and "all" in scopes):
        props.pop("except_orders")
    if not ("all" in scopes and _AMOUNT.search(text)):
        props.pop("order_total_below")
        props.pop("order_total_above")
    if said("alternatives", text):
        _narrow_alternatives(defs, text, decided, defs["Task"]["enum"])
    else:
        props.pop("alternatives")
    reasons = [reason for reason, check in REASON_CHECKS.items() if said(check, text)]
    if reasons:
        props["reason"]["anyOf"][0] = {"enum": reasons, "type": "string"}
        decided.append("reason")
    else:
        props.pop("reason")  # a cancel request without a reason: it is asked, never guessed
    if not _ADDRESS_NUMBER.search(text):
        props.pop("address")  # an address has a house number or a zip (the digits of an email are neither)
    if find_zip(text) and not find_address(text):
        decided += ["first_name", "last_name"]  # a zip code on its own comes with the name it identifies
    elif find_email(text):
        # The email identifies the customer: a name beside it is read by code when given as an introduction, and
        # the model, offered the fields, wrote a name for every email (tokens spent on every opening).
        props.pop("first_name")
        props.pop("last_name")
    schema["required"] = [name for name in props if name in decided]
    return schema


def _narrow_alternatives(defs: dict[str, Any], text: str, decided: list[str], allowed: list[str]) -> None:
    """Offer an alternative only what the text can say of one (in place): a condition on an amount needs an amount,
    a condition on the refund excludes one on a price unless a price is said too (and is then decided: the model
    otherwise kept the refund's payment rule as a price rule with no payment), and the task done instead is one the
    text cues after its last condition word ("if <fact>, <task A>; if not, <task B>": B is cued there, A is the
    request itself), else after its first one."""
    conditions = [c.value for c in Condition if c.value not in _AMOUNT_CONDITIONS or _AMOUNT.search(text)]
    if said("condition_refund", text) and not said("condition_price", text):
        conditions = [c for c in conditions if not c.startswith("price_")]
        decided.append("alternatives")
    defs["Condition"]["enum"] = conditions
    # "instead" ends an alternative rather than starting one ("if not, <task B> instead").
    starts = [m.start() for m in check_pattern("alternatives").finditer(text) if m.group().lower() != "instead"]
    cued = [t for t in allowed if t != Task.QUESTION.value]
    instead = next((found for start in starts[-1:] + starts[:1]
                    if (found := [t for t in cued if cue_said(t, text[start:])])), [])
    if len(starts) > 1 and "alternatives" not in decided:
        decided.append("alternatives")  # "if <fact>, <A>; if not, <B>": two conditions, so something else to do
    properties = defs["Alternative"]["properties"]
    if instead:
        properties["task"]["anyOf"][0] = {"enum": instead, "type": "string"}
    else:
        properties.pop("task")


def reading_format(text: str) -> dict[str, Any]:
    """The OpenAI ``response_format`` for this text's reading (llama.cpp and vLLM honour a per-request schema)."""
    return {"type": "json_schema",
            "json_schema": {"name": "message_reading", "schema": reading_schema(text), "strict": True}}
