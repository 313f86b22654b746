"""Cut the small tau-retail excerpt the tests use (tests/data/tau-retail) from a full copy of the dataset.

Usage: python scripts/cut_tau_excerpt.py SOURCE_DIR [--out tests/data/tau-retail] [--users 8]

SOURCE_DIR holds tau-bench's retail `users.json`, `orders.json`, `products.json` (MIT, Sierra). The excerpt
keeps whole records: the chosen users, every order of theirs, and exactly the products those orders reference,
each file in the source's key order, so it is itself a valid dataset that round-trips exactly. Users are
chosen deterministically, greedily: each next user is the one whose records add the most kinds not yet covered
(order statuses, payment sources, transaction types, an order with several items, a user without orders), ties
broken by the orders the user brings minus the products they add (many orders, small files), then by position
in the source. Run by hand when the excerpt should change; the tests
only read its output.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools import validate_dataset  # the store's own dataset check

REPO = Path(__file__).resolve().parent.parent


def _kinds(user: dict, orders: list[dict]) -> set[str]:
    kinds = {f"source:{m['source']}" for m in user["payment_methods"].values()}
    kinds |= {f"status:{o['status']}" for o in orders}
    kinds |= {f"txn:{t['transaction_type']}" for o in orders for t in o["payment_history"]}
    if any(len(o["items"]) > 1 for o in orders):
        kinds.add("several items")
    if not orders:
        kinds.add("no orders")
    return kinds


def cut(data: dict, n_users: int) -> dict:
    """The excerpt of `data`: `n_users` users with all their orders and the products those orders reference."""
    orders_of = {uid: [data["orders"][oid] for oid in u["orders"]] for uid, u in data["users"].items()}
    position = {uid: i for i, uid in enumerate(data["users"])}
    products_of = {uid: {i["product_id"] for o in os for i in o["items"]} for uid, os in orders_of.items()}
    chosen: list[str] = []
    covered: set[str] = set()
    products: set[str] = set()
    for _ in range(min(n_users, len(data["users"]))):
        best = max(
            (uid for uid in data["users"] if uid not in chosen),
            key=lambda uid: (
                len(_kinds(data["users"][uid], orders_of[uid]) - covered),
                len(orders_of[uid]) - len(products_of[uid] - products),
                -position[uid],
            ),
        )
        chosen.append(best)
        covered |= _kinds(data["users"][best], orders_of[best])
        products |= products_of[best]
    keep_users = set(chosen)
    orders = {oid: o for oid, o in data["orders"].items() if o["user_id"] in keep_users}
    product_ids = {i["product_id"] for o in orders.values() for i in o["items"]}
    return {
        "users": {uid: u for uid, u in data["users"].items() if uid in keep_users},
        "orders": orders,
        "products": {pid: p for pid, p in data["products"].items() if pid in product_ids},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder with the full users.json, orders.json, products.json")
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "data" / "tau-retail")
    parser.add_argument("--users", type=int, default=8)
    args = parser.parse_args()
    data = {n: json.loads((args.source / f"{n}.json").read_text(encoding="utf-8")) for n in ("users", "orders", "products")}
    excerpt = cut(data, args.users)
    validate_dataset(excerpt)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, records in excerpt.items():
        (args.out / f"{name}.json").write_text(json.dumps(records, indent=2) + "\n", encoding="utf-8")
    print(", ".join(f"{len(v)} {k}" for k, v in excerpt.items()), "->", args.out)


if __name__ == "__main__":
    main()
