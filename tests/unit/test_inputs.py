"""Customer text as the runtime stores it: no control or invisible format characters."""

from __future__ import annotations

import unicodedata

import pytest

from agent.runtime.inputs import clean_text

#: Invisible characters that reorder or hide text in a transcript an operator reads (all category Cf).
FORMAT_CHARACTERS = {
    "right-to-left override": "\u202e",
    "left-to-right override": "\u202d",
    "left-to-right mark": "\u200e",
    "right-to-left mark": "\u200f",
    "zero width space": "\u200b",
    "zero width non-joiner": "\u200c",
    "zero width joiner": "\u200d",
    "word joiner": "\u2060",
    "left-to-right isolate": "\u2066",
    "right-to-left isolate": "\u2067",
    "first strong isolate": "\u2068",
    "pop directional isolate": "\u2069",
    "byte order mark": "\ufeff",
    "soft hyphen": "\u00ad",
    "tag latin small letter a": "\U000e0061",
    "interlinear annotation anchor": "\ufff9",
}


@pytest.mark.parametrize("name", FORMAT_CHARACTERS)
def test_format_characters_are_removed(name):
    ch = FORMAT_CHARACTERS[name]
    assert unicodedata.category(ch) == "Cf"
    assert clean_text(f"cancel {ch}#W1000001{ch} please{ch}") == "cancel #W1000001 please"


def test_a_reversed_order_id_cannot_be_disguised():
    # "#W1000001" written backwards behind an override reads as another order id in a transcript.
    assert clean_text("refund \u202e1000001W#\u202c now") == "refund 1000001W# now"


def test_text_that_is_not_format_characters_stays():
    text = "Ça va? 注文 #W1000001, size 11 ½ — thanks 👍🏽 ❤️\nsecond\tline"
    assert clean_text(text) == text


def test_emoji_sequences_lose_their_joiner():
    # ZWJ is Cf: a family emoji falls apart into its members, which still say the same to a human.
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean_text(family) == "\U0001f468\U0001f469\U0001f467"


def test_control_characters_and_lone_surrogates_still_go():
    assert clean_text("\r\nhi\x00 there\x1b[2J\x07\r\n\ud800x\u0085 ") == "hi there[2J\nx"
