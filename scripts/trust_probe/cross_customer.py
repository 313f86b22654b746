"""Customer A on customer B's thread, on every thread route, in every state the thread can be in: a
store that keys threads by id alone would leak here first."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import uuid

from .servers import Server
from .shared import (
    Store,
    call,
    check,
    confirm,
    customer_token,
    get_thread,
    hold_lock,
    leaked,
    post_msg,
)

ROUTES = [  # (method, path suffix, body) — every route that acts on a thread
    ("GET", "", None), ("GET", "?checkpoint_id=1f0c0000-0000-6000-8000-000000000000", None),
    ("POST", "/messages", {"text": "hello, what is the status of my orders?"}),
    ("POST", "/confirmation", {"approved": True}), ("POST", "/retry", None),
    ("POST", "/replay", {"checkpoint_id": "1f0c0000-0000-6000-8000-000000000000"}),
    ("POST", "/fork", {"checkpoint_id": "1f0c0000-0000-6000-8000-000000000000"}), ("GET", "/checkpoints", None),
]
OPERATOR_ONLY = {"/replay", "/fork", "/checkpoints"}


def route_probe(kind, base, tid, who, token, label, store: Store, victim, operator=False, nonexist_tid=None):
    """Every route on another's thread: 404 (403 for a customer on an operator route, the same answer as for a
    thread that does not exist); no victim data in any answer."""
    # totals ("$12.34") are left out: the same amount can turn up in anyone's answer by chance
    secrets = {s for s in store.secrets_of(victim) if not s.startswith("$")}
    for method, suffix, body in ROUTES:
        a = call(base, method, f"/threads/{tid}{suffix}", token, body)
        expected = {404}
        if not operator and suffix in OPERATOR_ONLY:
            expected = {403}
        # a never-used id, for the routes that do not create a thread: the same answer (no existence oracle)
        # (/messages creates a thread and /retry answers 200 "nothing to retry" for an id never used: not compared;
        # both tell "someone has this id", see the report)
        ghost = f"{nonexist_tid}-{uuid.uuid4().hex[:4]}" if nonexist_tid and suffix not in ("/messages", "/retry") \
            else None
        base_a = call(base, method, f"/threads/{ghost}{suffix}", token, body) if ghost else None
        same = base_a is None or base_a.status == a.status or (suffix == "/confirmation" and base_a.status == 409)
        lk = leaked(a.text, secrets)
        check(kind, f"{label}: {who} {method} {suffix or '/'}", a.status in expected and same and not lk,
              f"got {a.status} (nonexistent thread: {base_a.status if base_a else '-'}) leak={lk} {a.text[:160]!r}")


def probe_cross(ctx, srv: Server, op, store: Store, a_user, b_user, b_orders):
    """A on B's thread while it is live; returns B's thread ids for the after-restart checks (the memory-only one last)."""
    kind = "wrong customer, every route"
    base = srv.url
    ta, tb = customer_token(a_user), customer_token(b_user)
    ghost = "ghost-" + uuid.uuid4().hex[:8]
    b_secrets = store.secrets_of(b_user)

    # (i) B's checkpointed thread with a pending cancellation
    t1 = "xb-ckpt-" + uuid.uuid4().hex[:6]
    post_msg(base, t1, tb, f"please cancel order {b_orders[0]}")
    r = post_msg(base, t1, tb, "no longer needed")
    check(kind, "setup: B has a pending confirmation", r.has("confirmation_requested"), str(r.kinds()))
    route_probe(kind, base, t1, "A", ta, "checkpointed thread", store, b_user, nonexist_tid=ghost)
    check(kind, "A's approve did not cancel B's order", store.status(b_orders[0]) == "pending", store.status(b_orders[0]))
    st, th = get_thread(base, t1, tb)
    check(kind, "B still owns the thread, confirmation still pending",
          st == 200 and th.get("pending_confirmation") and th.get("customer_id") == b_user, f"{st} {th.get('customer_id')}")
    confirm(base, t1, tb, False)

    # (ii) B's first message failed while the checkpoint file was locked: only in memory
    t2 = "xb-mem-" + uuid.uuid4().hex[:6]
    lock = hold_lock(srv.root / "checkpoints.db", 3.0)
    r = post_msg(base, t2, tb, f"what is the status of order {b_orders[0]}?")
    lock.wait()
    failed = r.has("error") or r.status >= 500
    check(kind, "setup: B's first message failed under the lock", failed, f"{r.status} {r.kinds()}")
    route_probe(kind, base, t2, "A", ta, "failed first message (memory only)", store, b_user, nonexist_tid=ghost)
    route_probe(kind, base, t2, "operator", op, "failed first message (memory only)", store, b_user, operator=True,
                nonexist_tid=ghost)
    r = call(base, "POST", f"/threads/{t2}/retry", tb)
    check(kind, "B's own retry after A's attempts answers B", r.status == 200 and r.has("reply")
          and b_orders[0] in r.text, f"{r.status} {r.text[:200]!r}")
    st, th = get_thread(base, t2, tb)
    check(kind, "thread is B's after the retry", st == 200 and th.get("customer_id") == b_user, f"{st} {th}"[:200])
    st, _ = get_thread(base, t2, ta)
    check(kind, "A still gets 404 after B's retry", st == 404, str(st))

    # (ii b) the same, but A acts first with a message (must not claim B's thread)
    t2b = "xb-mem2-" + uuid.uuid4().hex[:6]
    lock = hold_lock(srv.root / "checkpoints.db", 3.0)
    post_msg(base, t2b, tb, f"status of {b_orders[0]} please")
    lock.wait()
    a = post_msg(base, t2b, ta, f"status of {b_orders[0]} please")
    check(kind, "A's message into B's failed thread: 404, no B data", a.status == 404 and not leaked(a.text, b_secrets),
          f"{a.status} {a.text[:200]!r}")
    a = call(base, "POST", f"/threads/{t2b}/retry", ta)
    check(kind, "A's retry of B's failed message after A posted: 404", a.status == 404 and not leaked(a.text, b_secrets),
          f"{a.status} {a.text[:200]!r}")

    # (iii) while B's turn runs
    t3 = "xb-run-" + uuid.uuid4().hex[:6]
    post_msg(base, t3, tb, "hello")
    holder: dict = {}
    th_ = threading.Thread(target=lambda: holder.setdefault("a", post_msg(base, t3, tb, "status of my order SLOW8",
                                                                          timeout=40)))
    th_.start()
    time.sleep(1.0)
    a = post_msg(base, t3, op, "operator note")
    check(kind, "operator message while B's turn runs: 409", a.status == 409, f"{a.status}")
    route_probe(kind, base, t3, "A", ta, "while B's turn runs", store, b_user, nonexist_tid=ghost)
    check(kind, "B's turn was still running after the probes (timing)", th_.is_alive())
    th_.join()
    check(kind, "B's slow turn finished normally", holder["a"].status == 200 and holder["a"].has("done"),
          f"{holder['a'].status} {holder['a'].kinds()}")

    # (iv) new thread ids: A cannot create a thread with B's id after B's failure... and fresh ids for both
    t4 = "xb-new-" + uuid.uuid4().hex[:6]
    a = post_msg(base, t4, ta, "hello")
    b = post_msg(base, t4, tb, "hello")
    check(kind, "B posting into A's new thread: 404", a.status == 200 and b.status == 404, f"A {a.status} B {b.status}")
    # (v) case and encoding variants of B's thread id do not reach it
    for variant in (t1.upper(), t1 + "%20", t1 + ".", urllib.parse.quote(t1.replace("-", "%2D"), safe="%")):
        a = call(base, "GET", f"/threads/{variant}", ta)
        check(kind, f"A on a variant of B's thread id {variant!r}", a.status in (404, 422) and b_orders[0] not in a.text,
              f"{a.status} {a.text[:120]!r}")
    # (vi) a thread an operator started, identified as B by email: a customer cannot post into it
    (b_email,) = store.q("select email from users where user_id=?", b_user)[0]
    t6 = "xb-op-" + uuid.uuid4().hex[:6]
    post_msg(base, t6, op, f"hi, my email is {b_email}")
    post_msg(base, t6, op, f"what is the status of order {b_orders[0]}?")
    for who, tok in (("A", ta),):
        route_probe(kind, base, t6, who, tok, "operator-started thread about B", store, b_user, nonexist_tid=ghost)
    return t1, t2, t3, t2b


def probe_cross_after_restart(srv: Server, op, store, a_user, b_user, tids):
    """The same threads once only the checkpoint file remembers them."""
    kind = "wrong customer, every route"
    ta, tb = customer_token(a_user), customer_token(b_user)
    t2b = tids[-1]
    tids = tids[:-1]
    # B's failed first message (never retried) after a restart: the memory is gone; if A may now use the id,
    # nothing of B may come with it
    b_secrets = store.secrets_not_shared(b_user, a_user)
    a = post_msg(srv.url, t2b, ta, "hello, what is the status of my orders?")
    st, th = get_thread(srv.url, t2b, op)
    lk = leaked(a.text + json.dumps(th), b_secrets)
    check(kind, "B's failed first message after a restart: A's use of the id carries nothing of B",
          not lk and (a.status == 404 or th.get("customer_id") == a_user), f"{a.status} owner={th.get('customer_id')} "
          f"leak={lk}")
    ghost = "ghost-" + uuid.uuid4().hex[:8]
    for tid in tids:
        route_probe(kind, srv.url, tid, "A", ta, f"after restart (checkpoint file only) {tid[:8]}", store, b_user,
                    nonexist_tid=ghost)
        st, th = get_thread(srv.url, tid, tb)
        check(kind, f"after restart B still sees {tid[:8]}", st == 200 and th.get("customer_id") == b_user, str(st))


def probe_claim_only(ctx, srv: Server, op, store, a_user, b_user):
    """B's first turn is killed (kill -9) while the model answers: the thread exists only as a claim/lease
    (and maybe the input checkpoint); after restart it must still not exist for A."""
    kind = "wrong customer, every route"
    ta, tb = customer_token(a_user), customer_token(b_user)
    tid = "xb-claim-" + uuid.uuid4().hex[:6]
    t = threading.Thread(target=lambda: post_msg(srv.url, tid, tb, "status of my order SLOW5", timeout=20))
    t.start()
    time.sleep(1.0)
    srv.kill9()
    t.join()
    srv.start()
    route_probe(kind, srv.url, tid, "A", ta, "claimed by a killed first turn", store, b_user,
                nonexist_tid="ghost-" + uuid.uuid4().hex[:6])
    time.sleep(3.5)  # past the lease
    a = post_msg(srv.url, tid, ta, "hello, is this mine now?")
    check(kind, "claimed by a killed first turn: A's message after the lease expired is 404", a.status == 404,
          f"{a.status} {a.text[:160]!r}")
    b = post_msg(srv.url, tid, tb, "hello again")
    check(kind, "claimed by a killed first turn: B continues after restart", b.status == 200 and b.has("done"),
          f"{b.status} {b.kinds()}")


def run(ctx, srv, op, store, a_user, b_user, pend):
    """The live states, then the same threads after a restart (checkpoint file only), then a killed first turn."""
    tids = probe_cross(ctx, srv, op, store, a_user, b_user, pend[b_user])
    srv.stop()
    srv.start()
    probe_cross_after_restart(srv, op, store, a_user, b_user, tids)
    probe_claim_only(ctx, srv, op, store, a_user, b_user)
