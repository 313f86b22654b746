"""Requests code can read reliably from the customer's words, so a small model does not have to.

Only unambiguous cases are recognised; everything else is left to the model. A recognised request never
acts by itself: it becomes a tool call that goes through the same checks and the customer's explicit
confirmation as a call the model made. The words are the task catalogue's (``prompts/task_cues.json``).
"""

from __future__ import annotations

from typing import Literal, cast

from graphs.task_words import beyond_doubt, stated_reasons

Reason = Literal["no longer needed", "ordered by mistake"]


def stated_reason(text: str) -> Reason | None:
    """One of the two cancellation reasons when the text states exactly one of them; None for neither or both
    (the model, or the customer, must decide)."""
    reasons = stated_reasons(text)
    return cast(Reason, reasons[0]) if len(reasons) == 1 else None


def cancel_reason(text: str) -> Reason | None:
    """The cancellation reason when the text clearly asks to cancel and says why; else None."""
    return stated_reason(text) if beyond_doubt(text) == ["cancel"] else None
