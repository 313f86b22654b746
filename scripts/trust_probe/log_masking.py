"""Personal data sent in messages, echoed in model errors and in query strings must not reach the logs
in clear; `serve` logs stay JSON lines so they can be shipped as they are."""

from __future__ import annotations

import contextlib
import json
import urllib.parse
import uuid

from .shared import (
    call,
    check,
    customer_token,
    post_msg,
)

PII = [  # (text sent, substrings that must not appear in any log line)
    ("my new address is 852 chestnut street apt 4, columbus oh 43221", ["chestnut street", "852 chestnut"]),
    ("ship it to 17 Rue de Rivoli, 75001 Paris", ["Rue de Rivoli", "17 Rue"]),
    ("pay with card 4111.1111.1111.1111", ["4111.1111", "1111.1111.1111"]),
    ("pay with card 4111 1111 1111 1111", ["4111 1111", "1111 1111 1111"]),
    ("pay with card 4111-1111-1111-1111", ["4111-1111"]), ("pay with card 4111111111111111", ["4111111111111111"]),
    ("cvv 123 exp 12/29", ["cvv 123", "12/29"]), ("the visa with last 4 digits 0519", ["digits 0519", "4 0519"]),
    ("my email is josé.müller@exämple.de", ["müller", "exämple"]), ("email jöhn@例え.jp please", ["jöhn", "例え"]),
    ("my email is probe.person7750@example.com", ["probe.person7750"]),
    ("IBAN DE89 3704 0044 0532 0130 00", ["3704 0044", "0532 0130"]),
    ("I live at 1600 Amphitheatre Parkway, Mountain View", ["Amphitheatre Parkway"]),
    ("my address: Flat 2, 10 Downing St, London SW1A 2AA", ["Downing St"]),
]
QUERY_PII = ["?email=jos%C3%A9%40ex%C3%A4mple.de&card=4111111111111111", "?q=probe.person7750%40example.com",
             "?checkpoint_id=x&cc=4111-1111-1111-1111&addr=852+chestnut+street"]


def probe_masking_traffic(base, op, a_user):
    """Send the PII only; the logs are judged once every server has stopped."""
    ta = customer_token(a_user)
    for i, (text, _) in enumerate(PII):
        tid = f"pii-{i:02d}-{uuid.uuid4().hex[:4]}"
        post_msg(base, tid, ta, text)
        post_msg(base, tid, ta, f"{text} FAULT:500:{uuid.uuid4().hex[:8]}")  # the model's error body echoes it
        post_msg(base, tid, ta, f"{text} FAULT:garbage:{uuid.uuid4().hex[:8]}")
    for q in QUERY_PII:
        call(base, "GET", f"/threads/pii-00{q}", op)
        call(base, "GET", f"/health{q}")
        call(base, "GET", f"/nope{q}")
    call(base, "POST", "/threads/pii-x/messages", ta, raw=json.dumps({"text": PII[0][0], "bogus": PII[3][0]}).encode())
    call(base, "POST", "/threads/pii-x/messages", ta, raw=json.dumps({"text": 5, "t": PII[3][0]}).encode())


def probe_masking_logs(log_paths):
    """No PII needle in any log line, also after decoding JSON-escaped lines."""
    kind = "log masking"
    lines = []
    for p in log_paths:
        if p.exists():
            lines += p.read_text(errors="replace").splitlines()
    decoded = []
    for ln in lines:
        decoded.append(ln)
        with contextlib.suppress(ValueError):
            decoded.append(json.dumps(json.loads(ln), ensure_ascii=False))
    blob = "\n".join(decoded)
    low = blob.lower()
    for text, needles in PII:
        hits = [n for n in needles if n.lower() in low]
        ex = next((ln for ln in decoded if hits and hits[0].lower() in ln.lower()), "")
        check(kind, text, not hits, f"unmasked {hits}: {ex[:300]}")
    for q in QUERY_PII:
        vals = [part.split("=", 1)[1] for part in q[1:].split("&")]
        vals = [v for v in vals if len(v) > 2] + [urllib.parse.unquote_plus(v) for v in vals if len(v) > 2]
        hits = [v for v in vals if v.lower() in low]
        check(kind, f"query string {q}", not hits and "4111111111111111" not in blob, f"{hits}")
    serve_lines = [ln for p in log_paths if p.exists() and p.name.startswith("serve")
                   for ln in p.read_text(errors="replace").splitlines() if ln.strip()]
    check(kind, f"`deskgraph serve` logs are JSON lines ({len(serve_lines)} lines)",
          all(ln.startswith("{") for ln in serve_lines),
          next((ln[:200] for ln in serve_lines if not ln.startswith("{")), ""))
