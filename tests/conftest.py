"""Test tiers by folder: unit and graph tests are `fast`; integration needs the real `model`; browser drives Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

_TIER_BY_FOLDER = {"unit": "fast", "graph": "fast", "integration": "model", "browser": "browser"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        tier = _TIER_BY_FOLDER.get(folder)
        if tier and not any(m.name in {"fast", "model", "browser"} for m in item.iter_markers()):
            item.add_marker(getattr(pytest.mark, tier))
