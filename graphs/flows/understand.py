"""Reading one customer message into an ``Understanding``: the model under a JSON schema, plus code's own reads.

Code's reads win where code is reliable (emails, order ids, zip codes, a bare yes/no); the model supplies what
needs language understanding (tasks, names, item descriptions, reasons, payment words, addresses). Order ids the
model wrote that are not in the text are dropped: it may only copy them.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from pydantic import ValidationError

from graphs.flows.text import code_facts
from graphs.understanding import Understanding
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
    for value in [facts.get("email"), facts.get("zip"), *facts.get("order_ids", [])]:
        if value:
            rest = rest.replace(str(value), " ").replace(str(value).lstrip("#"), " ")
    words = [w.strip(".,!?:;'\"()").lower() for w in rest.split()]
    return all(not w or w in _FILLER for w in words)


def understanding_request(text: str, last_agent_reply: str | None) -> list[Any]:
    """The messages of one understanding request: fixed instructions first (prefix-cached), then the context."""
    messages: list[Any] = [SystemMessage(load_prompt("understand"))]
    if last_agent_reply:
        messages.append(AIMessage(last_agent_reply))
    messages.append(HumanMessage(text))
    return messages


def parse_understanding(content: Any) -> Understanding | None:
    """The model's JSON as an Understanding; None when it does not parse (never raises)."""
    raw = content if isinstance(content, str) else json.dumps(content)
    raw = raw.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    try:
        return Understanding.model_validate_json(raw)
    except ValidationError:
        try:  # drop only the fields that failed, keep the rest
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        clean = {}
        for key, value in data.items():
            try:
                Understanding.model_validate({key: value})
                clean[key] = value
            except ValidationError:
                continue
        return Understanding.model_validate(clean)


def merge_with_code(text: str, understood: Understanding | None, facts: dict[str, Any]) -> Understanding:
    """Combine the model's reading with code's: code's exact reads win; ids not in the text are dropped."""
    data = understood.model_dump() if understood else {}
    data["order_ids"] = [i for i in data.get("order_ids", []) if i.lstrip("#") in text] or []
    for key in ("email", "zip", "reason", "answer"):
        if facts.get(key):
            data[key] = facts[key]
    if facts.get("order_ids"):
        data["order_ids"] = facts["order_ids"]
    if data.get("email") and data["email"] not in text:
        data["email"] = None
    return Understanding.model_validate(data)


def understand(model: BaseChatModel, text: str, last_agent_reply: str | None,
               config: RunnableConfig | None = None) -> tuple[Understanding, bool]:
    """The understanding of one message, and whether the model was asked."""
    facts = code_facts(text)
    if code_is_enough(text, facts):
        return merge_with_code(text, None, facts), False
    bound = model.bind(response_format=Understanding.response_format())
    try:
        reply = bound.invoke(understanding_request(text, last_agent_reply), config)
        understood = parse_understanding(reply.content)
    except Exception as exc:  # noqa: BLE001 - a model failure is re-raised only if code read nothing either
        if not facts:
            raise
        log.warning("understanding failed, using code's reads: %r", exc)
        understood = None
    return merge_with_code(text, understood, facts), True
