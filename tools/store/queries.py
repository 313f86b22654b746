"""Reads for other layers (owners, records, counts) and the row helpers the tools share."""

from __future__ import annotations

from tools.store.records import ToolError, _address, _dumps, _loads, _order_record, _pm_record
from tools.store.schema import _ORDER_COLS, _USER_COLS


class StoreQueries:
    """Reads for other layers (owners, records, counts) and the row helpers the tools share."""

    # ------------------------------------------------------------------ helpers for other layers
    def order_owner(self, order_id: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT user_id FROM orders WHERE order_id = ?", (order_id,)).fetchone()
        return row[0] if row else None

    def user_order_ids(self, user_id: str) -> list[str]:
        with self._lock:
            return [r[0] for r in self._conn.execute(_ORDER_IDS, (user_id,))]

    def user_exists(self, user_id: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone() is not None

    def counts(self) -> dict[str, int]:
        with self._read() as conn:
            return {
                t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("users", "orders", "products")
            }

    def order_record(self, order_id: str) -> dict | None:
        """The order as get_order_details returns it, as a dict (for code that reasons over it), or None. Its row
        and parts are read together (one round trip on PostgreSQL), in the caller's transaction if any."""
        order, *parts = self._read_together([
            (f"SELECT {_ORDER_COLS} FROM orders WHERE order_id = ?", [order_id]),
            *[(f"SELECT order_id, {columns} FROM {table} WHERE order_id = ? ORDER BY pos", [order_id])
              for table, columns, _, _ in _ORDER_PARTS],
        ])
        return _records({order_id: order[0]}, parts)[order_id] if order else None

    def user_record(self, user_id: str) -> dict | None:
        """The user's profile as get_user_details returns it, as a dict, or None (read as ``order_record``)."""
        user, pms, order_ids = self._read_together([
            (f"SELECT {_USER_COLS} FROM users WHERE user_id = ?", [user_id]),
            (_PAYMENT_METHODS, [user_id]),
            (_ORDER_IDS, [user_id]),
        ])
        return _profile(user[0], pms, [r[0] for r in order_ids]) if user else None

    def customer_records(self, user_id: str) -> tuple[dict | None, dict[str, dict]]:
        """The user's profile (None when unknown) and each of their orders' records by id, in the profile's order,
        from one snapshot. Every query is by the user's id, so none waits for another's answer: on PostgreSQL they
        go together (``_read_together``)."""
        owned = "order_id IN (SELECT order_id FROM user_orders WHERE user_id = ?)"
        user, pms, order_ids, orders, *parts = self._read_together([
            (f"SELECT {_USER_COLS} FROM users WHERE user_id = ?", [user_id]),
            (_PAYMENT_METHODS, [user_id]),
            (_ORDER_IDS, [user_id]),
            (f"SELECT {_ORDER_COLS} FROM orders WHERE {owned}", [user_id]),
            *[(f"SELECT order_id, {columns} FROM {table} WHERE {owned} ORDER BY order_id, pos", [user_id])
              for table, columns, _, _ in _ORDER_PARTS],
        ])
        if not user:
            return None, {}
        profile = _profile(user[0], pms, [r[0] for r in order_ids])
        records = _records(dict((r[0], r) for r in orders), parts)
        return profile, {oid: records[oid] for oid in profile["orders"] if oid in records}

    def product_record(self, product_id: str) -> dict | None:
        """The product with its variants as get_product_details returns it, as a dict, or None."""
        product, variants = self._read_together([
            ("SELECT name FROM products WHERE product_id = ?", [product_id]),
            ("SELECT item_id, options, available, price FROM variants WHERE product_id = ? ORDER BY pos", [product_id]),
        ])
        if not product:
            return None
        return {"name": product[0][0], "product_id": product_id,
                "variants": {iid: {"item_id": iid, "options": _loads(o), "available": bool(a), "price": p}
                             for iid, o, a, p in variants}}

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

    def _order_text(self, order_id: str) -> str:
        return _dumps(self.order_record(order_id))

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


_ORDER_IDS = "SELECT order_id FROM user_orders WHERE user_id = ? ORDER BY pos"
_PAYMENT_METHODS = "SELECT id, source, brand, last_four, balance FROM payment_methods WHERE user_id = ? ORDER BY pos"


def _profile(user: tuple, payment_methods: list[tuple], order_ids: list[str]) -> dict:
    """A user's profile (get_user_details) from their row (``_USER_COLS``), payment methods and order ids."""
    return {
        "name": {"first_name": user[0], "last_name": user[1]},
        "address": _address(user[3:9], user[9]),
        "email": user[2],
        "payment_methods": {mid: _pm_record(source, mid, brand, last_four, balance)
                            for mid, source, brand, last_four, balance in payment_methods},
        "orders": order_ids,
    }


def _records(rows: dict[str, tuple], parts: list[list[tuple]]) -> dict[str, dict]:
    """Orders' records by id from their rows and the rows of each of ``_ORDER_PARTS`` (order id first)."""
    found: dict[str, dict[str, list]] = {oid: {"items": [], "fulfillments": [], "history": []} for oid in rows}
    for (_, _, part, to_json), part_rows in zip(_ORDER_PARTS, parts, strict=True):
        for oid, *values in part_rows:
            found[oid][part].append(to_json(values))
    return {oid: _order_record(row, **found[oid]) for oid, row in rows.items()}


def _item_json(r: tuple) -> dict:
    """An order item from (name, product_id, item_id, price, options_json)."""
    return {"name": r[0], "product_id": r[1], "item_id": r[2], "price": r[3], "options": _loads(r[4])}


def _fulfillment_json(r: tuple) -> dict:
    """A fulfillment from (tracking_id_json, item_ids_json)."""
    return {"tracking_id": _loads(r[0]), "item_ids": _loads(r[1])}


def _payment_json(r: tuple) -> dict:
    """A payment from (transaction_type, amount, payment_method_id)."""
    return {"transaction_type": r[0], "amount": r[1], "payment_method_id": r[2]}


#: What an order's record gathers from other tables: (table, columns after order_id, part of the record, reader).
_ORDER_PARTS = (
    ("order_items", "name, product_id, item_id, price, options", "items", _item_json),
    ("fulfillments", "tracking_id, item_ids", "fulfillments", _fulfillment_json),
    ("payment_history", "transaction_type, amount, payment_method_id", "history", _payment_json),
)
