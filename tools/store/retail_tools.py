"""The 16 tools of spec §2, each one transaction, every check before the first write."""

from __future__ import annotations

from typing import Any

from tools.store.records import ToolError, _count_check, _dumps, round2
from tools.store.schema import CANCEL_REASONS


class RetailTools:
    """The 16 tools of spec §2, each one transaction, every check before the first write."""

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
        record = self.order_record(order_id)
        if record is None:
            raise ToolError("order not found")
        return _dumps(record)

    def get_product_details(self, product_id: str) -> str:
        record = self.product_record(product_id)
        if record is None:
            raise ToolError("product not found")
        return _dumps(record)

    def get_user_details(self, user_id: str) -> str:
        record = self.user_record(user_id)
        if record is None:
            raise ToolError("user not found")
        return _dumps(record)

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

    def _payment_method(self, user_id: str, pm_id: str) -> tuple:
        """(source, balance) of one of the user's payment methods; a ``ToolError`` when they have no such method."""
        pm = self._pm(user_id, pm_id)
        if pm is None:
            raise ToolError("payment method not found")
        return pm

    def exchange_delivered_order_items(
        self, order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str
    ) -> str:
        with self.transaction() as conn:
            row = self._order_in_status(order_id, "delivered", "non-delivered order cannot be exchanged")
            diff, _items, _v = self._item_diff(row, item_ids, new_item_ids)
            diff = round2(diff)
            pm = self._payment_method(row[1], payment_method_id)
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
            pm = self._payment_method(owner, payment_method_id)
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
            new = self._payment_method(owner, payment_method_id)
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
            return _dumps(self.user_record(user_id))

    def return_delivered_order_items(self, order_id: str, item_ids: list[str], payment_method_id: str) -> str:
        with self.transaction() as conn:
            row = self._order_in_status(order_id, "delivered", "non-delivered order cannot be returned")
            self._payment_method(row[1], payment_method_id)
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
