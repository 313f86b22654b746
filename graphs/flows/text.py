"""Words to comparable tokens, and the facts code reads from a customer message without the model."""

from __future__ import annotations

import re
from typing import Any

from graphs.answers import plain_answer
from graphs.intents import cancel_reason
from graphs.prefetch import find_email, find_order_ids
from graphs.task_words import cue_said, profile_said
from tools.order_ids import ORDER_ID_IN_WORDS

#: A word; "i'm" and "don't" stay one word (a lone "m" would read as size M).
_WORD = re.compile(r"[a-z0-9]+(?:['\u2019.-][a-z0-9]+)*")
#: Spellings customers use for the same catalogue words.
#: Spellings and everyday names of a kind of product ("sneakers" are shoes: "the shoes" may mean either pair, and a
#: tie is asked about, never guessed). Never a word for another product: a notebook is not a laptop.
_SYNONYMS = {"grey": "gray", "colour": "color", "sneakers": "shoe", "sneaker": "shoe", "trainers": "shoe",
             "headphone": "headphones", "earbuds": "headphones", "tee": "t-shirt", "tshirt": "t-shirt",
             "ereader": "e-reader", "kindle": "e-reader", "bag": "backpack", "wifi": "wi-fi",
             # Units as written and as the catalogue spells them ("5-25 lb" is the "5-25 lbs" weight range).
             "lbs": "lb", "pound": "lb", "feet": "ft", "foot": "ft", "qt": "quart", "litre": "liter",
             # Materials said as adjectives ("the wooden one" is the one of material "wood").
             "wooden": "wood", "woollen": "wool", "woolen": "wool", "golden": "gold", "metallic": "metal"}
#: Words that never tell items apart.
_STOP = frozenset("a an the my i me of in on for with and or to it its is was that this one ones which please want "
                  "would like get some those these them their from order item items also just".split())
_NAME = r"([A-Z][a-z]+(?:-[A-Z][a-z]+)?)\s+([A-Z][a-z]+(?:['-][A-Z]?[a-z]+)?)"
_INTRODUCED = re.compile(r"\b(?:I'?m|I am|this is|my name is|my name's|name is|it'?s)\s+" + _NAME)
_SIGNED = re.compile(r"^(?:(?:hi|hiya|hello|hey|howdy|good (?:morning|afternoon|evening)|morning|evening)"
                     r"(?: there)?[,!.]?\s+)?" + _NAME + r"(?:\s+here\b|,|\s+from\b|\s*[-:])",
                     re.I)
_NOT_NAMES = {"Hi", "Hiya", "Hello", "Hey", "Howdy", "Good", "Morning", "Evening", "There", "Please", "Thanks", "Thank",
              "Order", "My", "The", "I"}
_ZIP = re.compile(r"(?<![\d#W])(\d{5})(?!\d)")


#: Where a sentence ends: after ".", "!", "?" or ";" and a space (so an email's or a price's dot is none).
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


def sentences(text: str) -> list[str]:
    """The text's sentences, in order, stripped, empty ones left out."""
    return [s.strip() for s in _SENTENCE_END.split(str(text or "")) if s.strip()]


def _stem(word: str) -> str:
    word = re.sub(r"['\u2019]s$", "", word)  # "the kettle's lid": a possessive is the word itself
    word = _SYNONYMS.get(word, word)
    if len(word) > 3 and (word.endswith(("ches", "shes")) or (word.endswith("es") and word[-3] in "sxz")):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return _SYNONYMS.get(word, word)


def tokens(text: Any) -> set[str]:
    """Comparable word tokens: lower case, synonyms folded, plurals stripped, filler words dropped."""
    return {_stem(w) for w in _WORD.findall(str(text or "").lower())} - _STOP


def _stemmed_words(text: str) -> list[tuple[str, int, int]]:
    """(stem, start, end) of every word, in order (filler words kept so positions stay exact)."""
    return [(_stem(m.group()), m.start(), m.end()) for m in _WORD.finditer(text.lower())]


def mentions(text: str, name: str) -> list[tuple[int, int]]:
    """Where a (multi-word) product name occurs in the text, as (start, end) spans ("running shoes" also
    matches "Running Shoe"); an empty list when it does not."""
    wanted = [w for w in (_stem(w) for w in _WORD.findall(name.lower())) if w not in _STOP]
    words = [w for w in _stemmed_words(text) if w[0] not in _STOP]
    if not wanted:
        return []
    return [(words[k][1], words[k + len(wanted) - 1][2]) for k in range(len(words) - len(wanted) + 1)
            if [w[0] for w in words[k:k + len(wanted)]] == wanted]


#: An order described by its contents ("the order with the <item>", "where I got the <item>"): it picks an order, not an item.
_ORDER_DESCRIPTION = re.compile(
    r"\b(?:order|purchase|package|delivery|shipment)\s+(?:with|where|that|which|containing|in which|from|including|of)"
    r"(?:\s+(?:i|we)\s+(?:bought|got|ordered|received|purchased)|\s+(?:has|had|have|contains|contained|included))?"
    r"(?:\s+(?!(?:i|i'd|i'm|can|could|would|should|will|please|want|and|but|is|was|were|to|for|in)\b)[\w'-]+){1,5}"
    # "... with the <item A> and the <item B>": the order's items listed go on after "and" with an article.
    r"(?:,?\s+and\s+(?:the|a|an|my)\s+[\w'-]+(?:\s+(?!(?:i|can|could|would|please|and|but|is|to)\b)[\w'-]+){0,2})?",
    re.I)


def order_description_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the text that describe an order by its contents ("my order with the <item>")."""
    return [m.span() for m in _ORDER_DESCRIPTION.finditer(text)]


def phrase_in(phrase: str, text_tokens: set[str]) -> bool:
    """True when every token of a (possibly multi-word) catalogue value occurs in the text."""
    wanted = tokens(phrase)
    return bool(wanted) and wanted <= text_tokens


def find_zip(text: str) -> str | None:
    """A 5-digit zip code, when exactly one stands in the text (order ids and longer numbers excluded)."""
    found = {m for m in _ZIP.findall(text)}
    return found.pop() if len(found) == 1 else None


_STREET_TYPES = (r"Street|St|Avenue|Ave|Road|Rd|Drive|Dr|Lane|Ln|Boulevard|Blvd|Way|Court|Ct|Place|Pl|Terrace|"
                 r"Parkway|Pkwy|Circle|Cir|Highway|Hwy|Square|Sq|Trail|Loop|Alley|Plaza")
_STREET_LINES = (r"(?P<address1>\b\d{1,6}\s+(?:[A-Z0-9][\w.'-]*\s+){0,4}(?:" + _STREET_TYPES + r")\b\.?)"
                 r"(?:,?\s+(?P<address2>(?:Suite|Ste|Apt|Apartment|Unit|Floor|Fl|#)\.?\s*[\w-]+))?")
_CITY_LINE = r"(?P<city>[A-Z][a-zA-Z.'-]*(?:\s+[A-Z][a-zA-Z.'-]*){0,3}),?\s+(?P<state>[A-Z]{2})\.?,?\s+(?P<zip>\d{5})\b"
_STREET = re.compile(_STREET_LINES)
_CITY = re.compile(_CITY_LINE)
_ADDRESS = re.compile(_STREET_LINES + r",?\s+" + _CITY_LINE)


#: US state and territory codes (an address's state, as customers write it).
US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK "
    "OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR".split())


def state_code(text: str) -> str | None:
    """A US state code written as one (upper case: "IN", "OR" and "ME" are words too), when exactly one is; "OK"
    only before a zip code (it is mostly an okay)."""
    found = {m.group(1) for m in re.finditer(r"\b([A-Z]{2})\b(,?\s*\d{5}\b)?", text)
             if m.group(1) in US_STATES and (m.group(1) != "OK" or m.group(2))}
    return found.pop() if len(found) == 1 else None


def find_street(text: str) -> dict[str, str] | None:
    """The street lines of an address given in parts ("<number> <name> <Road>, Apt <n>"): address1 and, when
    written, address2; None when the text has no street line."""
    match = _STREET.search(text)
    if not match:
        return None
    return {k: v.strip().rstrip(".") for k, v in match.groupdict().items() if v}


def find_city_line(text: str) -> dict[str, str] | None:
    """The city, state and zip of an address given in parts ("<City> <ST> <zip>"), None when the text has none."""
    match = _CITY.search(text)
    if not match or match.group("state") not in US_STATES:
        return None
    return {k: v.strip() for k, v in match.groupdict().items()}


def _zip_beside_address(text: str) -> str | None:
    """Of two zip codes, the one that is not the written address's ("... <new address> <zip>. My zip on file is
    <zip>"): the zip that identifies the customer."""
    match = _ADDRESS.search(text)
    if not match:
        return None
    return find_zip(text[:match.start()] + " " + text[match.end():])


def find_address(text: str) -> dict[str, str] | None:
    """A complete US address written in the usual order ("<number> <street>, Suite <n>, <city>, <ST> <zip>"),
    read exactly; None when the text has none (or only parts of one: the model reads those)."""
    match = _ADDRESS.search(text)
    if not match:
        return None
    found = {k: v.strip().rstrip(".") for k, v in match.groupdict().items() if v}
    return {**found, "address1": match.group("address1").strip()}


def find_name(text: str) -> tuple[str, str] | None:
    """A first and last name the customer introduced themselves with ("I'm Mason Johnson", "Mason Lee here")."""
    for pattern in (_INTRODUCED, _SIGNED):
        match = pattern.search(text)
        if match and not {match.group(1).title(), match.group(2).title()} & _NOT_NAMES \
                and match.group(1)[0].isupper() and match.group(2)[0].isupper():
            return match.group(1), match.group(2)
    return None


def code_facts(text: str) -> dict[str, Any]:
    """What code reads reliably: email, order ids, zip, yes/no, a cancellation reason, "all of it", a stated
    fallback task (only what is present)."""
    facts: dict[str, Any] = {}
    if email := find_email(text):
        facts["email"] = email
    if order_ids := find_order_ids(text, limit=4):
        facts["order_ids"] = order_ids
    if zip_code := find_zip(text) or _zip_beside_address(text):
        facts["zip"] = zip_code
    # A message that starts with a plain yes or no answers our question ("cancel my order" and "no longer
    # needed" are not answers).
    if answer := plain_answer(text):
        facts["answer"] = answer
    if reason := cancel_reason(text):
        facts["reason"] = reason
    if address := find_address(text):
        facts["address"] = address
    return facts


_ORDER_WORDS = re.compile(r"\b(orders?|" + ORDER_ID_IN_WORDS + r"|shipments?|packages?|deliver(y|ed)? to)\b",
                          re.I)


def mentions_order(text: str) -> bool:
    """The text speaks of an order ("order", an order id, "package", "shipment")."""
    return bool(_ORDER_WORDS.search(text))


_PRODUCT_QUESTION = re.compile(r"\b(available|in stock|versions?|variants?|options|come in|do you (have|sell|carry)|"
                               r"sell)\b", re.I)
_ORDER_REFERENCE = re.compile(r"\b(orders?|" + ORDER_ID_IN_WORDS + r"|track(ing)?|ship(ped)?|deliver(ed|y)?|bought|"
                              r"purchased|got|received)\b", re.I)
_SETTLEMENT = re.compile(r"\b(difference|refund(ed)?)\b", re.I)
#: "What is my default address?", "Which address is the order going to?": a question about an address, asked
#: with no word of changing one, asks to be told it.
_ADDRESS_QUESTION = re.compile(r"(^|[.!?]\s+)(what|which|where)\b[^.!?]*\baddress\b[^.!?]*\?", re.I)
_ADDRESS_CHANGE = re.compile(r"\b(chang|updat|new|switch|correct|fix|edit|replac|mov(e|ed|ing)\b|relocat|redirect|"
                             r"re-?rout|different|wrong|instead)", re.I)


def plausible_tasks(text: str, tasks: list[str]) -> list[str]:
    """The model's tasks that the text gives a cue for, order address vs. profile address told apart by code."""
    if "order_info" in tasks and _PRODUCT_QUESTION.search(text) and not _ORDER_REFERENCE.search(text):
        # "Which versions of the <product> do you have?" asks about the catalogue, not an order.
        tasks = [("question" if t == "order_info" else t) for t in tasks]
    if "order_info" in tasks and profile_said(text) and not _ORDER_REFERENCE.search(text):
        # A question about what is on file ("<which> <payment methods> on my account?") asks about the profile (the
        # free loop reads it).
        tasks = [("question" if t == "order_info" else t) for t in tasks]
    if "modify_payment" in tasks and {"exchange", "modify_items", "return"} & set(tasks) \
            and _SETTLEMENT.search(text):
        # "... <settle> the difference <to a card>" says how the change is paid, it is not a task of its own.
        tasks = [t for t in tasks if t != "modify_payment"]
    if {"modify_address", "change_default_address"} & set(tasks) and _ADDRESS_QUESTION.search(text) \
            and not _ADDRESS_CHANGE.search(text):
        asked = "order_info" if _ORDER_REFERENCE.search(text) else "question"
        tasks = [(asked if t in ("modify_address", "change_default_address") else t) for t in tasks]
    kept: list[str] = []
    for task in tasks:
        if task in ("modify_address", "change_default_address") and cue_said("modify_address", text):
            task = "change_default_address" if profile_said(text) and not mentions_order(text) \
                else "modify_address"
        if cue_said(task, text) and task not in kept:
            kept.append(task)
    return kept
