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
    text = " ".join(string.Formatter().vformat(template, (), _Facts(facts)).split())  # no double space
    # A fragment meant to follow other words (" within 5-7 business days") keeps its edge spaces.
    return (" " if template[:1].isspace() else "") + text + (" " if template[-1:].isspace() else "")
