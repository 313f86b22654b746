"""What a task flow does next (``FlowStep``), and how a question lists its choices."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class FlowStep:
    """What the flow does next: ask for a slot, refuse, answer (reads), or ask to confirm a write."""

    kind: Literal["ask", "refuse", "answer", "confirm"]
    text: str = ""
    slot: str | None = None
    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    choices: tuple[tuple[str, str], ...] = ()
    """The (id, label) candidates a question listed, numbered: the customer may answer with a number."""
    still_missing: str = ""
    """What of the slot a question still lacks when the customer gave part of it ("street"): a question that
    asks for less than the last one is progress, not the same question again."""


def listing(candidates: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> str:
    """Candidates as the customer can answer them: '1. X; 2. Y' (one alone is not numbered)."""
    if len(candidates) == 1:
        return candidates[0][1]
    labels = [label for _, label in candidates]
    # Two candidates that read the same (two PayPal accounts) are told apart by their ids.
    shown = [f"{label} ({cid})" if labels.count(label) > 1 else label for cid, label in candidates]
    return "; ".join(f"{k}. {label}" for k, label in enumerate(shown, 1))
