"""Personal data masked in log text by its shape: emails, cards, card secrets, addresses, request query strings."""

from __future__ import annotations

import re

# Personal data is masked by its shape, not by a list of its spellings: a list misses the next spelling (a
# lower-case address, a card written with dots, an email in another script, a query parameter). Each rule below
# states the shape it masks and the look-alikes it keeps: logs full of masks are as useless as logs of secrets.

# An access-log request line ('"GET /threads/x?email=a%40b.com HTTP/1.1" 200'): the path stays for debugging,
# the whole query string goes, since any parameter may carry personal data.
_QUERY = re.compile(r"(?P<line>\b[A-Z]+ [^\s?]*)\?\S*(?= HTTP/\d)")

# An email is recognised by its @ (or its URL encoding %40) alone: word characters of any script and . + - or
# percent escapes around it, with a domain of one or more labels ("root@localhost", "用户@例子.广告").
_PCT = r"%[0-9A-Fa-f]{2}"
_EMAIL = re.compile(rf"(?<![\w.+%-])(?:[\w.+-]|{_PCT})+(?:@|%40)(?:[\w-]|{_PCT})+(?:\.(?:[\w-]|{_PCT})+)*")

# A card number is 13 or more digits in groups of three or more, the groups joined by one space, dot, dash or
# slash, or unsplit. Longer runs too: a card glued to an expiry year or to a second card is still a card (the
# price: ids written space-separated, "1234567890 2345678901", are masked as well). Not cards: runs glued to
# letters (hex ids), the fraction of a decimal, two groups joined by one dot (a float: 1714564800.1234567),
# anything with 1-2 digit groups (dates, times, prices, versions, IPs), and uuids, which are skipped whole.
# Store ids stay below the length: item/product ids have 10 digits, tracking ids 12.
_UUID = r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
_DIGIT_RUN = re.compile(rf"(?P<uuid>{_UUID})|(?<![\w.])\d{{3,}}(?:[ ./-]\d{{3,}})*(?!\w|\.\d)")
_CARD_DIGITS = 13

# The value named by a card-security or postal word: cvv/cvc/security code, exp/expiry/expiration/expires, zip/
# postal code, with "date", "is", ":", quotes... between ("cvv 123", '"expiration date": "12/29"', "zip code
# 10001"). A bare zip ("NY 10001") stays: alone, five digits are a quantity, an amount or an id as often.
_NAMED_VALUE = re.compile(
    r"(?P<head>\b(?:cvv2?|cvc2?|csc|security\s+code|exp(?:iry|iration|ires)?|zip(?:\s*code)?|postal\s*code|postcode)"
    r"\b\.?(?:\s*(?:(?:date|code|is|on|of)\b|[:=#\"'-]))*\s*)\d+(?:\s?[/.-]\s?\d+)*", re.I)

# A card's last four digits after the words that announce them ("last 4 digits 0519", "last_four": "0519",
# "ending in 0519", "Visa card ending 0519" - our own payment label) or a run of mask characters ("**** 0519").
# Four digits that go on as a date ("week ending 2024-05-01") are not a card tail.
_CARD_TAIL = re.compile(
    r"(?P<head>(?:\blast[\s_]*(?:4|four)(?:\s+digits?)?|\blast\s+digits|\bend(?:s|ing)(?:\s+(?:in|with))?|[*•]{2,})"
    r"(?:\s*(?:(?:is|are|of)\b|[:=#\"'-]))*\s*)\d{4}\b(?![./-]\d)", re.I)

# A street address is a house number and a few words with a street word, in any case and word order:
#   number, 1-4 name words, street word, unit: "852 chestnut street apt 4", "42 Quarry Lane, Apt 7", "350 5th Ave"
#   number, 1-4 name words, unit:              "852 chestnut apt 4"
#   number, street word, 1-3 name words:       "17 Rue de Rivoli", "5 Via Roma", "10 calle mayor"
#   name words, number:                        "Hauptstraße 5", "Lindenweg 12a", "Calle Mayor, 10"
# Name words are not prose words ("the", "on", "my"...), so "2 items on the way" is no address; a number needs
# words after it, so "size 11" and "64GB" are none either. Known misses: "Via Roma 5" ("via" is English too).
_STOP = (r"(?:the|a|an|and|or|of|to|in|on|at|by|for|with|from|per|my|your|our|their|his|her|its|this|that|these|"
         r"those|is|are|was|were|be|it|i|we|you|they|he|she|not|no|all|any|each|every|more|most|some)\b")
_NAME = rf"(?!{_STOP})(?:[^\W\d_][\w'\u2019.-]*|\d+(?:st|nd|rd|th)\b)"
_PARTICLE = r"(?:de|du|des|la|le|les|del|della|di|da|do|dos|das|von|van|of|the)\s+"
_HOUSE = r"(?<![\w#$€£.,:/-])\d{1,6}[a-wyz]?(?!\w)"  # 221B, not 2x
_UNIT = r"(?:apt|apartment|suite|ste|unit)\.?\s*#?\s*(?:\d[\w-]*|[a-z]\b)|#\s*\d[\w-]*"
_STREET_AFTER = (r"(?:street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl|terrace|"
                 r"circle|parkway|pkwy|square|sq|trail|highway|hwy|strasse|straße|str|weg|platz|allee|gasse)\b\.?")
_STREET_BEFORE = r"(?:rue|avenue|avenida|via|viale|calle|carrer|rua|piazza|plaza|boulevard|chemin|quai|corso)\b"
_STREET_NUMBER_AFTER = (r"(?:[^\W\d_]+(?:(?:straße|strasse|weg|platz|gasse|allee)\b|str\b\.?)"
                        rf"|(?:calle|carrer|rua|avenida|viale|piazza|plaza)(?:\s+(?:{_PARTICLE}){{0,2}}{_NAME}){{1,3}},?)")
_STREET = re.compile(
    rf"{_HOUSE}(?:(?:\s+{_NAME}){{1,4}}\s+(?:{_STREET_AFTER}(?:\s*,?\s*(?:{_UNIT}))?|{_UNIT})"
    rf"|\s+broadway\b|\s+{_STREET_BEFORE}(?:\s+(?:{_PARTICLE}){{0,2}}{_NAME}){{1,3}}(?:\s*,?\s*(?:{_UNIT}))?)"
    rf"|\b{_STREET_NUMBER_AFTER}\s+\d{{1,5}}[a-z]?(?!\w)",
    re.I,
)
# Address fields in JSON-ish text: "address1": "...", "zip": "74103".
_ADDRESS_FIELD = re.compile(r'("(?:address1|address2|zip|postal_code)"\s*:\s*)"[^"]*"')
_PAYMENT_ID = re.compile(r"\b(credit_card|gift_card|paypal)_\d+\b")


def _mask_card(match: re.Match[str]) -> str:
    run = match.group()
    if match.group("uuid"):
        return run
    digits = sum(c.isdigit() for c in run)
    separators = [c for c in run if not c.isdigit()]
    return run if digits < _CARD_DIGITS or separators == ["."] else "<card>"


def mask_pii(text: str) -> str:
    """The text with emails, street addresses, payment details and request query strings replaced by placeholders."""
    text = _QUERY.sub(r"\g<line>?[masked]", text)
    text = _EMAIL.sub("<email>", text)  # first: an email's digits are no card, its words no street
    text = _DIGIT_RUN.sub(_mask_card, text)  # before addresses: a card's last group is no house number
    text = _CARD_TAIL.sub(r"\g<head>****", text)
    text = _NAMED_VALUE.sub(r"\g<head>***", text)
    text = _ADDRESS_FIELD.sub(r'\1"<address>"', text)
    text = _STREET.sub("<address>", text)
    return _PAYMENT_ID.sub(r"\1_<id>", text)
