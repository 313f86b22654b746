"""The customers: follow-up rules in order and bounded, `then` messages, confirmations; the simulated customer."""

from __future__ import annotations

from agent.eval.customer import STOP_TOKEN, RuleCustomer, SimulatedCustomer
from agent.eval.scenario import Scenario
from agent.testing import ScriptedChatModel


def scenario() -> Scenario:
    return Scenario.model_validate({
        "id": "s", "category": "cancel", "description": "You are Lena {braces kept}.",
        "customer": {"user_id": "u", "knows": {"email": "lena@example.com"}},
        "opening": {"say": "Cancel my order."},
        "follow_ups": [{"when": "e-?mail", "say": "lena@example.com", "times": 1},
                       {"when": "reason|why", "say": "No longer needed."}],
        "then": [{"say": "Also, where is my other order?"}],
        "confirmations": ["decline", "approve"],
    })


async def test_rule_customer_answers_by_rule_then_moves_on_then_ends():
    c = RuleCustomer(scenario())
    assert c.opening() == "Cancel my order."
    assert await c.next_message("What is your EMAIL?") == "lena@example.com"
    # The email rule fired its one time; the reason rule fires; unmatched replies move to `then`, then end.
    assert await c.next_message("Your email again, and why?") == "No longer needed."
    assert await c.next_message("Done.") == "Also, where is my other order?"
    assert await c.next_message("It is on its way.") is None
    assert [c.confirm(), c.confirm(), c.confirm()] == [False, True, True]


async def test_simulated_customer_plays_from_the_description_and_stops():
    model = ScriptedChatModel(["It's lena@example.com.", f"Thanks! {STOP_TOKEN}"])
    c = SimulatedCustomer(scenario(), model)
    assert c.opening() == "Cancel my order."
    assert await c.next_message("Which email is on the account?") == "It's lena@example.com."
    assert await c.next_message("Cancelled.") is None
    messages, _ = model.requests[-1]
    system = messages[0].content
    assert "You are Lena {braces kept}." in system and '"email": "lena@example.com"' in system
    # To the customer model the agent is the user: its replies are human messages, its own lines AI messages.
    assert [m.type for m in messages[1:]] == ["ai", "human", "ai", "human"]
    model.assert_complete()
