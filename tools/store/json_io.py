"""The whole store as the dataset's JSON: load (replace everything) and dump, exactly."""

from __future__ import annotations

from tools.store.records import _address, _dumps, _loads, _order_record, _pm_record
from tools.store.schema import _ORDER_COLS, _USER_COLS, OWN_TABLES
from tools.validate import ADDRESS_KEYS_REPLACED, validate_dataset


class JsonIO:
    """The whole store as the dataset's JSON: load (replace everything) and dump, exactly."""

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

