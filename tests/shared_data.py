"""Where the reference tau-retail dataset lives for tests (never used by the product)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def tau_retail_dir() -> Path:
    """The dataset folder: $DESKGRAPH_TAU_DATA, else the workplace's shared copy (beside the checkout, or at
    /work/shared when the checkout is a clone elsewhere, as in CI)."""
    env = os.environ.get("DESKGRAPH_TAU_DATA")
    if env:
        return Path(env)
    candidates = [REPO.parent / "shared" / "data" / "tau-retail", Path("/work/shared/data/tau-retail")]
    return next((c for c in candidates if (c / "orders.json").exists()), candidates[0])


def load_tau_retail() -> dict:
    """The three collections as plain JSON; skips the test when the dataset is not on this machine."""
    folder = tau_retail_dir()
    if not (folder / "orders.json").exists():
        pytest.skip(f"tau-retail dataset not found at {folder} (set DESKGRAPH_TAU_DATA)")
    return {name: json.loads((folder / f"{name}.json").read_text()) for name in ("users", "orders", "products")}
