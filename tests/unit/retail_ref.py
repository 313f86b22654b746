"""Test helpers: a pure-Python, dict-based reference of spec §2 and the fictional records of §1.8."""

from __future__ import annotations

import copy
import hashlib
import json


def canonical_hash(data) -> str:
    """Spec §4.2: objects as sorted (key, value) pairs, arrays kept, repr text, SHA-256."""

    def canon(v):
        if isinstance(v, dict):
            return tuple((k, canon(v[k])) for k in sorted(v))
        if isinstance(v, list):
            return [canon(x) for x in v]
        return v

    return hashlib.sha256(repr(canon(data)).encode()).hexdigest()


class Reference:
    """The reference tool semantics on plain dicts (straight from spec §2)."""

    def __init__(self, data: dict) -> None:
        self.data = copy.deepcopy(data)

    def call(self, name: str, args: dict) -> str:
        try:
            return getattr(self, name)(**args)
        except Exception as e:  # noqa: BLE001
            return f"Error: {e}"

    # -- reads
    def find_user_id_by_email(self, email):
        for uid, u in self.data["users"].items():
            if u["email"].lower() == email.lower():
                return uid
        return "Error: user not found"

    def find_user_id_by_name_zip(self, first_name, last_name, zip):
        for uid, u in self.data["users"].items():
            if (
                u["name"]["first_name"].lower() == first_name.lower()
                and u["name"]["last_name"].lower() == last_name.lower()
                and u["address"]["zip"] == zip
            ):
                return uid
        return "Error: user not found"

    def get_order_details(self, order_id):
        o = self.data["orders"].get(order_id)
        return json.dumps(o) if o is not None else "Error: order not found"

    def get_product_details(self, product_id):
        p = self.data["products"].get(product_id)
        return json.dumps(p) if p is not None else "Error: product not found"

    def get_user_details(self, user_id):
        u = self.data["users"].get(user_id)
        return json.dumps(u) if u is not None else "Error: user not found"

    def list_all_product_types(self):
        d = {p["name"]: p["product_id"] for p in self.data["products"].values()}
        return json.dumps(dict(sorted(d.items())))

    def think(self, thought):
        return ""

    def transfer_to_human_agents(self, summary):
        return "Transfer successful"

    # -- writes
    def cancel_pending_order(self, order_id, reason):
        orders = self.data["orders"]
        if order_id not in orders:
            return "Error: order not found"
        order = orders[order_id]
        if order["status"] != "pending":
            return "Error: non-pending order cannot be cancelled"
        if reason not in ("no longer needed", "ordered by mistake"):
            return "Error: invalid reason"
        refunds = []
        for p in order["payment_history"]:
            pid = p["payment_method_id"]
            refunds.append({"transaction_type": "refund", "amount": p["amount"], "payment_method_id": pid})
            if "gift_card" in pid:
                pm = self.data["users"][order["user_id"]]["payment_methods"][pid]
                pm["balance"] += p["amount"]
                pm["balance"] = round(pm["balance"], 2)
        order["status"] = "cancelled"
        order["cancel_reason"] = reason
        order["payment_history"].extend(refunds)
        return json.dumps(order)

    def _diff(self, order, item_ids, new_item_ids):
        all_ids = [it["item_id"] for it in order["items"]]
        for i in item_ids:
            if item_ids.count(i) > all_ids.count(i):
                return f"Error: {i} not found"
        if len(item_ids) != len(new_item_ids):
            return "Error: the number of items to be exchanged should match"
        diff = 0
        for i, n in zip(item_ids, new_item_ids, strict=True):
            item = [it for it in order["items"] if it["item_id"] == i][0]
            variants = self.data["products"][item["product_id"]]["variants"]
            if not (n in variants and variants[n]["available"]):
                return f"Error: new item {n} not found or available"
            diff += variants[n]["price"] - item["price"]
        return diff

    def exchange_delivered_order_items(self, order_id, item_ids, new_item_ids, payment_method_id):
        orders = self.data["orders"]
        if order_id not in orders:
            return "Error: order not found"
        order = orders[order_id]
        if order["status"] != "delivered":
            return "Error: non-delivered order cannot be exchanged"
        diff = self._diff(order, item_ids, new_item_ids)
        if isinstance(diff, str):
            return diff
        diff = round(diff, 2)
        pms = self.data["users"][order["user_id"]]["payment_methods"]
        if payment_method_id not in pms:
            return "Error: payment method not found"
        pm = pms[payment_method_id]
        if pm["source"] == "gift_card" and pm["balance"] < diff:
            return "Error: insufficient gift card balance to pay for the price difference"
        order["status"] = "exchange requested"
        order["exchange_items"] = sorted(item_ids)
        order["exchange_new_items"] = sorted(new_item_ids)
        order["exchange_payment_method_id"] = payment_method_id
        order["exchange_price_difference"] = diff
        return json.dumps(order)

    def modify_pending_order_address(self, order_id, address1, address2, city, state, country, zip):
        orders = self.data["orders"]
        if order_id not in orders:
            return "Error: order not found"
        order = orders[order_id]
        if order["status"] != "pending":
            return "Error: non-pending order cannot be modified"
        order["address"] = {
            "address1": address1, "address2": address2, "city": city, "state": state, "country": country, "zip": zip
        }
        return json.dumps(order)

    def modify_pending_order_items(self, order_id, item_ids, new_item_ids, payment_method_id):
        orders = self.data["orders"]
        if order_id not in orders:
            return "Error: order not found"
        order = orders[order_id]
        if order["status"] != "pending":
            return "Error: non-pending order cannot be modified"
        diff = self._diff(order, item_ids, new_item_ids)
        if isinstance(diff, str):
            return diff
        pms = self.data["users"][order["user_id"]]["payment_methods"]
        if payment_method_id not in pms:
            return "Error: payment method not found"
        pm = pms[payment_method_id]
        if pm["source"] == "gift_card" and pm["balance"] < diff:
            return "Error: insufficient gift card balance to pay for the new item"
        order["payment_history"].append(
            {
                "transaction_type": "payment" if diff > 0 else "refund",
                "amount": abs(diff),
                "payment_method_id": payment_method_id,
            }
        )
        if pm["source"] == "gift_card":
            pm["balance"] -= diff
            pm["balance"] = round(pm["balance"], 2)
        for i, n in zip(item_ids, new_item_ids, strict=True):
            item = [it for it in order["items"] if it["item_id"] == i][0]
            v = self.data["products"][item["product_id"]]["variants"][n]
            item["item_id"] = n
            item["price"] = v["price"]
            item["options"] = copy.deepcopy(v["options"])
        order["status"] = "pending (item modified)"
        return json.dumps(order)

    def modify_pending_order_payment(self, order_id, payment_method_id):
        orders = self.data["orders"]
        if order_id not in orders:
            return "Error: order not found"
        order = orders[order_id]
        if order["status"] != "pending":
            return "Error: non-pending order cannot be modified"
        pms = self.data["users"][order["user_id"]]["payment_methods"]
        if payment_method_id not in pms:
            return "Error: payment method not found"
        h = order["payment_history"]
        if len(h) > 1 or h[0]["transaction_type"] != "payment":
            return "Error: there should be exactly one payment for a pending order"
        if h[0]["payment_method_id"] == payment_method_id:
            return "Error: the new payment method should be different from the current one"
        amount = h[0]["amount"]
        pm = pms[payment_method_id]
        if pm["source"] == "gift_card" and pm["balance"] < amount:
            return "Error: insufficient gift card balance to pay for the order"
        old = h[0]["payment_method_id"]
        h.extend(
            [
                {"transaction_type": "payment", "amount": amount, "payment_method_id": payment_method_id},
                {"transaction_type": "refund", "amount": amount, "payment_method_id": old},
            ]
        )
        if pm["source"] == "gift_card":
            pm["balance"] -= amount
            pm["balance"] = round(pm["balance"], 2)
        if "gift_card" in old:
            opm = pms[old]
            opm["balance"] += amount
            opm["balance"] = round(opm["balance"], 2)
        return json.dumps(order)

    def modify_user_address(self, user_id, address1, address2, city, state, country, zip):
        users = self.data["users"]
        if user_id not in users:
            return "Error: user not found"
        users[user_id]["address"] = {
            "address1": address1, "address2": address2, "city": city, "state": state, "country": country, "zip": zip
        }
        return json.dumps(users[user_id])

    def return_delivered_order_items(self, order_id, item_ids, payment_method_id):
        orders = self.data["orders"]
        if order_id not in orders:
            return "Error: order not found"
        order = orders[order_id]
        if order["status"] != "delivered":
            return "Error: non-delivered order cannot be returned"
        if payment_method_id not in self.data["users"][order["user_id"]]["payment_methods"]:
            return "Error: payment method not found"
        if "gift_card" not in payment_method_id and payment_method_id != order["payment_history"][0]["payment_method_id"]:
            return "Error: payment method should be either the original payment method or a gift card"
        all_ids = [it["item_id"] for it in order["items"]]
        for i in item_ids:
            if item_ids.count(i) > all_ids.count(i):
                return "Error: some item not found"
        order["status"] = "return requested"
        order["return_items"] = sorted(item_ids)
        order["return_payment_method_id"] = payment_method_id
        return json.dumps(order)


def example_data(balance: int = 58) -> dict:
    """The fictional records of spec §1.8 (gift card balance configurable for §5 C)."""
    address = {"address1": "42 Quarry Lane", "address2": "Apt 7", "city": "Tulsa",
               "country": "USA", "state": "OK", "zip": "74103"}
    items = [
        {"name": "Desk Fan", "product_id": "9000000017", "item_id": "9100000101", "price": 39.99,
         "options": {"size": "small", "color": "white"}},
        {"name": "Yoga Block", "product_id": "9000000042", "item_id": "9200000230", "price": 21.75,
         "options": {"material": "cork", "size": "large"}},
    ]
    o1 = {
        "order_id": "#W1000001", "user_id": "lena_moreau_3307", "address": dict(address),
        "items": copy.deepcopy(items), "fulfillments": [], "status": "pending",
        "payment_history": [{"transaction_type": "payment", "amount": 61.74,
                             "payment_method_id": "credit_card_1048826"}],
    }
    o2 = {
        "order_id": "#W1000002", "user_id": "lena_moreau_3307", "address": dict(address),
        "items": copy.deepcopy(items),
        "fulfillments": [{"tracking_id": ["482019375566"], "item_ids": ["9100000101", "9200000230"]}],
        "status": "delivered",
        "payment_history": [{"transaction_type": "payment", "amount": 61.74, "payment_method_id": "paypal_2290457"}],
    }
    return {
        "users": {
            "lena_moreau_3307": {
                "name": {"first_name": "Lena", "last_name": "Moreau"},
                "address": dict(address),
                "email": "lena.moreau5521@example.com",
                "payment_methods": {
                    "credit_card_1048826": {"source": "credit_card", "brand": "visa", "last_four": "0417",
                                            "id": "credit_card_1048826"},
                    "gift_card_6620913": {"source": "gift_card", "balance": balance, "id": "gift_card_6620913"},
                    "paypal_2290457": {"source": "paypal", "id": "paypal_2290457"},
                },
                "orders": ["#W1000001", "#W1000002"],
            }
        },
        "orders": {"#W1000001": o1, "#W1000002": o2},
        "products": {
            "9000000017": {
                "name": "Desk Fan", "product_id": "9000000017",
                "variants": {
                    "9100000101": {"item_id": "9100000101", "options": {"size": "small", "color": "white"},
                                   "available": True, "price": 39.99},
                    "9100000102": {"item_id": "9100000102", "options": {"size": "large", "color": "white"},
                                   "available": True, "price": 54.25},
                    "9100000103": {"item_id": "9100000103", "options": {"size": "large", "color": "black"},
                                   "available": False, "price": 56.1},
                },
            },
            "9000000042": {
                "name": "Yoga Block", "product_id": "9000000042",
                "variants": {
                    "9200000230": {"item_id": "9200000230", "options": {"material": "cork", "size": "large"},
                                   "available": True, "price": 21.75},
                    "9200000231": {"item_id": "9200000231", "options": {"material": "foam", "size": "large"},
                                   "available": True, "price": 19.5},
                },
            },
        },
    }
