"""The store's SQLite schema (one version, created on open) and the column lists queries share."""

from __future__ import annotations

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
