"""The retry leak of the earlier probe, re-run once on the embedded model (only with --real-model):
the fake model cannot show what a real one would repeat from another customer's turn."""

from __future__ import annotations

import json
import subprocess
import uuid

import httpx

from .servers import base_env, cli, free_port, stop_group, wait_for_http
from .shared import (
    DESKGRAPH,
    Store,
    call,
    check,
    customer_token,
    hold_lock,
    post_msg,
)


def probe_real_model(ctx):
    """The retry leak once on the embedded model: one short conversation."""
    kind = "real model: retry leak"
    root = ctx.tmp / "real"
    root.mkdir()
    mport = free_port()
    env = base_env(root, ctx.fake)
    cli(env, "data", "seed", "--customers", "20", "--db", str(root / "store.db"))
    model_log = open(root / "model.log", "ab")  # noqa: SIM115
    mp = subprocess.Popen([DESKGRAPH, "model", "serve", "--port", str(mport)], env=env, cwd=root, stdout=model_log,
                          stderr=model_log, start_new_session=True)
    try:
        models = f"http://127.0.0.1:{mport}/v1/models"
        # loading the model takes minutes; only its exit is an error here, a slow start fails at the next request
        if (wait_for_http(mp, models, lambda status: status == 200, 300, 2, 2) or "").startswith("exited"):
            raise RuntimeError("model server exited")
        mid = httpx.get(models, timeout=5).json()["data"][0]["id"]
        env.update(DESKGRAPH_LLM_BASE_URL=f"http://127.0.0.1:{mport}/v1", DESKGRAPH_LLM_MODEL=mid,
                   DESKGRAPH_LLM_TIMEOUT="120", DESKGRAPH_LLM_CONTEXT_TOKENS="8192")
        srv = ctx.server("serve-real", root, env)
        store = Store(root / "store.db")
        pend = store.pending_by_user()
        a_user, b_user = [u for u in pend][:2]
        ob = pend[b_user][0]
        ta, tb = customer_token(a_user), customer_token(b_user)
        tid = "real-" + uuid.uuid4().hex[:6]
        lock = hold_lock(root / "checkpoints.db", 3.0)
        r1 = post_msg(srv.url, tid, tb, f"Hi, what is the status of my order {ob}?", timeout=200)
        lock.wait()
        transcript = [("B POST messages (checkpoint file locked)", r1.status, r1.text[:300])]
        ra = call(srv.url, "POST", f"/threads/{tid}/retry", ta, timeout=200)
        transcript.append(("A POST retry", ra.status, ra.text[:300]))
        ga = call(srv.url, "GET", f"/threads/{tid}", ta)
        transcript.append(("A GET thread", ga.status, ga.text[:200]))
        rb = call(srv.url, "POST", f"/threads/{tid}/retry", tb, timeout=200)
        transcript.append(("B POST retry", rb.status, rb.text[:600]))
        (root / "transcript.json").write_text(json.dumps(transcript, indent=1))
        check(kind, "B's first message failed under the lock", r1.has("error"), str(r1.kinds()))
        check(kind, "A's retry of B's thread: 404, nothing of B", ra.status == 404 and ob not in ra.text,
              f"{ra.status} {ra.text[:200]!r}")
        check(kind, "A cannot read it either", ga.status == 404, f"{ga.status}")
        check(kind, "B's retry answers B on the real model", rb.status == 200 and rb.has("reply") and ob in rb.text,
              f"{rb.status} {rb.text[:300]!r}")
        print("  real-model transcript:", json.dumps(transcript, indent=1)[:3000])
        srv.stop()
    finally:
        stop_group(mp, 20)
