"""The evaluation scenarios (`evals/scenarios/<category>/<id>.yaml`) agree with the generated demo store.

For every scenario file: it parses, every `understanding` validates against `graphs.understanding.Understanding`,
the customer exists and knows true facts about themselves, and the expected writes succeed, in order, on a fresh
generated store (the data `deskgraph data seed` writes), while every `must_fail` call is refused by the store
after them and changes nothing. The suite as a whole is large enough and covers every category.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
import yaml

from agent.eval.scenario import Scenario, load_scenario
from tests.shared_data import REPO
from tools import WRITE_TOOLS, RetailStore, run_tool
from tools.generator import generate_dataset

SCENARIO_DIR = REPO / "evals" / "scenarios"
CATEGORIES = (
    "cancel", "modify_address", "modify_payment", "modify_items", "return", "exchange", "change_default_address",
    "order_info", "identification", "policy", "multi_task", "escalation", "out_of_scope", "security",
    "exclusion", "quantifiers", "ranking", "conditions", "restatements", "circles",
)
#: Written out in every file, even when empty or the default, so each scenario states its intent.
EXPLICIT_KEYS = {"id", "category", "description", "customer", "opening", "confirmations", "expected_writes",
                 "required_facts", "max_turns"}
STAGES = {"intake", "order_desk", "escalation"}
ORDER_ID = re.compile(r"#W[0-9]{7}")
FILES = sorted(SCENARIO_DIR.glob("*/*.yaml"))


@cache
def _data() -> dict:
    return generate_dataset()


def _fresh_store(tmp_path: Path) -> RetailStore:
    store = RetailStore.open(tmp_path / "store.db")
    store.load_json(_data())
    return store


@pytest.fixture(params=FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def scenario(request) -> Scenario:
    return load_scenario(request.param)  # the harness's own loader: keys, regexes, understandings, tool arguments


def test_scenario_shape(scenario):
    path = scenario.source
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(raw) >= EXPLICIT_KEYS, f"not written out: {EXPLICIT_KEYS - set(raw)}"
    assert scenario.id == path.stem and scenario.category == path.parent.name
    assert scenario.description.strip()
    assert set(scenario.customer.knows) <= {"email", "first_name", "last_name", "zip"}
    assert set(scenario.expected_stages or []) <= STAGES
    assert 2 <= scenario.max_turns <= 30
    assert all(m.understanding is not None for m in scenario.messages()), "every message needs its understanding"


def test_understandings_agree_with_the_text(scenario):
    for msg in scenario.messages():
        u = msg.understanding
        # Order ids are only those written in the text, and every one written is there.
        assert set(u.order_ids) == set(ORDER_ID.findall(msg.say)), msg.say
        if u.email:
            assert u.email.lower() in msg.say.lower()
        if u.zip:
            assert u.zip in msg.say


def test_customer_matches_store(scenario):
    users = _data()["users"]
    uid = scenario.customer.user_id
    assert uid in users, f"no user {uid} in the generated store"
    user, knows = users[uid], scenario.customer.knows
    assert knows.get("email", user["email"]) == user["email"]
    assert knows.get("first_name", user["name"]["first_name"]) == user["name"]["first_name"]
    assert knows.get("last_name", user["name"]["last_name"]) == user["name"]["last_name"]
    assert knows.get("zip", user["address"]["zip"]) == user["address"]["zip"]
    # An email the customer writes is theirs, or (a typo) nobody's: never another customer's.
    emails = {u["email"]: k for k, u in users.items()}
    for msg in scenario.messages():
        if msg.understanding.email:
            assert emails.get(msg.understanding.email.lower(), uid) == uid, "another customer's email"


def test_expected_writes_apply(scenario, tmp_path):
    uid = scenario.customer.user_id
    writes = [(w.tool, dict(w.args)) for w in scenario.expected_writes]
    refused = [(w.tool, dict(w.args)) for w in scenario.must_fail]
    orders = _data()["orders"]
    for _, args in writes:  # expected writes only ever touch the customer's own data
        assert args.get("user_id", uid) == uid
        if "order_id" in args:
            assert orders[args["order_id"]]["user_id"] == uid
    if not writes and not refused:
        return
    with _fresh_store(tmp_path) as store:
        for tool, args in writes:
            result = run_tool(store, tool, args)
            assert not result.startswith("Error"), f"{tool}({args}) -> {result}"
        before = store.dump_json()
        for tool, args in refused:
            result = run_tool(store, tool, args)
            assert result.startswith("Error: "), f"{tool}({args}) should be refused, got {result[:120]}"
        assert store.dump_json() == before


def test_suite_size_and_coverage():
    scenarios = [load_scenario(p) for p in FILES]
    assert len(scenarios) >= 40
    assert len({s.id for s in scenarios}) == len(scenarios), "duplicate ids"
    per_category = Counter(s.category for s in scenarios)
    assert {c: per_category[c] for c in CATEGORIES if per_category[c] < 3} == {}
    assert sum(s.smoke for s in scenarios) == 5
    writes = [w for s in scenarios for w in s.expected_writes]
    assert {w.tool for w in writes} == WRITE_TOOLS
    assert {w.args["reason"] for w in writes if w.tool == "cancel_pending_order"} == {
        "no longer needed", "ordered by mistake"}
    assert any(s.must_fail for s in scenarios if s.category == "policy")
