"""JSON-lines logs: one object per line with the context fields, personal data masked."""

from __future__ import annotations

import json
import logging

from agent.observability import JsonFormatter, mask_pii


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
