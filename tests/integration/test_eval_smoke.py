"""Model tier: the evaluation harness on the embedded model, over the 5-scenario smoke subset; prints the figures.

The subset is the scenarios marked ``smoke: true`` (topped up, if fewer than 5 are marked, with the first
scenario of each category not yet covered). It asserts only that the harness ran every conversation to a
verdict; the pass rate is printed, not asserted: it measures the model, not the harness.
"""

from __future__ import annotations

import pytest

from agent.eval.report import summary_rows, write_outputs
from agent.eval.runner import EvalPlan, run_suite
from agent.eval.scenario import DEFAULT_SCENARIO_DIR, Scenario, load_scenarios

pytestmark = pytest.mark.model

SMOKE_SIZE = 5


def smoke_subset(scenarios: list[Scenario], size: int = SMOKE_SIZE) -> list[Scenario]:
    """The scenarios marked smoke, topped up with one per uncovered category, at most ``size``."""
    chosen = [s for s in scenarios if s.smoke][:size]
    for s in scenarios:
        if len(chosen) >= size:
            break
        if s.category not in {c.category for c in chosen}:
            chosen.append(s)
    return chosen


async def test_smoke_subset_on_the_embedded_model(settings, base_url, tmp_path):
    scenarios = smoke_subset(load_scenarios([DEFAULT_SCENARIO_DIR]))
    assert scenarios, "no scenario files under evals/scenarios"
    # The product's default dialogue (tests elsewhere default to the scripted agent loop).
    run_settings = settings.model_copy(update={"llm_base_url": base_url, "dialogue": "flows"})
    plan = EvalPlan(modes=("flows",))
    runs = await run_suite(scenarios, plan, run_settings, tmp_path / "out", progress=False)
    results = write_outputs(tmp_path / "out", run_settings.effective_model, runs, plan.repeat)
    for name, cells in summary_rows(results):
        print(f"{name:36} {' '.join(cells)}")
    for record in runs['flows']:
        print(f"{record.id:45} {'pass' if record.passed else record.failure}  {record.failure_detail[:120]}")
    assert len(runs['flows']) == len(scenarios)
    assert not [r.id for r in runs['flows'] if r.failure == "error"], "runs ended in errors"
