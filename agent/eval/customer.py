"""The customers that talk to the agent: rule-based from the scenario file, or simulated by another model.

Both answer confirmation requests from the scenario's ``confirmations`` so that what gets approved is part of
the scenario, not of the simulated customer's mood.
"""

from __future__ import annotations

from typing import Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agent.eval.asking import answer_from_facts, asks, nudge
from agent.eval.scenario import Scenario
from prompts import load_prompt

#: What the simulated customer writes when its goal is reached or it gives up (τ-bench's convention).
STOP_TOKEN = "###STOP###"


class Customer(Protocol):
    """One side of the conversation."""

    simulated: bool
    """True for a model playing the customer: its failures to answer are told apart in the report."""

    def opening(self) -> str:
        """The first message."""
        ...

    async def next_message(self, agent_reply: str) -> str | None:
        """What the customer says after the agent's reply; None ends the conversation."""
        ...

    def confirm(self, request: str = "") -> bool:
        """The answer to the next confirmation request (``request``: what the agent showed): True approves."""
        ...


class _Confirmations:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._confirmed = 0

    def confirm(self, request: str = "") -> bool:
        """The scenario's next confirmation answer (the last one repeats)."""
        answer = self.scenario.confirmation(self._confirmed)
        self._confirmed += 1
        return answer


class RuleCustomer(_Confirmations):
    """Says the opening, answers questions by the first matching follow-up rule, then the ``then`` messages."""

    simulated = False

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario)
        self._used = [0] * len(scenario.follow_ups)
        self._then = 0

    def opening(self) -> str:
        """The scenario's opening message."""
        return self.scenario.opening.say

    async def next_message(self, agent_reply: str) -> str | None:
        """First follow-up whose ``when`` matches (each at most ``times``), else the next ``then``, else None."""
        for index, rule in enumerate(self.scenario.follow_ups):
            if self._used[index] < rule.times and rule.matches(agent_reply):
                self._used[index] += 1
                return rule.say
        if self._then < len(self.scenario.then):
            self._then += 1
            return self.scenario.then[self._then - 1].say
        return None


class SimulatedCustomer(_Confirmations):
    """Another model plays the customer from the scenario's description and known facts (``--customer-model``).

    The opening is the scenario's, so every run starts from the same request; the model writes the rest. A
    small model often writes the stop token right after the agent's first question, which ends the run as the
    agent's failure; so the chat ends only on evidence: the model asks to stop *and* the agent is not waiting
    for an answer (``asking.asks``). When the agent is waiting, the model is asked once more with a note
    saying so, and if it still wants to stop, a fact the agent asked for is answered from ``customer.knows``.
    """

    simulated = True

    def __init__(self, scenario: Scenario, model: BaseChatModel) -> None:
        super().__init__(scenario)
        self.model = model
        self.knows = dict(scenario.customer.knows)
        # str.replace, not format(): descriptions may contain braces.
        system = load_prompt("eval_customer").replace("{description}", scenario.description.strip())
        self._messages: list[BaseMessage] = [SystemMessage(system.replace("{facts}", facts_block(self.knows))),
                                             AIMessage(scenario.opening.say)]

    def opening(self) -> str:
        """The scenario's opening message."""
        return self.scenario.opening.say

    def confirm(self, request: str = "") -> bool:
        """The scenario's answer, also told to the model so that it knows what it approved or declined."""
        approved = super().confirm(request)
        self._messages += [HumanMessage(request or "(asks to confirm)"), AIMessage("yes" if approved else "no")]
        return approved

    async def next_message(self, agent_reply: str) -> str | None:
        """The model's answer to the agent's reply; None when it asks to stop and the agent is not asking."""
        # Roles are swapped: to the customer model, the agent is the "user" it talks to.
        self._messages.append(HumanMessage(agent_reply or "(no reply)"))
        text = await self._write(self._messages)
        if wants_to_stop(text) and asks(agent_reply):
            # The note goes into the system message: chat templates refuse a system message mid-conversation.
            noted = SystemMessage(f"{self._messages[0].content}\n\n{nudge()}")
            text = await self._write([noted, *self._messages[1:]])
            if wants_to_stop(text):
                text = answer_from_facts(agent_reply, self.knows) or text
        if wants_to_stop(text):
            return None
        self._messages.append(AIMessage(text))
        return text

    async def _write(self, messages: list[BaseMessage]) -> str:
        answer = await self.model.ainvoke(messages)
        return str(answer.content).strip()


def wants_to_stop(text: str) -> bool:
    """True when the customer model wrote the stop token, or nothing at all."""
    return STOP_TOKEN in text or not text.strip()


def facts_block(knows: dict[str, str]) -> str:
    """The customer's facts as one ``name: value`` line each, for the prompt's ``<facts>`` block."""
    lines = [f"{key.replace('_', ' ')}: {value}" for key, value in knows.items()]
    return "\n".join(lines) or "(none)"
