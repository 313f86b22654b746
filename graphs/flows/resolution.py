"""The outcome of resolving one slot of a task from what the customer said.

``ok`` with a value, ``missing`` (nothing usable was said: ask), ``ambiguous`` (several candidates: ask, listing
them) or ``none`` (nothing matches: say so). Resolvers never guess between candidates: an ambiguous description
is never resolved silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["ok", "missing", "ambiguous", "none"]


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving one slot."""

    status: Status
    value: Any = None
    candidates: list[tuple[str, str]] = field(default_factory=list)
    """(id, label) pairs to list in a clarifying question."""
    detail: str = ""
    """Why nothing matched (a template key of the flow replies), for ``none``."""


def ok(value: Any) -> Resolution:
    """A resolved value."""
    return Resolution("ok", value)
