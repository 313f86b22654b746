"""Failures the simulated customer caused are told from the agent's, from the transcript alone."""

from __future__ import annotations

from typing import Any

from agent.eval.blame import customer_caused
from agent.eval.records import RunRecord
from agent.eval.scenario import Scenario

SCENARIO = Scenario.model_validate({
    "id": "s", "category": "cancel", "customer": {"user_id": "u", "knows": {"email": "lena@example.com",
                                                                            "zip": "74103"}},
    "opening": {"say": "Please cancel my fan order."},
    "follow_ups": [{"when": "e-?mail", "say": "It's lena@exmaple.com."}],  # a deliberate typo the file writes
})


def agent(turn: int, text: str) -> dict[str, Any]:
    return {"turn": turn, "role": "agent", "stage": "intake", "text": text}


def customer(turn: int, text: str) -> dict[str, Any]:
    return {"turn": turn, "role": "customer", "text": text}


def record(*transcript: dict[str, Any], failure: str = "missing_write", **fields: Any) -> RunRecord:
    return RunRecord(id="s", category="cancel", mode="flows", repeat=1, passed=failure is None,
                     failure=failure, ended_by=fields.pop("ended_by", "customer"),
                     transcript=list(transcript), **fields)


def test_ending_the_chat_while_asked_is_the_customers():
    run = record(customer(1, "Please cancel my fan order. I'm lena@example.com."),
                 agent(1, "Found you, Lena. Which order do you mean?"), identified=True)
    assert customer_caused(SCENARIO, run) == "ended the chat while the agent asked: 'Which order do you mean?'"


def test_never_saying_who_they_are_is_the_customers():
    run = record(customer(1, "Please cancel my fan order."), agent(1, "Sure. What is your email address?"),
                 customer(2, "I just want it cancelled."), agent(2, "I need your email to find the order."),
                 failure="not_identified")
    assert customer_caused(SCENARIO, run) == (
        "never gave their email, or name and zip, though the agent asked for them")


def test_an_invented_email_is_off_script_but_the_files_own_typo_is_not():
    invented = record(customer(1, "Cancel it. I'm lena.m@example.org."), agent(1, "No account has that email."),
                      failure="not_identified", ended_by="turn_limit")
    assert customer_caused(SCENARIO, invented) == "gave an email that is not theirs: lena.m@example.org"
    typo = record(customer(1, "It's lena@exmaple.com."), agent(1, "No account has that email, sorry."),
                  failure="not_identified", ended_by="turn_limit")
    assert customer_caused(SCENARIO, typo) is None


def test_talking_past_the_goal_is_the_customers():
    run = record(customer(1, "Thanks!"), agent(1, "You're welcome."), failure="turn_limit", ended_by="turn_limit",
                 store_equal=True, identified=True)
    assert customer_caused(SCENARIO, run) == "kept talking after its goal was met, until the turn limit"


def test_the_agents_failures_stay_the_agents():
    done = agent(1, "Your order is cancelled. Is there anything else I can help you with?")
    assert customer_caused(SCENARIO, record(customer(1, "lena@example.com, cancel it"), done,
                                            failure="wrong_or_missing_fact", identified=True)) is None
    asked = agent(1, "Which order do you mean?")
    for failure in ("forbidden", "error"):
        assert customer_caused(SCENARIO, record(customer(1, "hi"), asked, failure=failure)) is None
    assert customer_caused(SCENARIO, record(customer(1, "hi"), asked, failure=None)) is None  # passed
