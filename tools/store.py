"""The retail store (spec retail-domain.md §1, §2) on SQLite through sqlite-utils.

Storage layout (spec §1.9):
- every collection has an explicit ordinal `ord` (seed position) and every list element a
  `pos` (array index); "first match" lookups and the export follow them;
- the money columns (`price`, `amount`, `balance`, `exchange_price_difference`) are `ANY` in
  STRICT tables, so a bound Python int stays an INTEGER and a float stays a REAL (bit-exact,
  -0.0 included); all arithmetic happens in Python, in the spec's order;
- optional order fields are nullable columns, NULL meaning "key absent"; list-valued ones
  hold JSON text (`'[]'` is distinct from NULL);
- string→string objects (`options`) and the string arrays of fulfillments are JSON text:
  they hold only strings, so JSON keeps their order and values exactly;
- addresses are columns plus `addr_replaced`, which selects the key order on export
  (seed order, or the §2.10 order of a replaced address);
- ids are TEXT primary keys compared with `=` (BINARY collation, case-sensitive).

Each tool call runs as one transaction (`BEGIN IMMEDIATE`): every check runs before the
first write, and any exception rolls everything back.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from tools.validate import ADDRESS_KEYS_REPLACED, validate_dataset

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY, ord INTEGER NOT NULL,
    first_name TEXT NOT NULL, last_name TEXT NOT NULL, email TEXT NOT NULL,
    address1 TEXT NOT NULL, address2 TEXT NOT NULL, city TEXT NOT NULL, country TEXT NOT NULL,
    state TEXT NOT NULL, zip TEXT NOT NULL, addr_replaced INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS users_ord ON users(ord);
CREATE INDEX IF NOT EXISTS users_zip ON users(zip);
CREATE TABLE IF NOT EXISTS payment_methods (
    user_id TEXT NOT NULL, pos INTEGER NOT NULL, id TEXT NOT NULL, source TEXT NOT NULL,
    brand TEXT, last_four TEXT, balance ANY,
    PRIMARY KEY (user_id, id)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS user_orders (
    user_id TEXT NOT NULL, pos INTEGER NOT NULL, order_id TEXT NOT NULL,
    PRIMARY KEY (user_id, pos)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY, ord INTEGER NOT NULL, user_id TEXT NOT NULL,
    address1 TEXT NOT NULL, address2 TEXT NOT NULL, city TEXT NOT NULL, country TEXT NOT NULL,
    state TEXT NOT NULL, zip TEXT NOT NULL, addr_replaced INTEGER NOT NULL,
    status TEXT NOT NULL,
    cancel_reason TEXT, return_items TEXT, return_payment_method_id TEXT,
    exchange_items TEXT, exchange_new_items TEXT, exchange_payment_method_id TEXT,
    exchange_price_difference ANY
) STRICT;
CREATE INDEX IF NOT EXISTS orders_ord ON orders(ord);
CREATE INDEX IF NOT EXISTS orders_user ON orders(user_id);
CREATE TABLE IF NOT EXISTS order_items (
    order_id TEXT NOT NULL, pos INTEGER NOT NULL, name TEXT NOT NULL, product_id TEXT NOT NULL,
    item_id TEXT NOT NULL, price ANY NOT NULL, options TEXT NOT NULL,
    PRIMARY KEY (order_id, pos)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fulfillments (
    order_id TEXT NOT NULL, pos INTEGER NOT NULL, tracking_id TEXT NOT NULL, item_ids TEXT NOT NULL,
    PRIMARY KEY (order_id, pos)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS payment_history (
    order_id TEXT NOT NULL, pos INTEGER NOT NULL, transaction_type TEXT NOT NULL,
    amount ANY NOT NULL, payment_method_id TEXT NOT NULL,
    PRIMARY KEY (order_id, pos)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS products (
    product_id TEXT PRIMARY KEY, ord INTEGER NOT NULL, name TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS products_ord ON products(ord);
CREATE TABLE IF NOT EXISTS variants (
    product_id TEXT NOT NULL, pos INTEGER NOT NULL, item_id TEXT NOT NULL, options TEXT NOT NULL,
    available INTEGER NOT NULL, price ANY NOT NULL,
    PRIMARY KEY (product_id, item_id)
) STRICT, WITHOUT ROWID;
"""

#: The tables this module owns (load_json replaces exactly these; others, e.g. tickets, are left alone).
OWN_TABLES = (
    "users",
    "payment_methods",
    "user_orders",
    "orders",
    "order_items",
    "fulfillments",
    "payment_history",
    "products",
    "variants",
)

_ORDER_COLS = (
    "order_id, user_id, address1, address2, city, country, state, zip, addr_replaced, status, "
    "cancel_reason, return_items, return_payment_method_id, exchange_items, exchange_new_items, "
    "exchange_payment_method_id, exchange_price_difference"
)
_USER_COLS = "first_name, last_name, email, address1, address2, city, country, state, zip, addr_replaced"

CANCEL_REASONS = ("no longer needed", "ordered by mistake")
_dumps = json.dumps
_loads = json.loads


class ToolError(Exception):
    """A tool failure of spec §2; `str(e)` is the text after `Error: `."""


def round2(x: int | float) -> int | float:
    """The reference's rounding: Python's round(x, 2); ints stay ints (spec §0)."""
    return round(x, 2)


def _address(r: tuple, replaced: int) -> dict:
    # r = (address1, address2, city, country, state, zip)
    if replaced:
        return {"address1": r[0], "address2": r[1], "city": r[2], "state": r[4], "country": r[3], "zip": r[5]}
    return {"address1": r[0], "address2": r[1], "city": r[2], "country": r[3], "state": r[4], "zip": r[5]}


def _pm_record(source: str, mid: str, brand: Any, last_four: Any, balance: Any) -> dict:
    if source == "credit_card":
        return {"source": source, "brand": brand, "last_four": last_four, "id": mid}
    if source == "gift_card":
        return {"source": source, "balance": balance, "id": mid}
    return {"source": source, "id": mid}


def _order_record(row: tuple, items: list, fulfillments: list, history: list) -> dict:
    rec = {
        "order_id": row[0],
        "user_id": row[1],
        "address": _address(row[2:8], row[8]),
        "items": items,
        "fulfillments": fulfillments,
        "status": row[9],
        "payment_history": history,
    }
    if row[10] is not None:
        rec["cancel_reason"] = row[10]
    if row[11] is not None:
        rec["return_items"] = _loads(row[11])
    if row[12] is not None:
        rec["return_payment_method_id"] = row[12]
    if row[13] is not None:
        rec["exchange_items"] = _loads(row[13])
    if row[14] is not None:
        rec["exchange_new_items"] = _loads(row[14])
    if row[15] is not None:
        rec["exchange_payment_method_id"] = row[15]
    if row[16] is not None:
        rec["exchange_price_difference"] = row[16]
    return rec


def _count_check(item_ids: list[str], all_item_ids: list[str]) -> str | None:
    """CountCheck (spec §2.0): the first id asked for more often than the order holds it."""
    for item_id in item_ids:
        if item_ids.count(item_id) > all_item_ids.count(item_id):
            return item_id
    return None


class RetailStore:
    """The retail data in one SQLite file; thread-safe (one connection behind an RLock)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self._depth = 0
        self.db = sqlite_utils.Database(conn)

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, path: str | Path = ":memory:", *, busy_timeout_ms: int = 5000) -> RetailStore:
        """Open (creating the file and schema when missing) the store at `path`."""
        path = str(path)
        if path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves (one transaction per tool call).
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, cached_statements=256)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            # In WAL mode synchronous=NORMAL never corrupts the database; a commit becomes
            # durable at the next checkpoint (a power cut may lose only the last commits).
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = OFF")
        store = cls(conn)
        with store.transaction():
            # (executescript would COMMIT our transaction: run the statements one by one)
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    conn.execute(stmt)
            if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return store

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> RetailStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT, ROLLBACK on any exception).

        Nested use becomes a SAVEPOINT. Inside, use `store.db.execute(...)` / the yielded
        connection; do not call sqlite-utils helpers that commit on their own (`insert_all`).
        """
        with self._lock:
            conn = self._conn
            if self._depth == 0:
                conn.execute("BEGIN IMMEDIATE")
                self._depth = 1
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                else:
                    conn.execute("COMMIT")
                finally:
                    self._depth = 0
            else:
                name = f"sp{self._depth}"
                conn.execute(f"SAVEPOINT {name}")
                self._depth += 1
                try:
                    yield conn
                except BaseException:
                    conn.execute(f"ROLLBACK TO {name}")
                    conn.execute(f"RELEASE {name}")
                    raise
                else:
                    conn.execute(f"RELEASE {name}")
                finally:
                    self._depth -= 1

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for a multi-query read (a deferred transaction)."""
        with self._lock:
            conn = self._conn
            if self._depth:
                yield conn
                return
            conn.execute("BEGIN")
            self._depth = 1
            try:
                yield conn
            finally:
                self._depth = 0
                conn.execute("COMMIT")

    # ------------------------------------------------------------------ load / dump
    def load_json(self, data: dict) -> None:
        """Replace all retail data with `data` ({"users", "orders", "products"}), in one transaction.

        Raises `tools.validate.DatasetError` (nothing written) when the shape is wrong.
        """
        validate_dataset(data)
        users_rows, pm_rows, uo_rows = [], [], []
        for n, (uid, u) in enumerate(data["users"].items()):
            a = u["address"]
            users_rows.append(
                (uid, n, u["name"]["first_name"], u["name"]["last_name"], u["email"],
                 a["address1"], a["address2"], a["city"], a["country"], a["state"], a["zip"],
                 1 if tuple(a) == ADDRESS_KEYS_REPLACED else 0)
            )
            for p, (mid, m) in enumerate(u["payment_methods"].items()):
                pm_rows.append((uid, p, mid, m["source"], m.get("brand"), m.get("last_four"), m.get("balance")))
            for p, oid in enumerate(u["orders"]):
                uo_rows.append((uid, p, oid))
        order_rows, item_rows, ful_rows, hist_rows = [], [], [], []
        for n, (oid, o) in enumerate(data["orders"].items()):
            a = o["address"]
            order_rows.append(
                (oid, n, o["user_id"], a["address1"], a["address2"], a["city"], a["country"], a["state"],
                 a["zip"], 1 if tuple(a) == ADDRESS_KEYS_REPLACED else 0, o["status"],
                 o.get("cancel_reason"),
                 _dumps(o["return_items"]) if "return_items" in o else None,
                 o.get("return_payment_method_id"),
                 _dumps(o["exchange_items"]) if "exchange_items" in o else None,
                 _dumps(o["exchange_new_items"]) if "exchange_new_items" in o else None,
                 o.get("exchange_payment_method_id"),
                 o.get("exchange_price_difference"))
            )
            for p, it in enumerate(o["items"]):
                item_rows.append((oid, p, it["name"], it["product_id"], it["item_id"], it["price"],
                                  _dumps(it["options"])))
            for p, f in enumerate(o["fulfillments"]):
                ful_rows.append((oid, p, _dumps(f["tracking_id"]), _dumps(f["item_ids"])))
            for p, t in enumerate(o["payment_history"]):
                hist_rows.append((oid, p, t["transaction_type"], t["amount"], t["payment_method_id"]))
        prod_rows, var_rows = [], []
        for n, (pid, pr) in enumerate(data["products"].items()):
            prod_rows.append((pid, n, pr["name"]))
            for p, (iid, v) in enumerate(pr["variants"].items()):
                var_rows.append((pid, p, iid, _dumps(v["options"]), 1 if v["available"] else 0, v["price"]))
        with self.transaction() as conn:
            for t in OWN_TABLES:
                conn.execute(f"DELETE FROM {t}")
            conn.executemany("INSERT INTO users VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", users_rows)
            conn.executemany("INSERT INTO payment_methods VALUES (?,?,?,?,?,?,?)", pm_rows)
            conn.executemany("INSERT INTO user_orders VALUES (?,?,?)", uo_rows)
            conn.executemany(f"INSERT INTO orders VALUES ({','.join('?' * 18)})", order_rows)
            conn.executemany("INSERT INTO order_items VALUES (?,?,?,?,?,?,?)", item_rows)
            conn.executemany("INSERT INTO fulfillments VALUES (?,?,?,?)", ful_rows)
            conn.executemany("INSERT INTO payment_history VALUES (?,?,?,?,?)", hist_rows)
            conn.executemany("INSERT INTO products VALUES (?,?,?)", prod_rows)
            conn.executemany("INSERT INTO variants VALUES (?,?,?,?,?,?)", var_rows)

    def dump_json(self) -> dict:
        """All three collections in the JSON shape of spec §1 (exact types and key order)."""
        with self._read() as conn:
            pms: dict[str, list] = {}
            for uid, mid, source, brand, last_four, balance in conn.execute(
                "SELECT user_id, id, source, brand, last_four, balance FROM payment_methods ORDER BY user_id, pos"
            ):
                pms.setdefault(uid, []).append((mid, _pm_record(source, mid, brand, last_four, balance)))
            uorders: dict[str, list] = {}
            for uid, oid in conn.execute("SELECT user_id, order_id FROM user_orders ORDER BY user_id, pos"):
                uorders.setdefault(uid, []).append(oid)
            users = {}
            for row in conn.execute(f"SELECT user_id, {_USER_COLS} FROM users ORDER BY ord"):
                uid = row[0]
                users[uid] = {
                    "name": {"first_name": row[1], "last_name": row[2]},
                    "address": _address(row[4:10], row[10]),
                    "email": row[3],
                    "payment_methods": dict(pms.get(uid, ())),
                    "orders": uorders.get(uid, []),
                }
            items: dict[str, list] = {}
            for oid, name, pid, iid, price, options in conn.execute(
                "SELECT order_id, name, product_id, item_id, price, options FROM order_items ORDER BY order_id, pos"
            ):
                items.setdefault(oid, []).append(
                    {"name": name, "product_id": pid, "item_id": iid, "price": price, "options": _loads(options)}
                )
            fuls: dict[str, list] = {}
            for oid, tr, ii in conn.execute(
                "SELECT order_id, tracking_id, item_ids FROM fulfillments ORDER BY order_id, pos"
            ):
                fuls.setdefault(oid, []).append({"tracking_id": _loads(tr), "item_ids": _loads(ii)})
            hist: dict[str, list] = {}
            for oid, tt, amount, pm in conn.execute(
                "SELECT order_id, transaction_type, amount, payment_method_id FROM payment_history "
                "ORDER BY order_id, pos"
            ):
                hist.setdefault(oid, []).append(
                    {"transaction_type": tt, "amount": amount, "payment_method_id": pm}
                )
            orders = {}
            for row in conn.execute(f"SELECT {_ORDER_COLS} FROM orders ORDER BY ord"):
                oid = row[0]
                orders[oid] = _order_record(row, items.get(oid, []), fuls.get(oid, []), hist.get(oid, []))
            variants: dict[str, list] = {}
            for pid, iid, options, available, price in conn.execute(
                "SELECT product_id, item_id, options, available, price FROM variants ORDER BY product_id, pos"
            ):
                variants.setdefault(pid, []).append(
                    (iid, {"item_id": iid, "options": _loads(options), "available": bool(available), "price": price})
                )
            products = {
                pid: {"name": name, "product_id": pid, "variants": dict(variants.get(pid, ()))}
                for pid, name in conn.execute("SELECT product_id, name FROM products ORDER BY ord")
            }
        return {"users": users, "orders": orders, "products": products}

    # ------------------------------------------------------------------ helpers for other layers
    def order_owner(self, order_id: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT user_id FROM orders WHERE order_id = ?", (order_id,)).fetchone()
        return row[0] if row else None

    def user_order_ids(self, user_id: str) -> list[str]:
        with self._lock:
            return [
                r[0]
                for r in self._conn.execute(
                    "SELECT order_id FROM user_orders WHERE user_id = ? ORDER BY pos", (user_id,)
                )
            ]

    def user_exists(self, user_id: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone() is not None

    def counts(self) -> dict[str, int]:
        with self._read() as conn:
            return {
                t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("users", "orders", "products")
            }

    def order_record(self, order_id: str) -> dict | None:
        """The order as get_order_details returns it, as a dict (for code that reasons over it), or None."""
        with self._read():
            row = self._order_row(order_id)
            return self._order_json(row) if row is not None else None

    def user_record(self, user_id: str) -> dict | None:
        """The user's profile as get_user_details returns it, as a dict, or None."""
        with self._read():
            return self._user_json(user_id)

    def product_record(self, product_id: str) -> dict | None:
        """The product with its variants as get_product_details returns it, as a dict, or None."""
        with self._read() as conn:
            row = conn.execute("SELECT name FROM products WHERE product_id = ?", (product_id,)).fetchone()
            if row is None:
                return None
            variants = {
                iid: {"item_id": iid, "options": _loads(o), "available": bool(a), "price": p}
                for iid, o, a, p in conn.execute(
                    "SELECT item_id, options, available, price FROM variants WHERE product_id = ? ORDER BY pos",
                    (product_id,),
                )
            }
        return {"name": row[0], "product_id": product_id, "variants": variants}

    def product_ids_by_name(self) -> dict[str, str]:
        """Product type name -> product id."""
        with self._lock:
            return {name: pid for name, pid in self._conn.execute("SELECT name, product_id FROM products ORDER BY ord")}

    # ------------------------------------------------------------------ record readers
    def _order_row(self, order_id: str) -> tuple | None:
        return self._conn.execute(f"SELECT {_ORDER_COLS} FROM orders WHERE order_id = ?", (order_id,)).fetchone()

    def _order_in_status(self, order_id: str, status: str, refusal: str) -> tuple:
        """The order's row, after the checks every write tool starts with (spec §2: not found, then status)."""
        row = self._order_row(order_id)
        if row is None:
            raise ToolError("order not found")
        if row[9] != status:
            raise ToolError(refusal)
        return row

    def _items(self, order_id: str) -> list[tuple]:
        """(pos, name, product_id, item_id, price, options_json) in order."""
        return self._conn.execute(
            "SELECT pos, name, product_id, item_id, price, options FROM order_items WHERE order_id = ? ORDER BY pos",
            (order_id,),
        ).fetchall()

    def _history(self, order_id: str) -> list[tuple]:
        """(transaction_type, amount, payment_method_id) in order."""
        return self._conn.execute(
            "SELECT transaction_type, amount, payment_method_id FROM payment_history WHERE order_id = ? ORDER BY pos",
            (order_id,),
        ).fetchall()

    def _order_json(self, row: tuple) -> dict:
        conn = self._conn
        oid = row[0]
        items = [
            {"name": r[1], "product_id": r[2], "item_id": r[3], "price": r[4], "options": _loads(r[5])}
            for r in self._items(oid)
        ]
        fuls = [
            {"tracking_id": _loads(tr), "item_ids": _loads(ii)}
            for tr, ii in conn.execute(
                "SELECT tracking_id, item_ids FROM fulfillments WHERE order_id = ? ORDER BY pos", (oid,)
            )
        ]
        hist = [
            {"transaction_type": t, "amount": a, "payment_method_id": p} for t, a, p in self._history(oid)
        ]
        return _order_record(row, items, fuls, hist)

    def _order_text(self, order_id: str) -> str:
        return _dumps(self._order_json(self._order_row(order_id)))

    def _user_json(self, user_id: str) -> dict | None:
        conn = self._conn
        row = conn.execute(f"SELECT {_USER_COLS} FROM users WHERE user_id = ?", (user_id,)).fetchone()
        if row is None:
            return None
        pms = {
            mid: _pm_record(source, mid, brand, last_four, balance)
            for mid, source, brand, last_four, balance in conn.execute(
                "SELECT id, source, brand, last_four, balance FROM payment_methods WHERE user_id = ? ORDER BY pos",
                (user_id,),
            )
        }
        return {
            "name": {"first_name": row[0], "last_name": row[1]},
            "address": _address(row[3:9], row[9]),
            "email": row[2],
            "payment_methods": pms,
            "orders": self.user_order_ids(user_id),
        }

    def _pm(self, user_id: str, pm_id: str) -> tuple | None:
        """(source, balance) of one of the user's payment methods, or None."""
        return self._conn.execute(
            "SELECT source, balance FROM payment_methods WHERE user_id = ? AND id = ?", (user_id, pm_id)
        ).fetchone()

    def _variant(self, product_id: str, item_id: str) -> tuple | None:
        """(options_json, available, price) of a catalogue variant, or None."""
        return self._conn.execute(
            "SELECT options, available, price FROM variants WHERE product_id = ? AND item_id = ?",
            (product_id, item_id),
        ).fetchone()

    def _set_balance(self, user_id: str, pm_id: str, balance: int | float) -> None:
        self._conn.execute(
            "UPDATE payment_methods SET balance = ? WHERE user_id = ? AND id = ?", (balance, user_id, pm_id)
        )

    def _append_history(self, order_id: str, start: int, entries: list[tuple]) -> None:
        self._conn.executemany(
            "INSERT INTO payment_history VALUES (?,?,?,?,?)",
            [(order_id, start + k, t, a, p) for k, (t, a, p) in enumerate(entries)],
        )

    # ------------------------------------------------------------------ read tools
    def find_user_id_by_email(self, email: str) -> str:
        with self._lock:
            target = email.lower()
            for uid, e in self._conn.execute("SELECT user_id, email FROM users ORDER BY ord"):
                if e.lower() == target:
                    return uid
        raise ToolError("user not found")

    def find_user_id_by_name_zip(self, first_name: str, last_name: str, zip: str) -> str:
        with self._lock:
            fn, ln = first_name.lower(), last_name.lower()
            for uid, f, last in self._conn.execute(
                "SELECT user_id, first_name, last_name FROM users WHERE zip = ? ORDER BY ord", (zip,)
            ):
                if f.lower() == fn and last.lower() == ln:
                    return uid
        raise ToolError("user not found")

    def get_order_details(self, order_id: str) -> str:
        with self._read():
            row = self._order_row(order_id)
            if row is None:
                raise ToolError("order not found")
            return _dumps(self._order_json(row))

    def get_product_details(self, product_id: str) -> str:
        record = self.product_record(product_id)
        if record is None:
            raise ToolError("product not found")
        return _dumps(record)

    def get_user_details(self, user_id: str) -> str:
        with self._read():
            rec = self._user_json(user_id)
        if rec is None:
            raise ToolError("user not found")
        return _dumps(rec)

    def list_all_product_types(self) -> str:
        with self._lock:
            d = {name: pid for name, pid in self._conn.execute("SELECT name, product_id FROM products ORDER BY ord")}
        return _dumps(dict(sorted(d.items())))

    # ------------------------------------------------------------------ write tools
    def cancel_pending_order(self, order_id: str, reason: str) -> str:
        with self.transaction() as conn:
            row = self._order_in_status(order_id, "pending", "non-pending order cannot be cancelled")
            if reason not in CANCEL_REASONS:
                raise ToolError("invalid reason")
            owner = row[1]
            history = self._history(order_id)
            refunds = []
            balances: dict[str, Any] = {}
            for _t, amount, pm_id in history:
                refunds.append(("refund", amount, pm_id))
                if "gift_card" in pm_id:
                    if pm_id not in balances:
                        pm = self._pm(owner, pm_id)
                        if pm is None:
                            raise KeyError(pm_id)
                        if pm[1] is None:
                            raise KeyError("balance")
                        balances[pm_id] = pm[1]
                    balances[pm_id] = round2(balances[pm_id] + amount)
            # --- all checks done: mutate
            for pm_id, bal in balances.items():
                self._set_balance(owner, pm_id, bal)
            conn.execute(
                "UPDATE orders SET status = 'cancelled', cancel_reason = ? WHERE order_id = ?", (reason, order_id)
            )
            self._append_history(order_id, len(history), refunds)
            return self._order_text(order_id)

    def _item_diff(self, row: tuple, item_ids: list[str], new_item_ids: list[str]) -> tuple[Any, list, dict]:
        """Checks 3–5 of §2.3/§2.11. Returns (unrounded diff, items, {new_item_id: variant})."""
        items = self._items(row[0])
        missing = _count_check(item_ids, [r[3] for r in items])
        if missing is not None:
            raise ToolError(f"{missing} not found")
        if len(item_ids) != len(new_item_ids):
            raise ToolError("the number of items to be exchanged should match")
        diff: int | float = 0
        variants: dict[tuple[str, str], tuple] = {}
        for item_id, new_item_id in zip(item_ids, new_item_ids, strict=True):
            old = next(r for r in items if r[3] == item_id)
            product_id = old[2]
            if self._conn.execute("SELECT 1 FROM products WHERE product_id = ?", (product_id,)).fetchone() is None:
                raise KeyError(product_id)
            v = self._variant(product_id, new_item_id)
            if v is None or not v[1]:
                raise ToolError(f"new item {new_item_id} not found or available")
            variants[(product_id, new_item_id)] = v
            diff += v[2] - old[4]
        return diff, items, variants

    def exchange_delivered_order_items(
        self, order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str
    ) -> str:
        with self.transaction() as conn:
            row = self._order_in_status(order_id, "delivered", "non-delivered order cannot be exchanged")
            diff, _items, _v = self._item_diff(row, item_ids, new_item_ids)
            diff = round2(diff)
            pm = self._pm(row[1], payment_method_id)
            if pm is None:
                raise ToolError("payment method not found")
            if pm[0] == "gift_card" and pm[1] < diff:
                raise ToolError("insufficient gift card balance to pay for the price difference")
            conn.execute(
                "UPDATE orders SET status = 'exchange requested', exchange_items = ?, exchange_new_items = ?, "
                "exchange_payment_method_id = ?, exchange_price_difference = ? WHERE order_id = ?",
                (_dumps(sorted(item_ids)), _dumps(sorted(new_item_ids)), payment_method_id, diff, order_id),
            )
            return self._order_text(order_id)

    def modify_pending_order_address(
        self, order_id: str, address1: str, address2: str, city: str, state: str, country: str, zip: str
    ) -> str:
        with self.transaction() as conn:
            self._order_in_status(order_id, "pending", "non-pending order cannot be modified")
            conn.execute(
                "UPDATE orders SET address1 = ?, address2 = ?, city = ?, state = ?, country = ?, zip = ?, "
                "addr_replaced = 1 WHERE order_id = ?",
                (address1, address2, city, state, country, zip, order_id),
            )
            return self._order_text(order_id)

    def modify_pending_order_items(
        self, order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str
    ) -> str:
        with self.transaction() as conn:
            row = self._order_in_status(order_id, "pending", "non-pending order cannot be modified")
            diff, items, variants = self._item_diff(row, item_ids, new_item_ids)
            owner = row[1]
            pm = self._pm(owner, payment_method_id)
            if pm is None:
                raise ToolError("payment method not found")
            if pm[0] == "gift_card" and pm[1] < diff:
                raise ToolError("insufficient gift card balance to pay for the new item")
            # Apply the swaps on a Python copy first (FirstItem on the *current* items).
            current = [[r[0], r[2], r[3], r[4], r[5]] for r in items]  # pos, product_id, item_id, price, options
            changed: dict[int, list] = {}
            for item_id, new_item_id in zip(item_ids, new_item_ids, strict=True):
                e = next(c for c in current if c[2] == item_id)
                v = variants[(e[1], new_item_id)]
                e[2], e[3], e[4] = new_item_id, v[2], v[0]
                changed[e[0]] = e
            history_len = conn.execute(
                "SELECT count(*) FROM payment_history WHERE order_id = ?", (order_id,)
            ).fetchone()[0]
            # --- mutate
            self._append_history(
                order_id, history_len, [("payment" if diff > 0 else "refund", abs(diff), payment_method_id)]
            )
            if pm[0] == "gift_card":
                self._set_balance(owner, payment_method_id, round2(pm[1] - diff))
            conn.executemany(
                "UPDATE order_items SET item_id = ?, price = ?, options = ? WHERE order_id = ? AND pos = ?",
                [(e[2], e[3], e[4], order_id, pos) for pos, e in changed.items()],
            )
            conn.execute("UPDATE orders SET status = 'pending (item modified)' WHERE order_id = ?", (order_id,))
            return self._order_text(order_id)

    def modify_pending_order_payment(self, order_id: str, payment_method_id: str) -> str:
        with self.transaction():
            row = self._order_in_status(order_id, "pending", "non-pending order cannot be modified")
            owner = row[1]
            new = self._pm(owner, payment_method_id)
            if new is None:
                raise ToolError("payment method not found")
            history = self._history(order_id)
            if len(history) > 1 or history[0][0] != "payment":
                raise ToolError("there should be exactly one payment for a pending order")
            _t, amount, old_id = history[0]
            if old_id == payment_method_id:
                raise ToolError("the new payment method should be different from the current one")
            if new[0] == "gift_card" and new[1] < amount:
                raise ToolError("insufficient gift card balance to pay for the order")
            new_balance = round2(new[1] - amount) if new[0] == "gift_card" else None
            old_balance = None
            if "gift_card" in old_id:
                old = self._pm(owner, old_id)
                if old is None:
                    raise KeyError(old_id)
                if old[1] is None:
                    raise KeyError("balance")
                old_balance = round2(old[1] + amount)
            # --- mutate
            self._append_history(
                order_id, len(history), [("payment", amount, payment_method_id), ("refund", amount, old_id)]
            )
            if new_balance is not None:
                self._set_balance(owner, payment_method_id, new_balance)
            if old_balance is not None:
                self._set_balance(owner, old_id, old_balance)
            return self._order_text(order_id)

    def modify_user_address(
        self, user_id: str, address1: str, address2: str, city: str, state: str, country: str, zip: str
    ) -> str:
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE users SET address1 = ?, address2 = ?, city = ?, state = ?, country = ?, zip = ?, "
                "addr_replaced = 1 WHERE user_id = ?",
                (address1, address2, city, state, country, zip, user_id),
            )
            if cur.rowcount == 0:
                raise ToolError("user not found")
            return _dumps(self._user_json(user_id))

    def return_delivered_order_items(self, order_id: str, item_ids: list[str], payment_method_id: str) -> str:
        with self.transaction() as conn:
            row = self._order_in_status(order_id, "delivered", "non-delivered order cannot be returned")
            if self._pm(row[1], payment_method_id) is None:
                raise ToolError("payment method not found")
            if "gift_card" not in payment_method_id:
                history = self._history(order_id)
                if payment_method_id != history[0][2]:
                    raise ToolError("payment method should be either the original payment method or a gift card")
            if _count_check(item_ids, [r[3] for r in self._items(order_id)]) is not None:
                raise ToolError("some item not found")
            conn.execute(
                "UPDATE orders SET status = 'return requested', return_items = ?, return_payment_method_id = ? "
                "WHERE order_id = ?",
                (_dumps(sorted(item_ids)), payment_method_id, order_id),
            )
            return self._order_text(order_id)
