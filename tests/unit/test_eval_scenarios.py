"""The evaluation scenarios (`evals/scenarios/<category>/<id>.yaml`) agree with the format and the demo store.

The checks themselves are the harness's (``agent.eval.checks``, what ``deskgraph eval --check`` runs): every file
loads with the harness's loader, follows the format's conventions, has annotations that agree with their text,
names a customer who knows true facts, and has expected writes that succeed in order on a fresh generated store
while every `must_fail` call is refused and changes nothing. The suite as a whole covers every category.
"""

from __future__ import annotations

from functools import cache

import pytest

from agent.eval.checks import check_scenario, suite_problems
from agent.eval.scenario import load_scenario
from tests.shared_data import REPO
from tools.generator import demo_dataset

SCENARIO_DIR = REPO / "evals" / "scenarios"
SUITE = sorted(SCENARIO_DIR.glob("*/*.yaml"))
#: Held-out sets (``evals/heldout-<date>/``) are outside the suite but held to the same format.
FILES = SUITE + sorted((REPO / "evals").glob("heldout-*/*/*.yaml"))


@cache
def _data() -> dict:
    return demo_dataset()


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def test_scenario_file(path):
    assert check_scenario(load_scenario(path), _data()) == []


def test_suite_size_and_coverage():
    assert suite_problems([load_scenario(p) for p in SUITE]) == []
