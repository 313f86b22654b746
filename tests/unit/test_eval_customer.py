"""The customers: follow-up rules in order and bounded, `then` messages, confirmations; the simulated customer
answers what it is asked from its facts and ends the chat only when the agent is not waiting for an answer."""

from __future__ import annotations

import pytest

from agent.eval.asking import asks, facts_asked
from agent.eval.customer import STOP_TOKEN, RuleCustomer, SimulatedCustomer
from agent.eval.scenario import Scenario
from agent.testing import ScriptedChatModel


def scenario() -> Scenario:
    return Scenario.model_validate({
        "id": "s", "category": "cancel", "description": "You are Lena {braces kept}.",
        "customer": {"user_id": "u", "knows": {"email": "lena@example.com", "first_name": "Lena",
                                               "last_name": "Moreau", "zip": "74103"}},
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


async def test_simulated_customer_plays_from_the_description_and_its_facts():
    model = ScriptedChatModel(["It's lena@example.com.", f"Thanks! {STOP_TOKEN}"])
    c = SimulatedCustomer(scenario(), model)
    assert c.opening() == "Cancel my order."
    assert await c.next_message("Which email is on the account?") == "It's lena@example.com."
    assert c.confirm("Cancel order #W1? (yes/no)") is False  # the scenario decides, the model is told
    assert await c.next_message("Alright, nothing was changed.") is None
    messages, _ = model.requests[-1]
    system = messages[0].content
    # The goal and the facts are separate blocks: the facts one per line, as the agent would ask for them.
    assert "<goal>\nYou are Lena {braces kept}.\n</goal>" in system
    assert "<facts>\nemail: lena@example.com\nfirst name: Lena\nlast name: Moreau\nzip: 74103\n</facts>" in system
    # To the customer model the agent is the user: its replies are human messages, its own lines AI messages.
    assert [(m.type, m.content) for m in messages[1:]] == [
        ("ai", "Cancel my order."), ("human", "Which email is on the account?"), ("ai", "It's lena@example.com."),
        ("human", "Cancel order #W1? (yes/no)"), ("ai", "no"), ("human", "Alright, nothing was changed.")]
    model.assert_complete()


async def test_an_email_question_is_answered_with_the_known_email_instead_of_stopping():
    """The model stops at the first question, twice: the customer gives the email it knows."""
    model = ScriptedChatModel([STOP_TOKEN, STOP_TOKEN])
    c = SimulatedCustomer(scenario(), model)
    assert await c.next_message("I can help with that. What is the email address on your account?") == (
        "My email is lena@example.com.")
    # The second request told the model the agent is waiting; the history keeps what was said.
    retry, _ = model.requests[1]
    assert "waiting for your answer" in retry[0].content and "waiting" not in model.requests[0][0][0].content
    model.assert_complete()


async def test_no_stop_while_the_agent_asks_a_question():
    """Told that the agent waits, the model answers. Only if it insists, on a question its facts cannot answer,
    does the chat end (and the run's failure is marked as the customer's, see test_eval_blame)."""
    model = ScriptedChatModel([STOP_TOKEN, "The one with the desk fan.", STOP_TOKEN, STOP_TOKEN])
    c = SimulatedCustomer(scenario(), model)
    assert await c.next_message("Which order would you like to cancel?") == "The one with the desk fan."
    assert await c.next_message("Please tell me the reason for the cancellation.") is None
    model.assert_complete()


async def test_stops_after_a_done_confirmation():
    """"Anything else?" after a finished task asks for nothing: the stop token ends the chat at once."""
    model = ScriptedChatModel([STOP_TOKEN])
    c = SimulatedCustomer(scenario(), model)
    assert await c.next_message("Done: order #W1000001 is cancelled and refunded. Is there anything else I can "
                                "help you with?") is None
    model.assert_complete()


@pytest.mark.parametrize(("reply", "waiting", "facts"), [
    ("What is your email address?", True, ["email"]),
    ("Could you give me your full name and zip code", True, ["name", "zip"]),
    ("Thanks, Lena. Which order would you like to cancel?", True, []),
    ("Your order is cancelled. Is there anything else I can help you with?", False, []),
    ("I'm sorry, a delivered order cannot be cancelled.", False, []),
    ("Order #W1000002 is delivered.\nHave a great day!", False, []),
])
def test_reading_whether_the_agent_waits_for_an_answer(reply, waiting, facts):
    assert asks(reply) is waiting and facts_asked(reply) == facts
