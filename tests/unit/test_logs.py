"""JSON-lines logs: one object per line with the context fields, personal data masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from uvicorn.protocols.utils import get_path_with_query_string

from agent.observability import JsonFormatter, configure_logging, mask_pii


def test_mask_pii_hides_emails_addresses_and_payment_details():
    text = ('lena.moreau5521@example.com lives at 42 Quarry Lane, Apt 7 and 9 Elm Street; '
            '{"address1": "1 Main Rd", "zip": "74103", "last_four": "0417"}, card 4111 1111 1111 1111, '
            'visa ending in 0417, credit_card_1048826, gift_card_6620913. Order #W1000001 costs 61.74.')
    masked = mask_pii(text)
    for secret in ("lena.moreau", "example.com", "Quarry", "Elm Street", "Main Rd", "74103", "0417", "4111",
                   "1048826", "6620913"):
        assert secret not in masked, secret
    assert "#W1000001" in masked and "61.74" in masked  # order ids and amounts stay readable


def test_json_formatter_writes_one_masked_object_per_line():
    record = logging.LogRecord("agent.turns", logging.ERROR, __file__, 1, "turn failed for %s", ("a@b.example",),
                               None)
    record.thread_id, record.stage, record.latency_ms, record.error_id = "t1", "order_desk", 12.5, "abc123"
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == "turn failed for <email>" and data["level"] == "error"
    assert (data["thread_id"], data["stage"], data["latency_ms"], data["error_id"]) == ("t1", "order_desk", 12.5,
                                                                                         "abc123")
    assert data["ts"].endswith("+00:00")


# --- the cases that reached the log unmasked, and the look-alikes that must stay readable ----------------

# (text, what must be gone, what must remain): the masking rules, one structural case each.
LEAKS = [
    # Street addresses: a house number, then words with a street word, any case, any word order.
    ("ship to 852 chestnut street apt 4 please", ["852", "chestnut", "apt 4"], ["ship to", "please"]),
    ("17 Rue de Rivoli, 75001 Paris", ["17 Rue", "Rivoli"], ["Paris"]),
    ("lives at 42 Quarry Lane, Apt 7", ["42", "Quarry", "Apt 7"], ["lives at"]),
    ("5 Via Roma", ["5 Via", "Roma"], []),
    ("10 calle mayor", ["10", "mayor"], []),
    ("350 5th Avenue", ["350", "5th"], []),
    ("221B Baker St.", ["221B", "Baker"], []),
    ("900 Sunset Blvd #12", ["900", "Sunset", "#12"], []),
    ("123 Broadway", ["123", "Broadway"], []),
    ("Hauptstraße 5, Berlin", ["Hauptstraße", "5,"], ["Berlin"]),
    ("Lindenweg 12a", ["Lindenweg", "12a"], []),
    ("Bahnhofstr. 12", ["Bahnhof", "12"], []),
    ("100 Avenue of the Stars", ["100", "Stars"], []),
    # Card numbers: 13-19 digits in groups, any separator or none.
    ("card 4111.1111.1111.1111 on file", ["4111", "1111"], ["card", "on file"]),
    ("card 4111 1111 1111 1111", ["4111", "1111"], ["card"]),
    ("card 4111-1111-1111-1111.", ["4111", "1111"], ["card", "."]),
    ("card 4111/1111/1111/1111", ["4111", "1111"], []),
    ("card 4111111111111111", ["4111"], []),
    ("amex 3782 822463 10005", ["3782", "822463", "10005"], ["amex"]),
    ("card 4111 1111 1111 1111 12/29", ["4111", "1111"], []),
    # The value after cvv/cvc/exp/expiry.
    ("cvv 123 exp 12/29", ["123", "12/29"], ["cvv", "exp"]),
    ("CVC: 4567, expiry 12-2029", ["4567", "12-2029"], ["CVC", "expiry"]),
    ('{"cvv": "123", "expiration date": "12/29"}', ["123", "12/29"], ['"cvv": "']),
    ("security code is 321", ["321"], ["security code"]),
    # Card tails.
    ("the visa with last 4 digits 0519", ["0519"], ["the visa with last 4 digits"]),
    ("Visa card ending 0519", ["0519"], ["Visa card ending"]),
    ("mastercard ending in 0519", ["0519"], []),
    ("last four: 0519", ["0519"], []),
    ("card **** 0519", ["0519"], []),
    # Emails by their @: any Unicode, also percent-encoded.
    ("from josé.müller@exämple.de today", ["josé", "müller", "exämple"], ["from", "today"]),
    ("用户@例子.广告", ["用户", "例子", "广告"], []),
    ("GET /customers/lena.moreau%40example.com", ["lena", "example.com"], ["GET /customers/"]),
    ("jos%C3%A9%40ex%C3%A4mple.de", ["jos", "mple"], []),
    ("root@localhost", ["root", "localhost"], []),
    # A zip is masked where it is named, not as a bare number (see the look-alikes).
    ("zip code 10001", ["10001"], ["zip code"]),
    # Access-log request lines: the whole query string.
    ('"GET /threads/x?email=a%40b.com&card=4111%201111%201111%201111 HTTP/1.1" 200',
     ["email", "a%40b", "4111"], ['"GET /threads/x?[masked] HTTP/1.1" 200']),
]

# Look-alikes that must reach the log exactly as written.
KEPT = [
    "order #W1234567",
    "thread 3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b",
    "thread 12345678-1234-4123-8123-123456789abc",
    "thread cli-1a2b3c4d, fork t1-fork-0a1b2c",
    "error id 3fa85f6457b1",
    "at 2024-05-01T12:34:56.789+00:00",
    "between 2024-05-01 12:34:56 and 2024-06-01 08:00:00",
    "period 2024-05-01/2024-06-01",
    "price 1234.56, refund $58.00, total $1,234.56",
    "prices 12.50 13.75 20.00 5.99",
    '"GET /threads/x HTTP/1.1" 200',
    "HTTP 404 after 1532 ms",
    "took 0.12345678901234567 s",
    "at 1714564800.1234567",
    "64GB phone, size 11 running shoes",
    "year 2024, back in 2029",
    "New York, NY 10001",
    "item 1234567890, product 9876543210",
    "items ['1234567890', '2345678901']",
    "tracking 123456789012",
    "127.0.0.1:8080 and 192.168.100.200",
    "Python 3.11.4, v1.2.3",
    "2 items on the way",
    "2x faster either way",
    "2 place settings",
    "week ending 2024-05-01",
    "sent via email 2 times",
    "    @app.post('/threads')",
    "a phone 555 123 4567",
]


@pytest.mark.parametrize(("text", "gone", "kept"), LEAKS, ids=[case[0][:40] for case in LEAKS])
def test_mask_pii_masks_by_structure(text: str, gone: list[str], kept: list[str]):
    masked = mask_pii(text)
    for secret in gone:
        assert secret not in masked, (secret, masked)
    for context in kept:
        assert context in masked, (context, masked)


@pytest.mark.parametrize("text", KEPT)
def test_mask_pii_keeps_look_alikes(text: str):
    assert mask_pii(text) == text


@pytest.fixture
def service_log() -> Iterator[io.StringIO]:
    """The logging the service installs (`deskgraph serve`), its stderr handler writing here; undone afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved_loggers = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate) for name in names}
    configure_logging("info")
    (handler,) = root.handlers
    stream = io.StringIO()
    handler.setStream(stream)  # type: ignore[attr-defined]
    yield stream
    root.handlers[:], level = saved
    root.setLevel(level)
    for name, (handlers, propagate) in saved_loggers.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).propagate = propagate


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_service_log_masks_every_case(service_log: io.StringIO):
    log = logging.getLogger("agent.api")
    for text, _, _ in LEAKS:
        log.info("customer said %s", text, extra={"principal": text})
    for text in KEPT:
        log.info("customer said %s", text)
    try:
        raise ValueError(LEAKS[0][0])
    except ValueError:
        log.exception("request failed", extra={"path": "/customers/josé.müller@exämple.de"})
    lines = _lines(service_log)
    assert len(lines) == len(LEAKS) + len(KEPT) + 1
    for (_, gone, _), line in zip(LEAKS, lines, strict=False):
        for secret in gone:
            assert secret not in line["message"] and secret not in line["principal"], (secret, line)
    for text, line in zip(KEPT, lines[len(LEAKS):], strict=False):
        assert line["message"] == f"customer said {text}"
    failure = lines[-1]
    assert "chestnut" not in failure["exception"] and failure["path"] == "/customers/<email>"


def test_the_access_log_masks_the_whole_query_string(service_log: io.StringIO):
    access = logging.getLogger("uvicorn.access")
    for query in (b"email=a%40b.com&card=4111%201111%201111%201111", b"q=852+chestnut+street", b""):
        target = get_path_with_query_string({"path": "/threads/x", "query_string": query})  # type: ignore[typeddict-item]
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:51234", "GET", target, "1.1", 200)  # as uvicorn does
    messages = [line["message"] for line in _lines(service_log)]
    assert messages == ['127.0.0.1:51234 - "GET /threads/x?[masked] HTTP/1.1" 200'] * 2 + [
        '127.0.0.1:51234 - "GET /threads/x HTTP/1.1" 200']
