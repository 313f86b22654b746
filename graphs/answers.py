"""A customer's yes or no, read by code: the one catalogue of answer words is data (prompts/answers.json).

Code reads a bare answer exactly (the model is not asked what "yup" means); anything longer or unclear is no
answer (None) and goes to the model's reading as a new request.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

from prompts import load_data

Decision = Literal["yes", "no"]


def _alternatives(phrases: list[str]) -> str:
    # Longest first, so "no" does not win over "not now" and "yes" over "yes please".
    return "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))


@cache
def _patterns() -> dict[str, re.Pattern[str]]:
    words = load_data("answers")
    fillers = rf"(?:(?:{_alternatives(words['fillers'])})\b[\s,.!]*)*"
    return {
        "yes": re.compile(rf"^{fillers}(?:{_alternatives(words['yes'])})\b", re.I),
        "no": re.compile(rf"^{fillers}(?:{_alternatives(words['no'])})\b"
                         rf"(?![\s-]+(?:{_alternatives(words['not_after_no'])})\b)", re.I),
        "refusal": re.compile(rf"^{fillers}(?:{_alternatives(words['no_at_confirmation'])})(?![\w'])", re.I),
        "consent": re.compile(rf"^{fillers}(?:{_alternatives(words['yes_at_confirmation'])})\b", re.I),
    }


@cache
def _action_pattern(tool: str) -> re.Pattern[str] | None:
    verbs = load_data("answers")["actions"].get(tool)
    if not verbs:
        return None
    # "cancel it", "yes, please cancel", "go ahead and return them": the pending action named, not negated.
    words = load_data("answers")
    lead = rf"^(?:(?:{_alternatives([*words['yes'], *words['yes_at_confirmation'], *words['fillers']])})\b[\s,.!]*)*"
    return re.compile(rf"{lead}(?:{_alternatives(verbs)})\b", re.I)


def plain_answer(text: str) -> Decision | None:
    """A message that starts with a plain yes or no ("yes", "nope", "absolutely"); "no longer needed" and
    "cancel my order" are no answer."""
    patterns = _patterns()
    if patterns["no"].match(text):
        return "no"
    if patterns["yes"].match(text):
        return "yes"
    return None


def confirmation_answer(text: str, tool: str | None = None) -> Decision | None:
    """The customer's answer to "shall I do this write?": also "don't", "wait" (no), and naming the pending
    action ("cancel it please" at a cancellation) as yes."""
    text = text.strip()
    action = _action_pattern(tool) if tool else None
    if action is not None and action.match(text):
        return "yes"
    if _patterns()["refusal"].match(text):
        return "no"
    if (plain := plain_answer(text)) is not None:
        return plain
    return "yes" if _patterns()["consent"].match(text) else None
