"""Requests code can read reliably from the customer's words, so a small model does not have to.

Only unambiguous cases are recognised; everything else is left to the model. A recognised request never
acts by itself: it becomes a tool call that goes through the same checks and the customer's explicit
confirmation as a call the model made.
"""

from __future__ import annotations

import re
from typing import Literal

_CANCEL = re.compile(r"\bcancel(?:l?ing|l?ed|lation)?\b", re.I)
_NEGATED = re.compile(r"\b(?:don'?t|do not|not|never|no need to|won'?t)\s+(?:\w+\s+){0,2}cancel", re.I)
_MISTAKE = re.compile(r"\b(?:by mistake|by accident|accidental(?:ly)?|mistaken(?:ly)?|wrong(?:ly)? ordered|"
                      r"a mistake|didn'?t mean to)\b", re.I)
_NOT_NEEDED = re.compile(r"\b(?:no longer need(?:ed)?|(?:do not|don'?t) need|not needed|changed my mind|"
                         r"(?:do not|don'?t) want it|no need for it)\b", re.I)


def stated_reason(text: str) -> Literal["no longer needed", "ordered by mistake"] | None:
    """One of the two cancellation reasons when the text states exactly one of them (mistake words, or no-longer-needed words)."""
    mistake, not_needed = bool(_MISTAKE.search(text)), bool(_NOT_NEEDED.search(text))
    if mistake == not_needed:
        return None
    return "ordered by mistake" if mistake else "no longer needed"


def cancel_reason(text: str) -> Literal["no longer needed", "ordered by mistake"] | None:
    """The cancellation reason when the text clearly asks to cancel and says why; else None."""
    if not _CANCEL.search(text) or _NEGATED.search(text):
        return None
    mistake, not_needed = bool(_MISTAKE.search(text)), bool(_NOT_NEEDED.search(text))
    if mistake == not_needed:  # neither, or both: the model (or the customer) must decide
        return None
    return "ordered by mistake" if mistake else "no longer needed"
