"""The scenario loader: the documented format loads, mistakes are refused with the file named."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.eval.checks import check_files, check_scenario, suite_problems
from agent.eval.scenario import ScenarioError, load_scenario, load_scenarios, text_matches
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
    understanding: {tasks: []}
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
    scenario = load_scenario(_write(tmp_path, "cancel/cancel-charger-order.yaml", EXAMPLE))
    assert scenario.id == "cancel-charger-order" and scenario.smoke and scenario.max_turns == 6
    assert scenario.confirmations == ["approve"] and scenario.confirmation(3) is True
    assert scenario.expected_writes[0].args == {"order_id": "#W4744902", "reason": "no longer needed"}
    assert scenario.follow_ups[0].matches("Why would you like to cancel?") and scenario.follow_ups[0].times == 2
    assert scenario.understandings()[scenario.opening.say]["tasks"] == ["cancel"]
    assert check_scenario(scenario, generate_dataset()) == []


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


def _problems(tmp_path: Path, *replacements: tuple[str, str], name: str = "cancel/cancel-charger-order.yaml"
              ) -> list[str]:
    text = EXAMPLE
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return check_scenario(load_scenario(_write(tmp_path, name, text)), generate_dataset())


def test_store_checks_find_unknown_customers_and_failing_writes(tmp_path):
    problems = _problems(tmp_path, ("user_id: lucas_smith_3214", "user_id: nobody_1"))
    assert problems[0] == "customer 'nobody_1' is not in the demo store"
    problems = _problems(tmp_path, ("#W4744902", "#W1194268"))  # delivered: cannot be cancelled
    assert any("fails on the demo store" in p for p in problems)


@pytest.mark.parametrize(("changes", "name", "why"), [
    ([], "cancel/other-name.yaml", "is not the file name"),
    ([], "refunds/cancel-charger-order.yaml", "is not the folder"),
    ([("description: You are Lucas Smith", "smoke: false\nx_description: You")], "cancel/cancel-charger-order.yaml",
     "Extra inputs"),                                                                  # a load error, reported too
    ([("description: You are Lucas Smith and want your pending order with the portable charger cancelled.\n",
       "")], "cancel/cancel-charger-order.yaml", "not written out"),
    ([("knows: {email", "knows: {phone: '555', email")], "cancel/cancel-charger-order.yaml", "only"),
    ([("zip: \"43221\"}", "zip: \"43222\"}")], "cancel/cancel-charger-order.yaml", "is not the store's"),
    ([("expected_stages: [intake, order_desk]", "expected_stages: [intake, billing]")],
     "cancel/cancel-charger-order.yaml", "unknown stages"),
    ([("max_turns: 6", "max_turns: 40")], "cancel/cancel-charger-order.yaml", "outside"),
    ([("    understanding: {reason: no longer needed}\n", "")], "cancel/cancel-charger-order.yaml",
     "follow_ups[0] (when 'reason|why') has no `understanding`"),
    ([('say: "I no longer need it."', 'say: "I no longer need #W4744902."')], "cancel/cancel-charger-order.yaml",
     "order_ids [] are not the ids written ['#W4744902']"),
    ([('zip: "43221",\n', 'zip: "43221", email: lucas.smith7750@example.com,\n')],
     "cancel/cancel-charger-order.yaml", "email 'lucas.smith7750@example.com' is not in the text"),
    ([('Hi, I\'m Lucas Smith, zip 43221.', 'Hi, I\'m Lucas Smith.')], "cancel/cancel-charger-order.yaml",
     "zip '43221' is not in the text"),
])
def test_each_check_names_what_is_wrong(tmp_path, changes, name, why):
    text = EXAMPLE
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    path = _write(tmp_path, name, text)
    found = check_files([path], generate_dataset(), whole_suite=False)
    assert list(found) == [str(path)] and any(why in p for p in found[str(path)]), found


CANCEL_ARGS = 'args: {order_id: "#W4744902", reason: no longer needed}'


def _must_fail(order_id: str, reason: str) -> tuple[str, str]:
    """A replacement adding one refused call after the expected write."""
    return CANCEL_ARGS, (f"{CANCEL_ARGS}\nmust_fail:\n  - tool: cancel_pending_order\n"
                         f'    args: {{order_id: "{order_id}", reason: {reason}}}')


def test_must_fail_calls_must_be_refused(tmp_path):
    # After the expected cancellation, cancelling the delivered #W1194268 or the same order again is refused.
    assert _problems(tmp_path, _must_fail("#W1194268", "no longer needed")) == []
    assert _problems(tmp_path, _must_fail("#W4744902", "ordered by mistake")) == []
    # With nothing written first, cancelling the pending order succeeds: not a refusal.
    problems = _problems(tmp_path, _must_fail("#W4744902", "ordered by mistake"),
                         (f"  - tool: cancel_pending_order\n    {CANCEL_ARGS}\nmust_fail", "  []\nmust_fail"))
    call = "must_fail cancel_pending_order({'order_id': '#W4744902', 'reason': 'ordered by mistake'})"
    assert len(problems) == 2 and problems[0].startswith(f"{call} succeeds on the demo store: ")
    assert problems[1] == f"{call} changes the store"


def test_expected_writes_touch_only_the_customers_data(tmp_path):
    someone_elses = next(oid for oid, o in generate_dataset()["orders"].items()
                         if o["user_id"] != "lucas_smith_3214" and o["status"] == "pending")
    problems = _problems(tmp_path, ("#W4744902", someone_elses))
    assert any("another customer's data" in p for p in problems), problems


def test_suite_coverage_is_checked(tmp_path):
    one = load_scenario(_write(tmp_path, "cancel/cancel-charger-order.yaml", EXAMPLE))
    problems = suite_problems([one])
    assert any("at least 40" in p for p in problems) and any("fewer than 3" in p for p in problems)
    assert any("write tools no scenario expects" in p for p in problems)


def test_fact_patterns():
    assert text_matches("Cancelled", "your order is cancelled")
    assert text_matches("re:#W\\d{7}", "order #W1234567") and not text_matches("re:#W\\d{7}", "order W1234567")
