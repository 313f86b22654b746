"""Where the reference tau-retail dataset lives for tests (never used by the product)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def tau_retail_dir() -> Path:
    """The dataset folder: $DESKGRAPH_TAU_DATA or the workplace's ../shared copy."""
    env = os.environ.get("DESKGRAPH_TAU_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data" / "tau-retail"


def load_tau_retail() -> dict:
    """The three collections as plain JSON; skips the test when the dataset is not on this machine."""
    folder = tau_retail_dir()
    if not (folder / "orders.json").exists():
        pytest.skip(f"tau-retail dataset not found at {folder} (set DESKGRAPH_TAU_DATA)")
    return {name: json.loads((folder / f"{name}.json").read_text()) for name in ("users", "orders", "products")}
