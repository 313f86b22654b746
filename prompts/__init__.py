"""Prompt files shipped as package data, loaded by name through one loader.

Names are file stems relative to this folder: ``load_prompt("policy")``, ``load_prompt("personas/concise")``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any


class PromptNotFoundError(LookupError):
    """Raised for a prompt name with no file behind it."""


@lru_cache(maxsize=64)
def load_prompt(name: str) -> str:
    """The text of ``prompts/<name>.md``, stripped of surrounding whitespace."""
    if ".." in name or name.startswith("/"):
        raise PromptNotFoundError(f"invalid prompt name {name!r}")
    path = resources.files(__name__).joinpath(f"{name}.md")
    if not path.is_file():
        raise PromptNotFoundError(f"no prompt named {name!r}")
    return path.read_text(encoding="utf-8").strip()


def list_personas() -> list[str]:
    """Names of the persona presets (files under ``prompts/personas/``), ``default`` first."""
    folder = resources.files(__name__).joinpath("personas")
    names = sorted(p.name[:-3] for p in folder.iterdir() if p.name.endswith(".md"))
    return sorted(names, key=lambda n: (n != "default", n))


@lru_cache(maxsize=8)
def load_data(name: str) -> Any:
    """A JSON data file, ``prompts/<name>.json`` (text tables, the guardrail's patterns and replies)."""
    if ".." in name or name.startswith("/"):
        raise PromptNotFoundError(f"invalid data name {name!r}")
    path = resources.files(__name__).joinpath(f"{name}.json")
    if not path.is_file():
        raise PromptNotFoundError(f"no text table named {name!r}")
    return json.loads(path.read_text(encoding="utf-8"))


def load_texts(name: str) -> dict[str, str]:
    """A JSON table of fixed texts, ``prompts/<name>.json`` (e.g. replies code sends, confirmation templates)."""
    table: dict[str, str] = load_data(name)
    return table


def replies() -> dict[str, str]:
    """Fixed customer-facing texts that code (not the model) sends, e.g. the hand-over notice."""
    return load_texts("replies")
