"""Benchmark of the SQLite retail store (tools.RetailStore) on a real file.

Measures p50/p95 of a read tool (get_order_details) and of write tools
(modify_pending_order_address on pending orders, modify_user_address), and the time to
load and to dump the 1000-order dataset. Baseline, measured in the same run: the spec's
plain in-memory dict reference (tests/unit/retail_ref.Reference: dict lookups + json.dumps,
load = deepcopy, dump = json round trip). Prints ratios store/baseline and PASS/FAIL against
the targets: read p50 <= 1 ms, write p50 <= 3 ms, load <= 2 s.

Run: .venv/bin/python bench/store.py
"""

from __future__ import annotations

import copy
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.unit.retail_ref import Reference  # noqa: E402
from tools import RetailStore, for_task, run_tool  # noqa: E402
from tools.generator import generate_dataset  # noqa: E402

# The two writes measured: an order's address and a user's default address (names from the catalog).
WRITE_ORDER = for_task("modify_address").name
WRITE_USER = for_task("change_default_address").name

TARGETS = {"read_p50_ms": 1.0, "write_p50_ms": 3.0, "load_s": 2.0}


def load_data() -> tuple[dict, str]:
    env = os.environ.get("DESKGRAPH_TAU_DATA")
    folder = Path(env) if env else REPO.parent / "shared" / "data" / "tau-retail"
    if (folder / "orders.json").exists():
        return {n: json.loads((folder / f"{n}.json").read_text()) for n in ("users", "orders", "products")}, str(folder)
    return generate_dataset(customers=400, seed=0, orders=1000), "generated (400 users, 1000 orders)"


def timed(fn, calls) -> list[float]:
    out = []
    for args in calls:
        t = time.perf_counter()
        fn(args)
        out.append((time.perf_counter() - t) * 1000)
    return out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> int:
    data, source = load_data()
    print(f"dataset: {source}: {len(data['users'])} users, {len(data['orders'])} orders, "
          f"{len(data['products'])} products")
    rng = random.Random(0)
    order_ids = list(data["orders"])
    pending = [k for k, o in data["orders"].items() if o["status"] == "pending"]
    user_ids = list(data["users"])
    reads = [{"order_id": rng.choice(order_ids)} for _ in range(3000)]
    addr = {"address1": "1 Elm St", "address2": "", "city": "Austin", "state": "TX", "country": "USA", "zip": "73301"}
    writes_order = [dict(addr, order_id=rng.choice(pending)) for _ in range(1500)]
    writes_user = [dict(addr, user_id=rng.choice(user_ids)) for _ in range(1500)]

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = RetailStore.open(Path(tmp) / "store.db")
        loads = []
        for _ in range(3):
            t = time.perf_counter()
            store.load_json(data)
            loads.append(time.perf_counter() - t)
        dumps = []
        for _ in range(3):
            t = time.perf_counter()
            store.dump_json()
            dumps.append(time.perf_counter() - t)
        for a in reads[:200]:  # warm-up (statement cache, page cache)
            run_tool(store, "get_order_details", a)
        results["read"] = timed(lambda a: run_tool(store, "get_order_details", a), reads)
        results["write_order"] = timed(lambda a: run_tool(store, WRITE_ORDER, a), writes_order)
        results["write_user"] = timed(lambda a: run_tool(store, WRITE_USER, a), writes_user)
        assert run_tool(store, "get_order_details", reads[0]).startswith("{")
        store.close()

    # baseline: the dict reference with json.dumps
    base = {}
    t = time.perf_counter()
    ref = Reference(data)  # deepcopy
    base_load = time.perf_counter() - t
    t = time.perf_counter()
    json.loads(json.dumps(ref.data))
    base_dump = time.perf_counter() - t
    base["read"] = timed(lambda a: ref.call("get_order_details", a), reads)
    base["write_order"] = timed(lambda a: ref.call(WRITE_ORDER, copy.copy(a)), writes_order)
    base["write_user"] = timed(lambda a: ref.call(WRITE_USER, copy.copy(a)), writes_user)

    print("baseline: in-memory dict reference (json.dumps results; load = deepcopy, dump = json round trip)")
    print(f"{'measure':<42}{'store':>12}{'baseline':>12}{'ratio':>9}")
    rows = [
        ("load 1000-order dataset (s, median of 3)", statistics.median(loads), base_load),
        ("dump 1000-order dataset (s, median of 3)", statistics.median(dumps), base_dump),
    ]
    for key, label in [("read", "get_order_details"), ("write_order", WRITE_ORDER),
                       ("write_user", WRITE_USER)]:
        rows.append((f"{label} p50 (ms)", statistics.median(results[key]), statistics.median(base[key])))
        rows.append((f"{label} p95 (ms)", pct(results[key], 0.95), pct(base[key], 0.95)))
    for label, v, b in rows:
        print(f"{label:<42}{v:>12.4f}{b:>12.4f}{v / b if b else float('inf'):>8.1f}x")

    checks = [
        ("read p50 <= 1 ms", statistics.median(results["read"]) <= TARGETS["read_p50_ms"]),
        (f"write p50 <= 3 ms ({WRITE_ORDER})",
         statistics.median(results["write_order"]) <= TARGETS["write_p50_ms"]),
        (f"write p50 <= 3 ms ({WRITE_USER})",
         statistics.median(results["write_user"]) <= TARGETS["write_p50_ms"]),
        ("load <= 2 s", statistics.median(loads) <= TARGETS["load_s"]),
    ]
    for label, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
