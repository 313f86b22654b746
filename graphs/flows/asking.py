"""No question asked twice the same way: the second time the question is rephrased (numbered choices, what was not
understood, a person offered); the third time the case goes to a person with a ticket that says what could not be
resolved. Answers by number ("2", "the second one") are read exactly against the choices listed.
"""

from __future__ import annotations

import re
from typing import Any

from graphs.flows.reading_schema import said as said_check
from graphs.flows.render import say
from graphs.flows.step import FlowStep, listing
from graphs.flows.text import sentences, tokens
from graphs.task_words import beyond_doubt

#: What each slot's question tries to find out, for the rephrased question and the ticket.
_WHAT = {"order": "which order you mean", "items": "which items you mean", "variant": "which variant you want",
         "payment": "which payment method to use", "reason": "the reason for the cancellation",
         "address": "the address"}
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
             "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "last": -1}
_NUMBERED = re.compile(r"^\s*(?:(?:number|option|no\.?|#)\s*)?(\d{1,2})\s*[.!]?\s*$|"
                       r"^\s*(?:the\s+)?(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|sixth|6th|last)"
                       r"(?:\s+(?:one|option|order|item))?\s*[.!]?\s*$", re.I)
ESCALATE_AFTER = 3


def slot_kind(slot: str | None) -> str:
    """'variant:<item id>' -> 'variant'."""
    return str(slot or "").split(":", 1)[0]


def chosen(text: str, choices: list[list[str]]) -> list[str] | None:
    """The (id, label) the customer picked by number, ordinal or a word only one choice has ("the Visa" when we
    listed a Mastercard and a Visa) from the choices we listed, or None."""
    match = _NUMBERED.match(text)
    if not choices:
        return None
    if not match:
        return _named_choice(text, choices)
    number = int(match.group(1)) if match.group(1) else _ORDINALS[match.group(2).lower()]
    index = len(choices) - 1 if number == -1 else number - 1
    return list(choices[index]) if 0 <= index < len(choices) else None


#: Short answers only: a longer message may make a new request that merely mentions a listed choice.
_SHORT_ANSWER_WORDS = 15
_NEGATION = {"no", "not", "don't", "dont", "never", "neither", "nor", "except", "without"}
_DECLINE = {"no", "nope", "nah", "neither", "none"}


def _named_choice(text: str, choices: list[list[str]]) -> list[str] | None:
    """The one choice a short answer names by a word no other choice has, unless that word is negated ("not the
    Visa") or a task is named beyond doubt (a new request, not an answer). A sentence that declines or keeps
    ("no, leave the <A> as it is") names what is not meant: "... Just the <B>." still picks <B>."""
    words = re.findall(r"[\w']+", text.lower())
    if not words or len(words) > _SHORT_ANSWER_WORDS or beyond_doubt(text):
        return None
    labels = [tokens(label) for _, label in choices]
    hit: set[int] = set()
    ruled_out: set[int] = set()
    for sentence in sentences(text.lower()):
        said_words = re.findall(r"[\w']+", sentence)
        excluding = bool(said_words) and (said_words[0] in _DECLINE or said_check("item_kept", sentence))
        for position, word in enumerate(said_words):
            if word in _NEGATION or _NEGATION & set(said_words[max(0, position - 3):position]):
                continue  # "not the Visa"; and "no" is also an option's value ("waterproof: no")
            owners = [k for k, label in enumerate(labels) if tokens(word) and tokens(word) <= label]
            if len(owners) == 1:
                (ruled_out if excluding else hit).add(owners[0])
    hit -= ruled_out
    return list(choices[hit.pop()]) if len(hit) == 1 else None


def repeated(step: FlowStep, task: str, asked: dict[str, int]) -> tuple[str, dict[str, int], str | None]:
    """The question's text for this time of asking, the new counts, and an escalation reason at the limit."""
    key = f"{task}:{step.slot}" + (f":{step.still_missing}" if step.still_missing else "")
    times = asked.get(key, 0) + 1
    counts = {**asked, key: times}
    what = _WHAT.get(slot_kind(step.slot), "what you mean")
    if times >= ESCALATE_AFTER:
        return step.text, counts, say("could_not_resolve", what=what, task=task.replace("_", " "), times=times - 1)
    if times == 2:
        how = say("ask_again_choices", candidates=listing(step.choices)) if step.choices else say("ask_again_open")
        return say("ask_again", what=what, how=how), counts, None
    return step.text, counts, None


def choice_update(step: FlowStep) -> dict[str, Any]:
    """What the state keeps of a question: its numbered choices (empty when it listed none), each label with
    its id where two labels read the same."""
    labels = [label for _, label in step.choices]
    return {"choices": [[cid, f"{label} ({cid})" if labels.count(label) > 1 else label]
                        for cid, label in step.choices]}
