"""Racing requests on one thread, in one process and across two on the same files: at most one turn
runs and a confirmed write happens exactly once."""

from __future__ import annotations

import threading
import time
import uuid

from .servers import Server
from .shared import (
    Store,
    call,
    check,
    confirm,
    customer_lines,
    customer_token,
    post_msg,
)


def parallel(fns):
    """Run the calls in threads released together by a barrier, so they really race."""
    out = [None] * len(fns)
    barrier = threading.Barrier(len(fns))

    def run(i, f):
        barrier.wait()
        out[i] = f()

    ts = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(fns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def setup_pending(base, tid, tok, oid):
    """Bring a thread to a pending cancellation of `oid`; True if it got there."""
    post_msg(base, tid, tok, f"please cancel order {oid}")
    r = post_msg(base, tid, tok, "no longer needed")
    return r.has("confirmation_requested")


def probe_concurrency(ctx, srv: Server, srv2: Server, op, store: Store, users_pending):
    """Racing messages, approvals and retries; `srv2` is a second process on the same files."""
    kind = "concurrency"
    base, base2 = srv.url, srv2.url
    (u1, o1), (u2, o2), (u3, o3) = users_pending[:3]
    t1 = customer_token(u1)
    # two messages at once
    tid = "cc-two-" + uuid.uuid4().hex[:6]
    post_msg(base, tid, t1, "hello")
    res = parallel([lambda: post_msg(base, tid, t1, "first SLOW2"),
                    lambda: (time.sleep(0.4), post_msg(base, tid, t1, "second"))[1]])
    check(kind, "two messages at once: 200 and 409", sorted(a.status for a in res) == [200, 409],
          str([a.status for a in res]) + " " + str([a.text[:80] for a in res]))
    check(kind, "two messages: the accepted one stored once, the refused one not at all",
          customer_lines(base, tid, op, "first SLOW2") == 1 and customer_lines(base, tid, op, "second") == 0)
    # eight at once
    tid = "cc-eight-" + uuid.uuid4().hex[:6]
    post_msg(base, tid, t1, "hello")
    res = parallel([lambda i=i: post_msg(base, tid, t1, f"burst {i} SLOW2") for i in range(8)])
    oks = [i for i, a in enumerate(res) if a.status == 200]
    check(kind, "eight messages at once: exactly one 200, the rest 409",
          len(oks) == 1 and all(a.status in (200, 409) for a in res), str([a.status for a in res]))
    stored = sum(customer_lines(base, tid, op, f"burst {i} SLOW2") for i in range(8))
    check(kind, "eight messages: exactly the accepted one stored", stored == len(oks), f"stored {stored}, ok {len(oks)}")
    # six approvals at once
    tid = "cc-conf-" + uuid.uuid4().hex[:6]
    ok = setup_pending(base, tid, t1, o1)
    check(kind, "setup: pending cancellation", ok)
    res = parallel([lambda: confirm(base, tid, t1, True) for _ in range(6)])
    executed = sum(1 for a in res if any(e == "tool_result" and d.get("ok") for e, d in a.events))
    check(kind, "six approvals at once: one write, the rest 409",
          executed == 1 and all(a.status in (200, 409) for a in res) and store.refunds(o1) == 1
          and store.status(o1) == "cancelled", f"{[a.status for a in res]} executed={executed} "
          f"refunds={store.refunds(o1)} status={store.status(o1)}")
    # approve + decline at once
    t2 = customer_token(u2)
    tid = "cc-yesno-" + uuid.uuid4().hex[:6]
    setup_pending(base, tid, t2, o2)
    res = parallel([lambda: confirm(base, tid, t2, True), lambda: confirm(base, tid, t2, False)])
    st = store.status(o2)
    check(kind, "approve and decline at once: one of them, once", sorted(a.status for a in res) in ([200, 409],)
          and store.refunds(o2) == (1 if st == "cancelled" else 0), f"{[a.status for a in res]} {st} "
          f"refunds={store.refunds(o2)}")
    # two processes, one database
    tid = "cc-2proc-" + uuid.uuid4().hex[:6]
    post_msg(base, tid, t1, "hello")
    res = parallel([lambda: post_msg(base, tid, t1, "proc one SLOW2"),
                    lambda: (time.sleep(0.4), post_msg(base2, tid, t1, "proc two SLOW2"))[1]])
    check(kind, "two processes, one thread: 200 and 409", sorted(a.status for a in res) == [200, 409],
          str([a.status for a in res]))
    t3 = customer_token(u3)
    tid = "cc-2proc-conf-" + uuid.uuid4().hex[:6]
    setup_pending(base, tid, t3, o3)
    res = parallel([lambda: confirm(base, tid, t3, True), lambda: confirm(base2, tid, t3, True),
                    lambda: confirm(base, tid, t3, True), lambda: confirm(base2, tid, t3, True)])
    check(kind, "two processes, four approvals: one write", store.refunds(o3) == 1 and store.status(o3) == "cancelled"
          and all(a.status in (200, 409) for a in res), f"{[a.status for a in res]} refunds={store.refunds(o3)}")
    # retry twice at once after a failed turn
    tid = "cc-retry-" + uuid.uuid4().hex[:6]
    post_msg(base, tid, t1, "hello")
    text = f"what is the status of my order? FAULT:500:{uuid.uuid4().hex[:8]} SLOW1"
    r = post_msg(base, tid, t1, text)
    check(kind, "setup: failed turn", r.has("error"), str(r.kinds()))
    res = parallel([lambda: call(base, "POST", f"/threads/{tid}/retry", t1),
                    lambda: call(base2, "POST", f"/threads/{tid}/retry", t1)])
    st = sorted(a.status for a in res)
    n = customer_lines(base, tid, op, text)
    check(kind, "two retries at once (two processes): one runs, the message stored once",
          st in ([200, 409], [200, 404]) and n == 1, f"{st} stored={n} {[a.text[:100] for a in res]}")
    # message while a retry runs
    tid = "cc-retry-msg-" + uuid.uuid4().hex[:6]
    post_msg(base, tid, t1, "hello")
    text = f"status please FAULT:500:{uuid.uuid4().hex[:8]} SLOW2"
    post_msg(base, tid, t1, text)
    res = parallel([lambda: call(base, "POST", f"/threads/{tid}/retry", t1),
                    lambda: (time.sleep(0.4), post_msg(base, tid, t1, "in between"))[1]])
    check(kind, "message while a retry runs: 409", [a.status for a in res] == [200, 409], str([a.status for a in res]))
    return 9


def run(ctx, root, env, srv, op, store, users_pending):
    """With a second `serve` on the same files, stopped afterwards: cross-process races need two processes."""
    srv2 = ctx.server("serve-flows-2", root, env)
    try:
        probe_concurrency(ctx, srv, srv2, op, store, users_pending)
    finally:
        srv2.stop()
