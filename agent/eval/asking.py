"""Reading an agent message as the customer does: does it ask the customer something, and which of the
customer's facts does it ask for.

The simulated customer may end the chat only when the agent is not waiting for an answer, and ``blame`` calls a
failure the customer's when it ended while the agent was. The words are data (``prompts/eval_customer.json``).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from prompts import load_data

#: Which ``customer.knows`` keys answer each kind of fact an agent asks for.
FACT_KEYS = {"email": ("email",), "name": ("first_name", "last_name"), "zip": ("zip",)}


@cache
def _cues() -> dict[str, Any]:
    data: dict[str, Any] = load_data("eval_customer")
    return {"closing": re.compile(data["closing"], re.I), "request": re.compile(data["request"], re.I),
            "facts": {kind: re.compile(p, re.I) for kind, p in data["facts"].items()},
            "answers": data["answers"], "nudge": data["nudge"]}


def sentences(text: str) -> list[str]:
    """The message cut into sentences (at . ! ? followed by a space, and at line breaks)."""
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def questions(text: str) -> list[str]:
    """The sentences that ask the customer something: questions and requests, not the closing "anything else?"."""
    cues = _cues()
    return [s for s in sentences(text)
            if (s.endswith("?") or cues["request"].search(s)) and not cues["closing"].search(s)]


def asks(text: str) -> bool:
    """True when the agent waits for an answer (it asked a question that is not just "anything else?")."""
    return bool(questions(text))


def facts_asked(text: str) -> list[str]:
    """The kinds of fact (``email``, ``name``, ``zip``) the agent's questions ask for, in that order."""
    asked = " ".join(questions(text))
    return [kind for kind, pattern in _cues()["facts"].items() if pattern.search(asked)]


def answer_from_facts(text: str, knows: dict[str, str]) -> str | None:
    """The customer's known facts that the agent asks for, said plainly; None when it asks for none of them."""
    answers = _cues()["answers"]
    said = [answers[kind].format(**knows) for kind in facts_asked(text)
            if all(knows.get(key) for key in FACT_KEYS[kind])]
    return " ".join(said) or None


def nudge() -> str:
    """The note that tells the customer model the agent is waiting for an answer."""
    text: str = _cues()["nudge"]
    return text
