"""The evaluation scenarios (`evals/scenarios/<category>/<id>.yaml`) agree with the generated demo store.

For every scenario file: it parses, every `understanding` validates against `graphs.understanding.Understanding`,
the customer exists and knows true facts about themselves, and the expected writes succeed, in order, on a fresh
generated store (the data `deskgraph data seed` writes), while every `must_fail` call is refused by the store
after them and changes nothing. The suite as a whole is large enough and covers every category.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import yaml

from graphs.understanding import Understanding
from tests.shared_data import REPO
from tools import TOOL_ARGS, WRITE_TOOLS, RetailStore, run_tool
from tools.generator import generate_dataset

SCENARIO_DIR = REPO / "evals" / "scenarios"
CATEGORIES = (
    "cancel", "modify_address", "modify_payment", "modify_items", "return", "exchange", "change_default_address",
    "order_info", "identification", "policy", "multi_task", "escalation", "out_of_scope", "security",
)
REQUIRED_KEYS = {"id", "category", "description", "customer", "opening", "confirmations", "expected_writes",
                 "required_facts", "max_turns"}
OPTIONAL_KEYS = {"smoke", "follow_ups", "then", "forbidden", "expected_stages", "must_fail"}
STAGES = {"intake", "order_desk", "escalation"}
ORDER_ID = re.compile(r"#W[0-9]{7}")
FILES = sorted(SCENARIO_DIR.glob("*/*.yaml"))


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def _data() -> dict:
    return generate_dataset()


def _fresh_store(tmp_path: Path) -> RetailStore:
    store = RetailStore.open(tmp_path / "store.db")
    store.load_json(_data())
    return store


def _messages(sc: dict) -> list[dict]:
    """Every customer message with its understanding: the opening, the follow-up rules, the `then` requests."""
    return [sc["opening"], *(sc.get("follow_ups") or []), *(sc.get("then") or [])]


def _confirmations(sc: dict) -> list[str]:
    c = sc["confirmations"]
    return c if isinstance(c, list) else [c]


def _calls(entries: list | None) -> list[tuple[str, dict]]:
    return [(e["tool"], e["args"]) for e in entries or []]


@pytest.fixture(params=FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def scenario(request) -> tuple[Path, dict]:
    return request.param, _load(request.param)


def test_scenario_shape(scenario):
    path, sc = scenario
    keys = set(sc)
    assert keys >= REQUIRED_KEYS, f"missing keys: {REQUIRED_KEYS - keys}"
    assert keys <= REQUIRED_KEYS | OPTIONAL_KEYS, f"unknown keys: {keys - REQUIRED_KEYS - OPTIONAL_KEYS}"
    assert re.fullmatch(r"[a-z0-9-]+", sc["id"]) and sc["id"] == path.stem
    assert sc["category"] in CATEGORIES and sc["category"] == path.parent.name
    assert isinstance(sc.get("smoke", False), bool)
    assert isinstance(sc["description"], str) and sc["description"].strip()
    assert set(sc["customer"]) == {"user_id", "knows"}
    assert set(sc["customer"]["knows"]) <= {"email", "first_name", "last_name", "zip"}
    for msg in _messages(sc):
        assert isinstance(msg["say"], str) and msg["say"].strip()
        assert set(msg) <= {"say", "understanding", "when", "times"} and "understanding" in msg
    for rule in sc.get("follow_ups") or []:
        re.compile(rule["when"], re.IGNORECASE)
        assert isinstance(rule.get("times", 2), int) and rule.get("times", 2) >= 1
    for entry in sc.get("then") or []:
        assert set(entry) == {"say", "understanding"}
    confirmations = _confirmations(sc)
    assert confirmations and set(confirmations) <= {"approve", "decline"}
    for fact in sc["required_facts"]:
        assert isinstance(fact, str) and fact
        if fact.startswith("re:"):
            re.compile(fact[3:], re.IGNORECASE)
    assert set(sc.get("forbidden") or {}) <= {"escalation"}
    assert set(sc.get("expected_stages") or []) <= STAGES
    assert isinstance(sc["max_turns"], int) and 2 <= sc["max_turns"] <= 30
    for tool, args in _calls(sc["expected_writes"]) + _calls(sc.get("must_fail")):
        assert tool in WRITE_TOOLS
        TOOL_ARGS[tool].model_validate(args)  # exact argument names and types


def test_understandings_validate(scenario):
    _, sc = scenario
    for msg in _messages(sc):
        u = Understanding.model_validate(msg["understanding"])
        # Order ids are only those written in the text, and every one written is there.
        assert set(u.order_ids) == set(ORDER_ID.findall(msg["say"])), msg["say"]
        if u.email:
            assert u.email.lower() in msg["say"].lower()
        if u.zip:
            assert u.zip in msg["say"]


def test_customer_matches_store(scenario):
    _, sc = scenario
    users = _data()["users"]
    uid = sc["customer"]["user_id"]
    assert uid in users, f"no user {uid} in the generated store"
    user, knows = users[uid], sc["customer"]["knows"]
    assert knows.get("email", user["email"]) == user["email"]
    assert knows.get("first_name", user["name"]["first_name"]) == user["name"]["first_name"]
    assert knows.get("last_name", user["name"]["last_name"]) == user["name"]["last_name"]
    assert knows.get("zip", user["address"]["zip"]) == user["address"]["zip"]
    # An email the customer writes is theirs, or (a typo) nobody's: never another customer's.
    emails = {u["email"]: k for k, u in users.items()}
    for msg in _messages(sc):
        email = msg["understanding"].get("email")
        if email:
            assert emails.get(email.lower(), uid) == uid, f"{email} belongs to another customer"


def test_expected_writes_apply(scenario, tmp_path):
    _, sc = scenario
    uid = sc["customer"]["user_id"]
    writes, refused = _calls(sc["expected_writes"]), _calls(sc.get("must_fail"))
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

