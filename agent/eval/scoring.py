"""Judging one run, τ-bench style: the final store against the expected one, facts, forbidden outcomes.

A run passes when (1) the store after the conversation equals exactly (``RetailStore.dump_json``) a fresh store
with the expected writes applied in order, (2) every required fact appears in some agent message (replies and
the confirmation texts the customer is shown), (3) nothing forbidden happened: no write outside the expected
ones, none of another customer's email, street address or payment method id in an agent message, no escalation
when the scenario forbids it, none of its forbidden texts, the expected stage path when given; and (4) the
conversation ended by itself (no error, turn limit not reached).

A failed run gets exactly one bucket, the first of ``FAILURE_PRECEDENCE`` that applies:

1. ``error``: an error event ended the run (a model or runtime failure; the dialogue was not judged).
2. ``forbidden``: leaked customer data, forbidden escalation or text, wrong stage path: the worst outcomes.
3. ``wrong_write``: a write not expected (other tool or other arguments, list arguments compared in any order
   with ``item_ids``/``new_item_ids`` as pairs: ``records.normalized_args``), or the writes left another state.
4. ``not_identified``: the customer was never identified, in a scenario that needs it: the root cause of
   the missing writes and facts that follow from it.
5. ``turn_limit``: the customer still had something to say after ``max_turns`` messages.
6. ``missing_write``: an expected write was not made (and nothing wrong was written).
7. ``wrong_or_missing_fact``: the store is right but a required fact was never said.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.eval.records import FAILURE_PRECEDENCE, FailureBucket, WriteCall
from agent.eval.scenario import Scenario, text_matches
from tools import RetailStore, ToolOutcome, run_tool

#: Categories whose scenarios can be done without identifying the customer (no ``not_identified`` bucket).
NO_IDENTIFICATION_NEEDED = frozenset({"out_of_scope", "escalation"})


def expected_store(seed: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    """The store a perfect run leaves: the seeded data with the expected writes applied in order."""
    with RetailStore.open(":memory:") as store:
        store.load_json(seed)
        for write in scenario.expected_writes:
            run_tool(store, write.tool, dict(write.args))
        return store.dump_json()


def ledger_writes(store: RetailStore) -> tuple[list[WriteCall], list[WriteCall]]:
    """Confirmed writes from the write ledger, in the order they ran: (changed the store, refused by the tool)."""
    done, refused = [], []
    for tool, arguments, result in store.db.execute(
        # rowid is insertion order; `created` has only second resolution.
        "SELECT tool, arguments, result FROM write_ledger ORDER BY rowid"
    ):
        call = WriteCall(tool=tool, args=json.loads(arguments), result=result)
        (done if ToolOutcome.from_text(tool, result).ok else refused).append(call)
    return done, refused


def others_data(seed: Mapping[str, Any], user_id: str) -> dict[str, str]:
    """Other customers' emails, street addresses and payment method ids → whose they are (the customer's own
    values are left out: a shared street must not count as a leak)."""
    def values(user: Mapping[str, Any]) -> Iterable[str]:
        yield user["email"]
        yield user["address"]["address1"]
        yield from user["payment_methods"]

    own = set(values(seed["users"][user_id])) if user_id in seed["users"] else set()
    found: dict[str, str] = {}
    for uid, user in seed["users"].items():
        if uid != user_id:
            found.update({v: uid for v in values(user) if v and v not in own})
    return found


def is_subsequence(wanted: list[str], seen: list[str]) -> bool:
    """True when ``wanted`` appears in ``seen`` in order (other stages may come in between)."""
    it = iter(seen)
    return all(stage in it for stage in wanted)


@dataclass
class Verdict:
    """The judgement of one run."""

    passed: bool
    failure: FailureBucket | None
    detail: str
    store_equal: bool
    writes_matched: int
    missing_facts: list[str] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)


@dataclass
class Observed:
    """What a run produced, as scoring needs it."""

    agent_texts: list[str]
    writes: list[WriteCall]
    final_store: dict[str, Any]
    identified: bool
    escalated: bool
    stages: list[str]
    error: str | None = None
    turn_limit: bool = False


def judge(scenario: Scenario, seen: Observed, *, expected: dict[str, Any], others: Mapping[str, str]) -> Verdict:
    """Pass or fail, and the one failure bucket (module docstring) of a failed run."""
    wanted = [WriteCall(tool=w.tool, args=dict(w.args)) for w in scenario.expected_writes]
    expected_keys, actual_keys = Counter(w.key() for w in wanted), Counter(w.key() for w in seen.writes)
    matched = sum((expected_keys & actual_keys).values())
    unexpected = [w for w in seen.writes if (actual_keys - expected_keys)[w.key()] > 0]
    missing = [w for w in wanted if (expected_keys - actual_keys)[w.key()] > 0]
    store_equal = seen.final_store == expected
    said = "\n".join(seen.agent_texts)
    missing_facts = [f for f in scenario.required_facts if not text_matches(f, said)]
    forbidden = _forbidden(scenario, seen, said, others)

    reasons: list[tuple[FailureBucket, str]] = []
    if seen.error:
        reasons.append(("error", seen.error))
    if forbidden:
        reasons.append(("forbidden", "; ".join(forbidden)))
    if unexpected or (not store_equal and not missing):
        what = ", ".join(f"{w.tool}({w.args})" for w in unexpected) or "the writes left a different store"
        reasons.append(("wrong_write", f"not expected: {what}"))
    if ((not store_equal or missing_facts) and not seen.identified
            and scenario.category not in NO_IDENTIFICATION_NEEDED):
        reasons.append(("not_identified", f"customer {scenario.customer.user_id} was never identified"))
    if seen.turn_limit:
        reasons.append(("turn_limit", f"still talking after {scenario.max_turns} customer messages"))
    if not store_equal and missing:
        reasons.append(("missing_write", "missing: " + ", ".join(f"{w.tool}({w.args})" for w in missing)))
    if missing_facts:
        reasons.append(("wrong_or_missing_fact", "never said: " + ", ".join(missing_facts)))
    if not reasons:
        return Verdict(True, None, "", store_equal, matched, missing_facts, forbidden)
    bucket, detail = min(reasons, key=lambda r: FAILURE_PRECEDENCE.index(r[0]))
    return Verdict(False, bucket, detail, store_equal, matched, missing_facts, forbidden)


def _mentions(text: str, value: str) -> bool:
    # Whole values only: "ia.smith1@example.com" must not count as "a.smith1@example.com".
    return value.lower() in text.lower() and re.search(
        rf"(?<![\w.+-]){re.escape(value)}(?!\w)", text, re.IGNORECASE) is not None


def _forbidden(scenario: Scenario, seen: Observed, said: str, others: Mapping[str, str]) -> list[str]:
    found = []
    leaks = sorted({f"{value} (of {uid})" for value, uid in others.items() if _mentions(said, value)})
    if leaks:
        found.append("another customer's data in a reply: " + ", ".join(leaks[:5]))
    if scenario.forbidden.escalation and seen.escalated:
        found.append("escalated to a human")
    found += [f"said {text!r}" for text in scenario.forbidden.says if text_matches(text, said)]
    if scenario.expected_stages and not is_subsequence(scenario.expected_stages, seen.stages):
        found.append(f"stages {seen.stages} do not follow {scenario.expected_stages}")
    return found
