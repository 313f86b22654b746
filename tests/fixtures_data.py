"""A small store in the specification's shape: the fictional records of §1.8 plus a second customer."""

from __future__ import annotations

import copy

_ADDRESS = {"address1": "42 Quarry Lane", "address2": "Apt 7", "city": "Tulsa", "country": "USA", "state": "OK",
            "zip": "74103"}
_FAN_SMALL = {"name": "Desk Fan", "product_id": "9000000017", "item_id": "9100000101", "price": 39.99,
              "options": {"size": "small", "color": "white"}}
_BLOCK_CORK = {"name": "Yoga Block", "product_id": "9000000042", "item_id": "9200000230", "price": 21.75,
               "options": {"material": "cork", "size": "large"}}

_DATA = {
    "users": {
        "lena_moreau_3307": {
            "name": {"first_name": "Lena", "last_name": "Moreau"},
            "address": _ADDRESS,
            "email": "lena.moreau5521@example.com",
            "payment_methods": {
                "credit_card_1048826": {"source": "credit_card", "brand": "visa", "last_four": "0417",
                                        "id": "credit_card_1048826"},
                "gift_card_6620913": {"source": "gift_card", "balance": 58, "id": "gift_card_6620913"},
                "paypal_2290457": {"source": "paypal", "id": "paypal_2290457"},
            },
            "orders": ["#W1000001", "#W1000002"],
        },
        "omar_haddad_1234": {
            "name": {"first_name": "Omar", "last_name": "Haddad"},
            "address": {**_ADDRESS, "address1": "9 Elm Street", "address2": "", "zip": "10001", "city": "New York",
                        "state": "NY"},
            "email": "omar.haddad@example.com",
            "payment_methods": {"paypal_7000001": {"source": "paypal", "id": "paypal_7000001"}},
            "orders": ["#W2000001"],
        },
    },
    "orders": {
        "#W1000001": {"order_id": "#W1000001", "user_id": "lena_moreau_3307", "address": _ADDRESS,
                      "items": [_FAN_SMALL, _BLOCK_CORK], "fulfillments": [], "status": "pending",
                      "payment_history": [{"transaction_type": "payment", "amount": 61.74,
                                           "payment_method_id": "credit_card_1048826"}]},
        "#W1000002": {"order_id": "#W1000002", "user_id": "lena_moreau_3307", "address": _ADDRESS,
                      "items": [_FAN_SMALL, _BLOCK_CORK],
                      "fulfillments": [{"tracking_id": ["482019375566"], "item_ids": ["9100000101", "9200000230"]}],
                      "status": "delivered",
                      "payment_history": [{"transaction_type": "payment", "amount": 61.74,
                                           "payment_method_id": "paypal_2290457"}]},
        "#W2000001": {"order_id": "#W2000001", "user_id": "omar_haddad_1234", "address": _ADDRESS,
                      "items": [_FAN_SMALL], "fulfillments": [], "status": "pending",
                      "payment_history": [{"transaction_type": "payment", "amount": 39.99,
                                           "payment_method_id": "paypal_7000001"}]},
    },
    "products": {
        "9000000017": {"name": "Desk Fan", "product_id": "9000000017", "variants": {
            "9100000101": {"item_id": "9100000101", "options": {"size": "small", "color": "white"}, "available": True,
                           "price": 39.99},
            "9100000102": {"item_id": "9100000102", "options": {"size": "large", "color": "white"}, "available": True,
                           "price": 54.25},
            "9100000103": {"item_id": "9100000103", "options": {"size": "large", "color": "black"},
                           "available": False, "price": 56.1}}},
        "9000000042": {"name": "Yoga Block", "product_id": "9000000042", "variants": {
            "9200000230": {"item_id": "9200000230", "options": {"material": "cork", "size": "large"},
                           "available": True, "price": 21.75},
            "9200000231": {"item_id": "9200000231", "options": {"material": "foam", "size": "large"},
                           "available": True, "price": 19.5}}},
    },
}


def small_dataset() -> dict:
    """A fresh deep copy of the small dataset."""
    return copy.deepcopy(_DATA)
