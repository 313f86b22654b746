"""Black-box trust probe of deskgraph's HTTP service and web UI.

    nice -n 10 .venv/bin/python -m scripts.trust_probe [--only KIND,...] [--keep] [--schemathesis-examples N]
    (run from the checkout root; add --real-model for the embedded-model check)

Starts its own fake OpenAI-compatible model server, `deskgraph serve` (flows and agent dialogue) and
`deskgraph ui` processes on free loopback ports, with throwaway databases under a temp dir; drives them only
through HTTP (and SQLite files it created itself, to lock them or to check the store afterwards). Prints a
summary table (check kind, cases, held) and every failure; exits 1 if any check failed.

Nothing here reads the product's source: the expectations are the README's.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from . import concurrency, cross_customer
from .abusive_inputs import probe_abuse
from .fake_model import FakeModel
from .hosts import probe_api_hosts
from .kill_restart import KILL_POINTS, probe_kill
from .log_masking import probe_masking_logs, probe_masking_traffic
from .model_faults import probe_faults
from .real_model import probe_real_model
from .schemathesis_run import probe_schemathesis
from .servers import Ctx
from .shared import INFO, RESULTS, Result, Store, check, customer_token
from .tokens import probe_tokens
from .web_ui import probe_ui


def summary():
    """Print the table by check kind, the observations and every failure; True if nothing failed."""
    kinds: dict[str, list[Result]] = {}
    for r in RESULTS:
        kinds.setdefault(r.kind, []).append(r)
    w = max(len(k) for k in kinds) if kinds else 10
    print("\n" + "check kind".ljust(w) + " | cases | held | failed")
    print("-" * w + "-|-------|------|-------")
    for k, rs in kinds.items():
        held = sum(r.ok for r in rs)
        print(f"{k.ljust(w)} | {len(rs):5d} | {held:4d} | {len(rs) - held:6d}")
    total, held = len(RESULTS), sum(r.ok for r in RESULTS)
    print(f"{'TOTAL'.ljust(w)} | {total:5d} | {held:4d} | {total - held:6d}")
    for line in INFO:
        print(f"info: {line}")
    fails = [r for r in RESULTS if not r.ok]
    if fails:
        print("\nFAILURES:")
        for r in fails:
            print(f"- [{r.kind}] {r.case}: {r.detail[:700]}")
    return not fails


def guarded(kind, fn, servers=()) -> None:
    """Run a section; a crash is one failed check of its kind, and a server it took down is started again so
    the sections after it still test the product rather than a dead port."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        check(kind, "section crashed", False, f"{e!r} {traceback.format_exc()[-1200:]}")
        with contextlib.suppress(Exception):
            for s in servers:
                s.restart_if_dead()


def parse_args():
    ap = argparse.ArgumentParser(prog="python -m scripts.trust_probe", description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="", help="comma-separated sections: tokens,hosts,cross,abuse,concurrency,"
                    "kill,faults,masking,ui,schemathesis,real")
    ap.add_argument("--real-model", action="store_true", help="also reproduce the retry leak on the embedded model")
    ap.add_argument("--schemathesis-examples", type=int, default=40)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    return ap.parse_args()


def main() -> int:
    args = parse_args()
    only = set(filter(None, args.only.split(",")))

    def want(section):
        return not only or section in only

    tmp = Path(tempfile.mkdtemp(prefix="deskgraph-probe-"))
    fake = FakeModel()
    ctx = Ctx(tmp, fake)
    t0 = time.time()
    print(f"probe dir {tmp}; fake model {fake.base_url}", flush=True)
    try:
        root, env, op = ctx.make_root("flows")
        ctx.flows_env = env
        srv = ctx.server("serve-flows", root, env)
        store = Store(root / "store.db")
        pend = store.pending_by_user()
        # customers with a pending order: A and B for the cross-customer checks, the rest one each for the
        # writes of the concurrency and kill checks, so no check finds an order another one already cancelled
        multi = [u for u, os_ in pend.items() if len(os_) >= 1]
        a_user, b_user = multi[0], multi[1]
        others = [(u, pend[u][-1]) for u in multi[2:]]
        aroot, aenv, aop = ctx.make_root("agent")
        aenv["DESKGRAPH_DIALOGUE"] = "agent"
        asrv = ctx.server("serve-agent", aroot, aenv)
        astore = Store(aroot / "store.db")
        apend = astore.pending_by_user()
        aus = [u for u in apend]
        sections = [
            ("tokens", lambda: probe_tokens(ctx, srv.url, op, store, [a_user, b_user])),
            ("hosts", lambda: probe_api_hosts(srv.url, op)),
            ("cross", lambda: cross_customer.run(ctx, srv, op, store, a_user, b_user, pend)),
            ("abuse", lambda: (probe_abuse("flows", srv.url, op, store, a_user, b_user),
                               probe_abuse("agent", asrv.url, aop, astore, aus[0], aus[1]))),
            ("faults", lambda: (probe_faults("flows", srv.url, op, store, a_user, b_user),
                                probe_faults("agent", asrv.url, aop, astore, aus[0], aus[1]))),
            ("masking", lambda: (probe_masking_traffic(srv.url, op, a_user),
                                 probe_masking_traffic(asrv.url, aop, aus[0]))),
            ("concurrency", lambda: concurrency.run(ctx, root, env, srv, op, store, others[:3])),
            ("kill", lambda: probe_kill(ctx, srv, op, store, others[3:3 + len(KILL_POINTS)], asrv, astore,
                                        [(u, apend[u][0]) for u in aus[2:4]])),
            ("ui", lambda: probe_ui(ctx, root, env)),
            ("schemathesis", lambda: (probe_schemathesis(srv.url, op, "operator", tmp, args.schemathesis_examples, op),
                                      probe_schemathesis(srv.url, customer_token(a_user), "customer", tmp,
                                                         args.schemathesis_examples, op))),
        ]
        for name, fn in sections:
            if not want(name):
                continue
            s0 = time.time()
            print(f"== {name}", flush=True)
            guarded(name, fn, (srv, asrv))
            print(f"   {name}: {time.time() - s0:.0f}s", flush=True)
        if want("masking"):
            # the logs are read only after every server has stopped, so the last lines are flushed
            for s in ctx.servers:
                s.stop()
            probe_masking_logs(sorted(tmp.glob("*/*.log")))
        if args.real_model or "real" in only:
            print("== real model", flush=True)
            guarded("real model: retry leak", lambda: probe_real_model(ctx))
    finally:
        ctx.stop_all()
        fake.stop()
        ok = summary()
        print(f"\nelapsed {time.time() - t0:.0f}s; logs in {tmp}" + ("" if args.keep else " (removed)"))
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
