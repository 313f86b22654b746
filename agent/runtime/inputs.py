"""What every front end's input must look like before it reaches the model or the checkpoints."""

from __future__ import annotations

import re
import unicodedata

from agent.runtime.errors import InvalidInputError
from prompts import list_personas

#: Thread ids: short, printable, safe in URLs, file names and logs.
THREAD_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
_THREAD_ID = re.compile(THREAD_ID_PATTERN)
#: Kept control characters: a customer may write several lines or paste a tab.
_KEPT = frozenset("\n\t")
#: Removed categories: control characters (Cc), lone surrogates (Cs) and invisible format characters (Cf).
#: Cf includes the zero-width joiner, so an emoji ZWJ sequence (a family, a profession with a skin tone)
#: falls apart into its members: they still read the same to a person, and keeping ZWJ only between emoji
#: would be one more rule for text nobody has to store joined. Variation selectors and skin-tone modifiers
#: are not Cf and stay.
_REMOVED = frozenset({"Cc", "Cs", "Cf"})


def check_thread_id(thread_id: str) -> str:
    """The thread id, or ``InvalidInputError``."""
    if not isinstance(thread_id, str) or not _THREAD_ID.fullmatch(thread_id):
        raise InvalidInputError("thread ids are 1-128 characters of A-Z a-z 0-9 . _ : -")
    return thread_id


def check_persona(persona: str | None) -> str | None:
    """A preset's name (or None); text or an unknown name is refused: the state stores names only."""
    if persona is not None and persona not in list_personas():
        raise InvalidInputError(f"persona must be one of {', '.join(list_personas())}")
    return persona


def clean_text(text: str) -> str:
    """The text without control characters (other than newline and tab), format characters and lone surrogates.

    Control characters can hide text from an operator reading a transcript and confuse the model's chat
    template; format characters (bidi overrides and isolates, zero-width spaces, soft hyphens, tags) reorder
    or hide text the same way without being seen; a lone surrogate cannot be encoded at all and would break
    the checkpoint write.
    """
    text = text.replace("\r\n", "\n")
    return "".join(ch for ch in text if ch in _KEPT or unicodedata.category(ch) not in _REMOVED).strip()
