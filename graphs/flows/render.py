"""Customer-facing texts of the flows: templates under prompts/ filled with facts from tool outcomes."""

from __future__ import annotations

import string
from typing import Any

from prompts import load_texts


class _Facts(dict):
    def __missing__(self, key: str) -> str:
        return ""


def say(key: str, **facts: Any) -> str:
    """The template ``key`` of prompts/flow_replies.json filled with facts (a fact not given renders empty)."""
    template = load_texts("flow_replies")[key]
    text = string.Formatter().vformat(template, (), _Facts(facts))
    return " ".join(text.split())  # an empty optional fact leaves no double space


def money(amount: float | int) -> str:
    """'$54.10' style amounts."""
    return f"${float(amount):,.2f}".replace(",", "")
