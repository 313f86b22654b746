"""The conversation driver answers the agent's last reply only: never an earlier question, even one shown again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from agent.eval.conversation import converse
from agent.eval.customer import RuleCustomer
from agent.eval.scenario import Scenario
from agent.runtime import ConfirmationRequested, Event, Reply


class FakeRuntime:
    """Plays scripted agent turns, one per customer message or confirmation answer; records what it was sent."""

    def __init__(self, turns: Sequence[Sequence[Event]]) -> None:
        self.turns = list(turns)
        self.received: list[str | bool] = []

    async def _next(self) -> AsyncIterator[Event]:
        for event in self.turns.pop(0):
            yield event

    def send(self, thread: str, text: str) -> AsyncIterator[Event]:
        self.received.append(text)
        return self._next()

    def answer_confirmation(self, thread: str, approved: bool) -> AsyncIterator[Event]:
        self.received.append(approved)
        return self._next()


def reply(message_id: str, text: str) -> Reply:
    return Reply(text=text, stage="order_desk", message_id=message_id, streamed=False)


def scenario() -> Scenario:
    return Scenario.model_validate({
        "id": "s", "category": "cancel", "customer": {"user_id": "u"},
        "opening": {"say": "Please cancel my order."},
        "follow_ups": [{"when": "e-?mail", "say": "lena@example.com"},
                       {"when": "which order", "say": "The one with the fan."},
                       {"when": "anything else", "say": "What is my other order's status?", "times": 1}],
    })


async def test_rules_match_the_last_reply_not_an_earlier_one_shown_again():
    ask_email = reply("m1", "What is your email address?")
    runtime = FakeRuntime([
        [ask_email],
        # The earlier question comes again with the new one (a node update carrying the whole message list):
        # the email rule still has a use left, but only "which order" was asked since the customer's message.
        [ask_email, reply("m2", "Thanks, Lena. Which order do you mean?")],
        [ConfirmationRequested(tool="cancel_pending_order", arguments={}, summary="Cancel #W1? Anything else?",
                               tool_call_id="c1")],
        [reply("m3", "Your order is cancelled.")],
    ])
    convo = await converse(runtime, "t", RuleCustomer(scenario()), max_turns=10)  # type: ignore[arg-type]
    assert runtime.received == ["Please cancel my order.", "lena@example.com", "The one with the fan.", True]
    assert convo.agent_texts == ["What is your email address?", "Thanks, Lena. Which order do you mean?",
                                 "Cancel #W1? Anything else?", "Your order is cancelled."]
    assert [e["text"] for e in convo.transcript if e["role"] == "agent"].count("What is your email address?") == 1
    assert not convo.turn_limit and convo.turns == 4
