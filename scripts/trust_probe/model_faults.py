"""A model that fails in every way an upstream can: the customer gets an error id, never internals,
and /retry recovers the turn."""

from __future__ import annotations

import re
import time
import uuid

from .shared import (
    Store,
    call,
    check,
    customer_lines,
    customer_token,
    leaked,
    post_msg,
)


def probe_faults(mode, base, op, store: Store, a_user, b_user):
    """Each fault once on a fresh thread, then /retry (the fault does not repeat) and a next turn."""
    kind = f"model faults ({mode})"
    ta = customer_token(a_user)
    ob = store.first_order(b_user)
    b_secrets = store.secrets_not_shared(b_user, a_user)
    kinds = ["500", "garbage", "empty", "malformed", "hang", "close"]
    if mode == "agent":
        kinds += ["badargs", "unknowntool", "texttool", "loop"]
    for k in kinds:
        tid = f"flt-{mode}-{k}-{uuid.uuid4().hex[:4]}"
        post_msg(base, tid, ta, "hello")
        nonce = uuid.uuid4().hex[:8]
        text = f"what is the status of order {ob}? FAULT:{k}:{nonce}" if k == "texttool" else \
            (f"status of my orders ALWAYS:loop {nonce}" if k == "loop" else f"status of my orders FAULT:{k}:{nonce}")
        t0 = time.time()
        r = post_msg(base, tid, ta, text, timeout=60)
        dt = time.time() - t0
        problems = []
        if r.status != 200 or not r.has("done"):
            problems.append(f"status {r.status} kinds {r.kinds()}")
        errs = [d for e, d in r.events if e == "error"]
        for d in errs:
            if not d.get("error_id"):
                problems.append("error without error_id")
            if re.search(r"upstream|Traceback|fake|json|Exception|http", d.get("message", ""), re.I):
                problems.append(f"internal detail to a customer: {d.get('message')!r}")
        if not errs and not r.has("reply") and not r.has("handed_over"):
            problems.append("neither an error nor a reply")
        lk = [s for s in leaked(r.text, b_secrets) if s not in text]
        if lk:
            problems.append(f"B's data: {lk}")
        if dt > 20:
            problems.append(f"took {dt:.0f}s")
        if errs and k != "loop":
            rr = call(base, "POST", f"/threads/{tid}/retry", ta, timeout=60)
            if rr.status != 200 or rr.has("error") or not (rr.has("reply") or rr.has("confirmation_requested")):
                problems.append(f"retry: {rr.status} {rr.kinds()} {rr.text[:160]!r}")
            n = customer_lines(base, tid, op, text)
            if n != 1:
                problems.append(f"message stored {n} times after the retry")
        nxt = post_msg(base, tid, ta, "hello again")
        if nxt.status != 200 or nxt.has("error"):
            problems.append(f"next turn {nxt.status} {nxt.kinds()}")
        check(kind, k, not problems, f"{[e for e, _ in r.events]} {dt:.1f}s {'; '.join(problems)}")
    check(kind, "server healthy afterwards", call(base, "GET", "/health").status == 200)
