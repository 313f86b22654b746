"""The scenario loader: the documented format loads, mistakes are refused with the file named."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.eval.scenario import (
    ScenarioError,
    check_against_store,
    load_scenario,
    load_scenarios,
    text_matches,
)
from tools.generator import generate_dataset

EXAMPLE = """\
id: cancel-charger-order
category: cancel
description: You are Lucas Smith and want your pending order with the portable charger cancelled.
customer:
  user_id: lucas_smith_3214
  knows: {email: lucas.smith7750@example.com, first_name: Lucas, last_name: Smith, zip: "43221"}
opening:
  say: "Hi, I'm Lucas Smith, zip 43221. Please cancel the order with the portable charger."
  understanding: {tasks: [cancel], first_name: Lucas, last_name: Smith, zip: "43221",
                  order_hint: the order with the portable charger, items: [{item: portable charger}]}
follow_ups:
  - when: "reason|why"
    say: "I no longer need it."
    understanding: {reason: no longer needed}
then:
  - say: "Thanks, that's all."
confirmations: approve
expected_writes:
  - tool: cancel_pending_order
    args: {order_id: "#W4744902", reason: no longer needed}
required_facts: ["cancelled", "re:#W474490\\\\d"]
forbidden: {escalation: true}
expected_stages: [intake, order_desk]
max_turns: 6
smoke: true
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_documented_format_loads(tmp_path):
    scenario = load_scenario(_write(tmp_path, "cancel.yaml", EXAMPLE))
    assert scenario.id == "cancel-charger-order" and scenario.smoke and scenario.max_turns == 6
    assert scenario.confirmations == ["approve"] and scenario.confirmation(3) is True
    assert scenario.expected_writes[0].args == {"order_id": "#W4744902", "reason": "no longer needed"}
    assert scenario.follow_ups[0].matches("Why would you like to cancel?") and scenario.follow_ups[0].times == 2
    assert scenario.understandings()[scenario.opening.say]["tasks"] == ["cancel"]
    assert check_against_store(scenario, generate_dataset()) == []


def test_folders_are_searched_recursively_and_ids_must_be_unique(tmp_path):
    _write(tmp_path, "a/one.yaml", EXAMPLE)
    _write(tmp_path, "b/two.yml", EXAMPLE.replace("id: cancel-charger-order", "id: second"))
    assert [s.id for s in load_scenarios([tmp_path])] == ["cancel-charger-order", "second"]
    _write(tmp_path, "c/three.yaml", EXAMPLE)
    with pytest.raises(ScenarioError, match="duplicate id"):
        load_scenarios([tmp_path])


@pytest.mark.parametrize(("old", "new", "why"), [
    ("category: cancel", "category: cancellation", "category"),
    ("max_turns: 6", "max_turns: 6\nmax_turn: 3", "max_turn"),                       # typo: unknown key
    ('when: "reason|why"', 'when: "reason|(why"', "regex"),
    ("tool: cancel_pending_order", "tool: get_order_details", "not a write tool"),
    ("reason: no longer needed}\nrequired", "reason: because}\nrequired", "reason"),  # wrong tool arguments
    ("tasks: [cancel]", "tasks: [cancellation]", "tasks"),                            # Understanding schema
])
def test_mistakes_are_refused_with_the_file_named(tmp_path, old, new, why):
    assert old in EXAMPLE
    path = _write(tmp_path, "bad.yaml", EXAMPLE.replace(old, new))
    with pytest.raises(ScenarioError, match=why) as info:
        load_scenario(path)
    assert str(path) in str(info.value)


def test_store_checks_find_unknown_customers_and_failing_writes(tmp_path):
    text = EXAMPLE.replace("user_id: lucas_smith_3214", "user_id: nobody_1").replace("#W4744902", "#W1194268")
    problems = check_against_store(load_scenario(_write(tmp_path, "s.yaml", text)), generate_dataset())
    assert any("nobody_1" in p for p in problems) and any("fails on the demo store" in p for p in problems)


def test_fact_patterns():
    assert text_matches("Cancelled", "your order is cancelled")
    assert text_matches("re:#W\\d{7}", "order #W1234567") and not text_matches("re:#W\\d{7}", "order W1234567")
