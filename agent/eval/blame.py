"""Whether a failed run is the simulated customer's doing rather than the agent's (``--customer-model``).

A model playing the customer can end the chat while the agent waits for an answer, never say who it is, give
facts it does not have, or keep talking after its goal was met. Those failures say nothing about the agent,
so the record marks them (``RunRecord.customer_caused``) and the report counts them apart. Only what the
transcript shows is used; the agent's own mistakes (a wrong write, leaked data, an error) are never blamed on
the customer.
"""

from __future__ import annotations

import re

from agent.eval.asking import asks, facts_asked, questions
from agent.eval.records import FailureBucket, RunRecord
from agent.eval.scenario import Scenario

#: Failures the customer cannot cause: the agent's or the harness's alone.
NEVER_THE_CUSTOMERS: frozenset[FailureBucket] = frozenset({"error", "forbidden"})
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def customer_caused(scenario: Scenario, record: RunRecord) -> str | None:
    """Why the failure of ``record`` is the customer's (it ended or went off-script), or None."""
    if record.passed or record.failure in NEVER_THE_CUSTOMERS:
        return None
    return (_off_script(scenario, record) or _identity_withheld(scenario, record)
            or _ended_while_asked(record) or _talked_on(record))


def _customer_said(record: RunRecord) -> str:
    # Confirmation answers are the scenario's, not the customer model's.
    return "\n".join(e["text"] for e in record.transcript if e["role"] == "customer" and not e.get("confirmation"))


def _off_script(scenario: Scenario, record: RunRecord) -> str | None:
    """An email that is neither the customer's nor one the scenario has them write (a deliberate typo)."""
    allowed = {scenario.customer.knows.get("email", "").lower()}
    allowed |= {e.lower() for m in scenario.messages() for e in _EMAIL.findall(m.say)}
    for email in _EMAIL.findall(_customer_said(record)):
        if email.lower() not in allowed:
            return f"gave an email that is not theirs: {email}"
    return None


def _identity_withheld(scenario: Scenario, record: RunRecord) -> str | None:
    """Asked for their email or name and zip, the customer never gave either, and was never identified."""
    knows = scenario.customer.knows
    identity = [v for v in (knows.get("email"), knows.get("zip")) if v]
    if record.identified or not identity:
        return None
    asked = any(facts_asked(e["text"]) for e in record.transcript if e["role"] == "agent")
    said = _customer_said(record).lower()
    if asked and not any(v.lower() in said for v in identity):
        return "never gave their email, or name and zip, though the agent asked for them"
    return None


def _ended_while_asked(record: RunRecord) -> str | None:
    """The customer ended the chat while the agent's last reply was waiting for an answer."""
    if record.ended_by != "customer" or not record.transcript:
        return None
    last_turn = max(e["turn"] for e in record.transcript)
    last = "\n".join(e["text"] for e in record.transcript if e["role"] == "agent" and e["turn"] == last_turn)
    if asks(last):
        return f"ended the chat while the agent asked: {questions(last)[-1]!r}"
    return None


def _talked_on(record: RunRecord) -> str | None:
    """The store and the facts were right, but the customer never ended the chat."""
    if record.failure == "turn_limit" and record.store_equal and not record.missing_facts:
        return "kept talking after its goal was met, until the turn limit"
    return None
