"""Reading one customer message into an ``Understanding``: the model under a JSON schema, plus code's own reads.

Code's reads win where code is reliable (emails, order ids, zip codes, a bare yes/no); the model supplies what
needs language understanding (tasks, names, item descriptions, reasons, payment words, addresses). Order ids the
model wrote that are not in the text are dropped: it may only copy them.
"""

from __future__ import annotations

import json
import logging
import re
from functools import cache
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from openai import LengthFinishReasonError
from pydantic import ValidationError

from graphs.flows.plan_checks import (
    alternative_items_dropped,
    check_selectors,
    echoed,
    every_item_of_each,
    exclusion_from_description,
    kept_from_description,
    kept_items_dropped,
    mostly_said,
    place_exclusions,
    rank_from_text,
)
from graphs.flows.reading_schema import check_pattern, reading_format
from graphs.flows.reading_schema import said as said_check
from graphs.flows.segments import unread_questions
from graphs.flows.text import (
    US_STATES,
    code_facts,
    find_name,
    find_street,
    plausible_tasks,
    sentences,
    tokens,
)
from graphs.selectors import Rank
from graphs.task_words import beyond_doubt, start
from graphs.understanding import MessageReading, Understanding, reading_fields
from prompts import load_prompt

log = logging.getLogger(__name__)

_FILLER = {"hi", "hello", "thanks", "thank", "you", "please", "ok", "okay", "it", "is", "its", "it's", "my", "email",
           "e-mail", "address", "the", "order", "number", "sure", "here", "yes", "no", "zip", "code", "of", "and", "a"}


def code_is_enough(text: str, facts: dict[str, Any]) -> bool:
    """True when code read everything the message says (e.g. only an email, an order id, or a yes), so the
    model call can be skipped."""
    if not facts:
        return False
    rest = text
    for value in [facts.get("email"), facts.get("zip"), *facts.get("order_ids", []), *facts.get("address", {}).values()]:
        if value:
            rest = rest.replace(str(value), " ").replace(str(value).lstrip("#"), " ")
    words = [w.strip(".,!?:;'\"()").lower() for w in rest.split()]
    return all(not w or w in _FILLER for w in words)


@cache
def reading_prompt() -> str:
    """The fixed instructions of every understanding request: the prompt file with the schema's field list."""
    return load_prompt("understand").replace("{fields}", reading_fields())


def understanding_request(text: str, last_agent_reply: str | None, context: str | None = None) -> list[Any]:
    """The messages of one understanding request: fixed instructions first (prefix-cached), then the context
    (what the conversation is about, our last reply), then the message."""
    messages: list[Any] = [SystemMessage(reading_prompt())]
    if context:
        messages.append(SystemMessage(context))
    if last_agent_reply and (asked := question_asked(last_agent_reply)):
        messages.append(AIMessage(asked))
    messages.append(HumanMessage(text))
    return messages


_READ_BACK_WORDS = 30


def question_asked(reply: str) -> str:
    """The part of our last reply a customer's answer refers to: its last question (else its last sentence), at
    most 30 words. The rest (an order's items, a numbered list of choices, which code reads exactly) costs prompt
    tokens that are not prefix-cached, on every turn, and tells the reading nothing it needs."""
    said = sentences(reply)
    if not said:
        return ""
    asked = next((s for s in reversed(said) if s.endswith("?")), said[-1])
    return " ".join(asked.split()[:_READ_BACK_WORDS])


def parse_reading(content: Any) -> dict[str, Any]:
    """The model's JSON reading as a dict of valid fields; fields that do not validate are dropped (never raises)."""
    raw = content if isinstance(content, str) else json.dumps(content)
    raw = raw.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    if data.get("fallback") and not data.get("alternatives"):
        # The older way to say "if not, then X" (scenario annotations): one not_possible alternative.
        data["alternatives"] = [{"condition": "not_possible", "task": data.pop("fallback")}]
    clean = {}
    for key, value in data.items():
        try:
            MessageReading.model_validate({key: value})
        except ValidationError:
            continue
        clean[key] = value
    return clean


def merge_with_code(text: str, reading: dict[str, Any], facts: dict[str, Any]) -> Understanding:
    """Combine the model's reading with code's exact reads into one Understanding.

    Names are kept only when they occur in the text (a small model otherwise fills them from the examples it
    has seen); an item description is kept only when one of its words occurs in the text.
    """
    data = {k: v for k, v in reading.items() if v not in (None, "", [])}
    words = text.lower()
    for key in ("first_name", "last_name"):
        # A name the customer wrote as a word, not part of a user id or an email ("<first>_<last>_<digits>",
        # "<first>.<last><digits>@<domain>").
        if data.get(key) and not any(re.search(rf"(?<![\w.@-]){re.escape(w)}(?![\w@]|\.\w)", words)
                                     for w in str(data[key]).lower().split()):
            data.pop(key)
    if data.get("order_hint") and not mostly_said(data["order_hint"], text):
        data.pop("order_hint")  # "my last order" read into a message that says nothing of the kind
    if data.get("payment"):
        # Only the payment words the customer wrote: a small model completes "visa" to the prompt's "visa ending 1234".
        said = tokens(text)
        data["payment"] = " ".join(w for w in str(data["payment"]).split() if tokens(w) <= said) or None
    if data.get("items"):
        # "... difference on my <card brand> ending <digits>" is a payment method, not an item of the order.
        paying = [i for i in data["items"] if _PAYMENT_WORDS.search(str(i.get("item", "")))]
        if paying and not data.get("payment") and mostly_said(str(paying[0]["item"]), text):
            data["payment"] = paying[0]["item"]
        data["items"] = [_as_said(i, text) for i in data["items"] if i not in paying]
        naming = [i for i in data["items"] if _ORDER_NAMED.search(str(i.get("item") or "")) and not i.get("wanted")]
        if naming:
            # "<item A> ... my <item B> order": B names the order, it is not an item to act on
            # (and it describes the order better than the model's own guess, which echoed A).
            data["items"] = [i for i in data["items"] if i not in naming]
            data["order_hint"] = naming[0]["item"]
        data["items"] = [i for i in data["items"] if i.get("item") or i.get("wanted") or i.get("rank")]
        if len(data["items"]) > 1:
            # An "item" wanted as itself ("<option>" -> "<option>") beside a real change is an option of that
            # change the model listed as one more item ("<colour> one, same <size>, <type> or <type>").
            data["items"] = [i for i in data["items"] if not echoed(i)] or data["items"]
    check_selectors(data, text)
    exclusion_from_description(data, text)
    kept_from_description(data, text)
    kept_items_dropped(data, text)
    alternative_items_dropped(data)
    every_item_of_each(data, text)
    place_exclusions(data)
    rank_from_text(data, text)
    if isinstance(data.get("address"), dict):
        data["address"] = {k: v for k, v in data["address"].items() if v and str(v).lower() in words} or None
        street = (data["address"] or {}).get("address1")
        if street and not _a_street(str(street)):
            data["address"] = None  # a zip or a colour read as the street: the rest of it is no better
        elif data["address"] and _fields_shifted(data["address"]):
            data["address"] = None  # "<ST>, <zip>" read as city <ST> and state <zip>: code reads those parts
    model_address = data.get("address") or {}
    data |= {k: v for k, v in facts.items() if k in Understanding.model_fields}
    if facts.get("address") and not facts["address"].get("address2") and model_address.get("address2"):
        # Code read the street, city, state and zip exactly; the flat or suite line the model read stays.
        data["address"] = {**facts["address"], "address2": model_address["address2"]}
    if data.get("address"):
        # The new address copied into the order's description or into an item: it describes neither.
        address = " ".join(map(str, data["address"].values()))
        if data.get("order_hint") and mostly_said(str(data["order_hint"]), address):
            data.pop("order_hint")
        data["items"] = [i for i in data.get("items", []) if not mostly_said(str(i.get("item") or ""), address)]
    if not (data.get("first_name") and data.get("last_name")) and (name := find_name(text)):
        data["first_name"], data["last_name"] = name  # the model missed an introduction code can read
    who = _identity_words(data)
    if data.get("order_hint") and not tokens(data["order_hint"]) - who:
        data.pop("order_hint")  # a description made of the customer's name, email or zip describes the customer
    if data.get("items"):
        data["items"] = [i for i in data["items"] if tokens(i.get("item")) - who or i.get("wanted") or i.get("rank")]
    tasks = plausible_tasks(text, [str(t) for t in data.get("tasks", [])]) or beyond_doubt(text)
    if set(tasks) & set(_ADDRESS_TASKS) and (len(tasks) > 1 or data.get("payment")) and not facts.get("address") \
            and not find_street(text) and not said_check("address_named", text):
        # "I'm moving into <place>, so <other request>", "the refund should go to <method>": the move is why, the
        # "go to" is where money goes; an address change needs an address, its word or a shipping verb.
        tasks = [t for t in tasks if t not in _ADDRESS_TASKS]
    if not tasks and data.get("items") and any(i.get("rank") or i.get("wanted") for i in data["items"]):
        # A variant the customer said (checked above) is an item change even without a change verb.
        tasks = [t for t in map(str, data.get("tasks", [])) if t in ("modify_items", "exchange")][:1]
    catalogue_question = tasks == ["question"] and not any(start(t, text) for t in ("modify_items", "exchange"))
    if any(i.get("rank") for i in data.get("items", [])) and not {"modify_items", "exchange"} & set(tasks) \
            and not catalogue_question:  # "which is the <rank> <product> you have?" asks, it changes nothing
        # "The <rank> <attribute> one" (a ranking is checked against the text above) asks for
        # another variant, not about the order: which change is the model's call, else the status said.
        change = [t for t in map(str, data.get("tasks", [])) if t in ("modify_items", "exchange")][:1] or \
            ["exchange" if said_check("order_status_delivered", text) and not
             said_check("order_status_pending", text) else "modify_items"]
        tasks = [t for t in tasks if t not in ("order_info", "question")] + change
    instead = data.get("fallback") or next((a.get("task") for a in data.get("alternatives", [])
                                            if a.get("condition") == "not_possible" and a.get("task")), None)
    if instead and str(instead) in tasks[1:]:
        tasks.remove(str(instead))  # "<task A>; if not possible, <task B>": one task, one fallback
    if tasks and not {"modify_items", "exchange"} & set(tasks) and data.get("items"):
        # A wanted variant belongs to an item change; beside another request (an address or a payment "wanted"
        # for the order) it is nothing. An answer (no task) keeps it: it may answer which variant we asked.
        data["items"] = [i for i in ({**i, "wanted": None} for i in data["items"]) if i.get("item") or i.get("rank")]
    if "change_default_address" in tasks and (data.get("order_scope") or data.get("order_status")):
        # A new address for "every order that <status>" is the orders' address, not the account's.
        tasks = list(dict.fromkeys("modify_address" if t == "change_default_address" else t for t in tasks))
    # A status said to select orders ("<task> everything that <status>?") is not a question of its own.
    data["tasks"] = tasks if data.get("order_scope") else unread_questions(text, tasks)
    return Understanding.model_validate(data)


def _identity_words(data: dict[str, Any]) -> set[str]:
    """The words that say who the customer is in a reading: names, email, zip, and the words that announce them."""
    said = " ".join(str(data.get(k) or "") for k in ("first_name", "last_name", "email", "zip"))
    return tokens(re.sub(r"[@._]", " ", said)) | tokens("account zip code email name")


def _a_street(line: str) -> bool:
    """A street line has a house number and a name."""
    return bool(re.search(r"\d", line) and re.search(r"[A-Za-z]{2}", line))


#: An item description that names an order ("<item> order", "<item> delivery"): it describes the order.
_ORDER_NAMED = re.compile(r"\b(order|delivery|shipment|package|purchase)\b", re.I)

_PAYMENT_WORDS = re.compile(r"\b(visa|mastercard|master card|amex|american express|discover|paypal|gift ?card|"
                            r"credit card|debit card|card ending|ending (in )?\d{4})\b", re.I)


#: Tasks that change an address.
_ADDRESS_TASKS = ("modify_address", "change_default_address")


def _fields_shifted(address: dict[str, Any]) -> bool:
    """The address parts the reading gave are in the wrong fields: a state code as the city, a number as the state."""
    city, state = str(address.get("city") or ""), str(address.get("state") or "")
    return city.upper() in US_STATES or any(c.isdigit() for c in state + city)


def _as_said(item: dict[str, Any], text: str) -> dict[str, Any]:
    """An item reading kept only as far as the customer said it: a description mostly in their words, a wanted
    variant entirely in their words (else the flow reads the wanted variant from the text itself)."""
    said = tokens(text)
    wanted = tokens(item.get("wanted"))
    rank = item.get("rank")
    if not rank:
        # "the <rank> <attribute> one" written into the wanted variant (or the item) is a ranking all the same.
        written = f"{item.get('wanted') or ''} {item.get('item') or ''}"
        ranks = [r.value for r in Rank if said_check(f"rank_{r.value}", written)]
        rank = ranks[0] if len(ranks) == 1 else None
        if rank and item.get("wanted"):
            # The ranking word is not an attribute of the variant: "<rank> <attribute>" -> <attribute>, <rank>.
            rest = " ".join(check_pattern(f"rank_{rank}").sub(" ", str(item["wanted"])).split())
            item = {**item, "wanted": rest or None}
            wanted = tokens(rest)
    return {"item": item.get("item") if mostly_said(str(item.get("item") or ""), text) else "",
            "wanted": item.get("wanted") if wanted and wanted <= said else None, "rank": rank}


async def understand(model: BaseChatModel, text: str, last_agent_reply: str | None,
               config: RunnableConfig | None = None, context: str | None = None) -> tuple[Understanding, bool]:
    """The understanding of one message, and whether the model was asked."""
    facts = code_facts(text)
    if code_is_enough(text, facts):
        return merge_with_code(text, {}, facts), False
    schema = reading_format(text)
    try:
        # The format as a call argument rather than a binding: a binding merges its own config into the call's
        # (copying the turn's callback manager), about a tenth of the reading request's CPU.
        reply = await model.ainvoke(understanding_request(text, last_agent_reply, context), config,
                                    response_format=schema)
        reading = parse_reading(reply.content)
    except LengthFinishReasonError as exc:
        # The model answered but ran out of tokens mid-JSON: an unusable reading, not a failed turn.
        log.warning("understanding cut at the token limit, using code's reads: %r", exc)
        reading = {}
    except Exception as exc:  # noqa: BLE001 - a model failure is re-raised only if code read nothing either
        if not facts:
            raise
        log.warning("understanding failed, using code's reads: %r", exc)
        reading = {}
    return merge_with_code(text, reading, facts), True
