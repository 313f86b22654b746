"""The reference tau-retail records the tests use: a small excerpt committed under tests/data (never used by the
product). Tests read nothing outside the checkout."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TAU_RETAIL = REPO / "tests" / "data" / "tau-retail"
# What the excerpt holds (scripts/cut_tau_excerpt.py, 8 users); the tests assert these counts.
TAU_RETAIL_COUNTS = {"users": 8, "orders": 12, "products": 9}


def tau_retail_dir() -> Path:
    """The folder of the excerpt: users.json, orders.json, products.json, LICENSE, README.md."""
    return TAU_RETAIL


def load_tau_retail() -> dict:
    """The three collections as plain JSON, in file order."""
    return {name: json.loads((TAU_RETAIL / f"{name}.json").read_text(encoding="utf-8"))
            for name in ("users", "orders", "products")}
