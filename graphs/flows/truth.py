"""Replies stay true: a model-worded answer may not state a number, an id or an order status that is not in
the facts it was given (the prompt and the conversation). Code checks; an answer that fails is not sent."""

from __future__ import annotations

import re

from tools.order_ids import order_ids_in

_NUMBER = re.compile(r"(?<![\w.])\$?\d[\d,]*(?:\.\d+)?")
_STATUS = re.compile(r"\b(pending|processed|delivered|cancelled|canceled|shipped|exchange requested|"
                     r"return requested)\b", re.I)


def _norm_number(text: str) -> str:
    return text.replace("$", "").replace(",", "").rstrip(".")


def unsupported_claims(answer: str, facts: str) -> list[str]:
    """The numbers, order ids and statuses in ``answer`` that ``facts`` does not contain."""
    fact_numbers = {_norm_number(n) for n in _NUMBER.findall(facts)}
    claims = [n for n in _NUMBER.findall(answer) if _norm_number(n) not in fact_numbers]
    claims += [o for o in order_ids_in(answer) if o.lstrip("#") not in facts]
    lowered = facts.lower()
    claims += [s for s in _STATUS.findall(answer) if s.lower() not in lowered]
    return claims
