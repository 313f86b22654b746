"""The store's tables and the column lists queries share (the DDL is migration 1 of ``tools.db.migrations``)."""

from __future__ import annotations

SCHEMA_VERSION = 1

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
