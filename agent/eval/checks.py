"""Checks of scenario files beyond what the loader validates: the format's conventions, the ``understanding``
annotations against their own text, and the scenario against the demo store (``evals/README.md``, "How
scenarios are checked").

One implementation for both callers: ``deskgraph eval --check`` prints the problems, and the fast test tier
(``tests/unit/test_eval_scenarios.py``) asserts there are none. Every check returns problems as sentences, so
a file with several mistakes shows them all at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, get_args

from agent.eval.scenario import Category, Message, Scenario, ScenarioError, load_scenario
from tools import WRITE_TOOLS, RetailStore, call_tool, for_task
from tools.order_ids import order_ids_in

#: Written out in every file, even when empty or the default, so each scenario states its intent.
EXPLICIT_KEYS = frozenset({"id", "category", "description", "customer", "opening", "confirmations",
                           "expected_writes", "required_facts", "max_turns"})
#: What ``customer.knows`` may hold: the facts the store can confirm.
KNOWN_FACTS = frozenset({"email", "first_name", "last_name", "zip"})
STAGES = frozenset({"intake", "order_desk", "escalation"})
MIN_TURNS, MAX_TURNS = 2, 30
#: Suite coverage: enough scenarios overall and per category, a fixed smoke subset.
MIN_SCENARIOS, MIN_PER_CATEGORY, SMOKE_SCENARIOS = 40, 3, 5
CANCEL_REASONS = frozenset({"no longer needed", "ordered by mistake"})


def check_scenario(scenario: Scenario, data: dict[str, Any]) -> list[str]:
    """Every problem of one loaded scenario against the demo store data (``demo_dataset()``); [] when fine."""
    return [*shape_problems(scenario), *understanding_problems(scenario), *customer_problems(scenario, data),
            *write_problems(scenario, data)]


def labelled_messages(scenario: Scenario) -> list[tuple[str, Message]]:
    """Every message the rule-based customer may say, with where it is in the file (for problem reports)."""
    return [("opening", scenario.opening),
            *((f"follow_ups[{i}] (when {f.when!r})", f) for i, f in enumerate(scenario.follow_ups)),
            *((f"then[{i}]", m) for i, m in enumerate(scenario.then))]


def missing_understandings(scenario: Scenario) -> list[str]:
    """The messages without an ``understanding`` annotation (``--perfect-understanding`` cannot read them)."""
    return [f"{where} has no `understanding`: {m.say!r}" for where, m in labelled_messages(scenario)
            if m.understanding is None]


def shape_problems(scenario: Scenario) -> list[str]:
    """The conventions of the format: keys written out, id and category named by the file, sane bounds."""
    problems = []
    unwritten = EXPLICIT_KEYS - scenario.model_fields_set
    if unwritten:
        problems.append(f"not written out (write them even when empty): {', '.join(sorted(unwritten))}")
    if scenario.source is not None:
        if scenario.id != scenario.source.stem:
            problems.append(f"id {scenario.id!r} is not the file name {scenario.source.stem!r}")
        if scenario.category != scenario.source.parent.name:
            problems.append(f"category {scenario.category!r} is not the folder {scenario.source.parent.name!r}")
    if not scenario.description.strip():
        problems.append("description is empty (the simulated customer plays from it)")
    if extra := set(scenario.customer.knows) - KNOWN_FACTS:
        problems.append(f"customer.knows has {sorted(extra)}: only {sorted(KNOWN_FACTS)}")
    if extra := set(scenario.expected_stages or []) - STAGES:
        problems.append(f"expected_stages has unknown stages {sorted(extra)} (known: {sorted(STAGES)})")
    if not MIN_TURNS <= scenario.max_turns <= MAX_TURNS:
        problems.append(f"max_turns {scenario.max_turns} is outside {MIN_TURNS}..{MAX_TURNS}")
    return problems + missing_understandings(scenario)


def understanding_problems(scenario: Scenario) -> list[str]:
    """Annotations that say more or less than their text: order ids exactly those written, email and zip in it."""
    problems = []
    for where, msg in labelled_messages(scenario):
        u = msg.understanding
        if u is None:
            continue  # reported by shape_problems
        written = set(order_ids_in(msg.say))
        if set(u.order_ids) != written:
            problems.append(f"{where}: understanding order_ids {sorted(u.order_ids)} are not the ids written "
                            f"{sorted(written)}")
        if u.email and u.email.lower() not in msg.say.lower():
            problems.append(f"{where}: understanding email {u.email!r} is not in the text")
        if u.zip and u.zip not in msg.say:
            problems.append(f"{where}: understanding zip {u.zip!r} is not in the text")
    return problems


def customer_problems(scenario: Scenario, data: dict[str, Any]) -> list[str]:
    """The customer exists, ``knows`` is true of them, and no email they write is another customer's."""
    users = data["users"]
    uid = scenario.customer.user_id
    if uid not in users:
        return [f"customer {uid!r} is not in the demo store"]
    user = users[uid]
    truth = {"email": user["email"], "first_name": user["name"]["first_name"],
             "last_name": user["name"]["last_name"], "zip": user["address"]["zip"]}
    problems = [f"customer.knows {key} {value!r} is not the store's {truth[key]!r}"
                for key, value in scenario.customer.knows.items() if key in truth and value != truth[key]]
    owners = {u["email"]: k for k, u in users.items()}
    for where, msg in labelled_messages(scenario):
        email = msg.understanding.email if msg.understanding else None
        # A typo is fine (nobody's email); another customer's address would test the wrong thing.
        if email and owners.get(email.lower(), uid) != uid:
            problems.append(f"{where}: the email {email!r} is another customer's ({owners[email.lower()]})")
    return problems


def write_problems(scenario: Scenario, data: dict[str, Any]) -> list[str]:
    """Expected writes touch only the customer's own data and succeed in order on a fresh store; then each
    ``must_fail`` call is refused and changes nothing."""
    uid = scenario.customer.user_id
    problems = []
    for write in scenario.expected_writes:
        owner = write.args.get("user_id", uid)
        order = data["orders"].get(write.args.get("order_id", ""), {"user_id": uid})
        if owner != uid or order["user_id"] != uid:
            problems.append(f"expected write {write.tool}({write.args}) touches another customer's data")
    if not scenario.expected_writes and not scenario.must_fail:
        return problems
    with RetailStore.open(":memory:") as store:
        store.load_json(data)
        for write in scenario.expected_writes:
            outcome = call_tool(store, write.tool, dict(write.args))
            if not outcome.ok:
                problems.append(f"expected write {write.tool}({write.args}) fails on the demo store: {outcome.text()}")
        for write in scenario.must_fail:
            before = store.dump_json()
            outcome = call_tool(store, write.tool, dict(write.args))
            if outcome.ok:
                problems.append(f"must_fail {write.tool}({write.args}) succeeds on the demo store: "
                                f"{outcome.text()[:120]}")
            if store.dump_json() != before:
                problems.append(f"must_fail {write.tool}({write.args}) changes the store")
    return problems


def suite_problems(scenarios: Sequence[Scenario]) -> list[str]:
    """Coverage of the whole suite: size, every category, the smoke subset, every write tool, both reasons."""
    problems = []
    if len(scenarios) < MIN_SCENARIOS:
        problems.append(f"{len(scenarios)} scenarios: the suite needs at least {MIN_SCENARIOS}")
    ids = Counter(s.id for s in scenarios)
    if dupes := sorted(i for i, n in ids.items() if n > 1):
        problems.append(f"duplicate ids: {', '.join(dupes)}")
    per_category = Counter(s.category for s in scenarios)
    # The categories come from the format's own list, so a category added there is held to the same minimum.
    if thin := {c: per_category[c] for c in get_args(Category) if per_category[c] < MIN_PER_CATEGORY}:
        problems.append(f"categories with fewer than {MIN_PER_CATEGORY} scenarios: {thin}")
    if (smoke := sum(s.smoke for s in scenarios)) != SMOKE_SCENARIOS:
        problems.append(f"{smoke} smoke scenarios: the model tier runs exactly {SMOKE_SCENARIOS}")
    writes = [w for s in scenarios for w in s.expected_writes]
    if unused := WRITE_TOOLS - {w.tool for w in writes}:
        problems.append(f"write tools no scenario expects: {sorted(unused)}")
    cancel = for_task("cancel").name
    reasons = {w.args.get("reason") for w in writes if w.tool == cancel}
    if missing := CANCEL_REASONS - reasons:
        problems.append(f"cancellation reasons no scenario expects: {sorted(missing)}")
    if not any(s.must_fail for s in scenarios if s.category == "policy"):
        problems.append("no policy scenario lists a refused write under must_fail")
    return problems


def check_files(files: Sequence[Path], data: dict[str, Any], *, whole_suite: bool) -> dict[str, list[str]]:
    """Problems per file (and under ``"suite"`` for coverage, when ``whole_suite``), every file loaded on its
    own so one bad file does not hide the others; only entries with problems are returned."""
    found: dict[str, list[str]] = {}
    scenarios = []
    for path in files:
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            # The loader's message starts with the path: keep only what is wrong.
            found[str(path)] = [str(exc).removeprefix(f"{path}: ")]
            continue
        scenarios.append(scenario)
        if problems := check_scenario(scenario, data):
            found[str(path)] = problems
    if whole_suite and (problems := suite_problems(scenarios)):
        found["suite"] = problems
    return found
