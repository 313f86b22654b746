"""kill -9 at each step of a cancel conversation, then restart: the conversation must resume and the
write must happen exactly once."""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
import uuid

import httpx

from .servers import Server
from .shared import (
    Store,
    call,
    check,
    confirm,
    customer_token,
    get_thread,
    parse_sse,
    post_msg,
)


def stream_until_killed(base, path, token, body, out: dict):
    """Read the SSE answer into `out` until the server dies, so the checks know what the client saw before."""
    buf = ""
    try:
        with httpx.stream("POST", base + path, json=body, headers={"Authorization": f"Bearer {token}"},
                          timeout=30) as r:
            out["status"] = r.status_code
            for chunk in r.iter_text():
                buf += chunk
    except httpx.HTTPError as e:
        out["error"] = repr(e)
    out["events"] = parse_sse(buf)


def drive_to_cancel(base, tid, tok, oid, store: Store, log: list):
    """Go on as a customer would (confirm, retry or say it again) until the order is cancelled; True if it is."""
    for _ in range(10):
        st, th = get_thread(base, tid, tok)
        if store.status(oid) == "cancelled" and not th.get("pending_confirmation") and not th.get("failed_turn"):
            return True
        if th.get("pending_confirmation"):  # also when the store already has the write: the ledger must hold
            a = confirm(base, tid, tok, True)
            log.append(f"confirm {a.status} {[e for e, _ in a.events]}")
            if a.has("error"):
                log.append(f"error after confirm: {[d for e, d in a.events if e == 'error']}")
        elif th.get("failed_turn"):
            a = call(base, "POST", f"/threads/{tid}/retry", tok)
            log.append(f"retry {a.status}")
        else:
            tr = th.get("transcript", []) if st == 200 else []
            last_agent = next((x for x in reversed(tr) if x.startswith("agent:")), "")
            text = "no longer needed" if "reason" in last_agent else f"please cancel order {oid}"
            a = post_msg(base, tid, tok, text)
            log.append(f"say {text!r} {a.status}")
        if a.status == 409:
            time.sleep(1.0)
    return store.status(oid) == "cancelled"


KILL_POINTS = [  # (label, step, delay seconds or 'after', marker)
    ("first message, during the model call", 1, 0.6, " SLOW3"), ("first message, at once", 1, 0.0, ""),
    ("idle after the first turn", 1, "after", ""), ("reason, 20 ms in", 2, 0.02, ""), ("reason, 150 ms in", 2, 0.15, ""),
    ("idle with a confirmation pending", 2, "after", ""), ("approval, at once", 3, 0.0, ""),
    ("approval, 10 ms in", 3, 0.01, ""), ("approval, 30 ms in", 3, 0.03, ""), ("approval, 60 ms in", 3, 0.06, ""),
    ("approval, 120 ms in", 3, 0.12, ""),
]


def probe_kill(ctx, srv: Server, op, store: Store, users_pending, agent_srv: Server | None, agent_store, agent_users):
    """One fresh customer and order per kill point, so each resumed cancellation is judged on its own."""
    kind = "kill -9 and restart"
    cases = []
    for i, (label, step, delay, marker) in enumerate(KILL_POINTS):
        u, oid = users_pending[i]
        cases.append((srv, store, u, oid, label, step, delay, marker, "flows"))
    if agent_srv:
        u, oid = agent_users[0]
        cases.append((agent_srv, agent_store, u, oid, "agent: streaming the reply after the write", 3, 1.2,
                      " STREAMSLOW"))
        u, oid = agent_users[1]
        cases.append((agent_srv, agent_store, u, oid, "agent: approval, 40 ms in", 3, 0.04, ""))
    for case in cases:
        s, st_, u, oid, label, step, delay, marker = case[:8]
        tok = customer_token(u)
        tid = f"kill-{uuid.uuid4().hex[:8]}"
        steps = [("messages", {"text": f"please cancel order {oid}"}), ("messages", {"text": "no longer needed"}),
                 ("confirmation", {"approved": True})]
        if s is agent_srv:
            steps = [("messages", {"text": f"please cancel order {oid}"}), ("confirmation", {"approved": True})]
            step = min(step, 2)
        out: dict = {}
        try:
            for k, (route, body) in enumerate(steps, 1):
                body = dict(body)
                if "text" in body and (k == step or (s is agent_srv and k == 1)):
                    body["text"] += marker
                if k < step or (k == step and delay == "after"):
                    call(s.url, "POST", f"/threads/{tid}/{route}", tok, body)
                    if k == step:
                        break
                    continue
                t = threading.Thread(target=stream_until_killed, args=(s.url, f"/threads/{tid}/{route}", tok, body, out))
                t.start()
                time.sleep(delay)
                break
            before = get_thread(s.url, tid, op) if delay == "after" else None
            seen_ok = False
            s.kill9()
            if delay != "after":
                t.join()
                seen_ok = any(e == "tool_result" and d.get("ok") for e, d in out.get("events", []))
            s.start()
            after = get_thread(s.url, tid, op)
            state_after = (f"after restart: order {st_.status(oid)}, pending="
                           f"{bool(after[1].get('pending_confirmation'))}, failed_turn={after[1].get('failed_turn')}")
            problems = []
            if before is not None and before[1].get("transcript") != after[1].get("transcript"):
                problems.append(f"returned turn not on disk: {before[1].get('transcript')} vs {after[1].get('transcript')}")
            if before is not None and bool(before[1].get("pending_confirmation")) != bool(after[1].get("pending_confirmation")):
                problems.append("pending confirmation lost")
            if seen_ok and st_.status(oid) != "cancelled":
                problems.append("the client saw the write succeed, the store does not have it")
            log: list = []
            if not drive_to_cancel(s.url, tid, tok, oid, st_, log):
                problems.append(f"conversation did not resume to the cancellation: {log}")
            if any(x.startswith("error after confirm") for x in log):
                problems.append("confirming the pending write after the restart answered an error")
            if st_.refunds(oid) != 1:
                problems.append(f"refunds {st_.refunds(oid)}")
            _, th = get_thread(s.url, tid, op)
            tr = th.get("transcript", [])
            dup = [x for x in set(tr) if x.startswith("  -> ") and tr.count(x) > 1]
            if dup:
                problems.append(f"tool call doubled in transcript {dup}")
            if th.get("customer_id") not in (u, None):
                problems.append(f"owner {th.get('customer_id')}")
            check(kind, f"{case[8] if len(case) > 8 else 'agent'}: {label}", not problems,
                  f"pre-kill events={[e for e, _ in out.get('events', [])]}; {state_after}; resumed by {log}; "
                  f"{'; '.join(problems)}")
            print(f"    kill point {label}: pre-kill events={[e for e, _ in out.get('events', [])]}; {state_after}; "
                  f"resumed by {log}", flush=True)
        except Exception as e:  # noqa: BLE001
            check(kind, label, False, f"probe error {e!r} {traceback.format_exc()[-600:]}")
            with contextlib.suppress(Exception):
                s.restart_if_dead()
    return len(cases)
