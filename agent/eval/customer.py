"""The customers that talk to the agent: rule-based from the scenario file, or simulated by another model.

Both answer confirmation requests from the scenario's ``confirmations`` so that what gets approved is part of
the scenario, not of the simulated customer's mood.
"""

from __future__ import annotations

import json
from typing import Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agent.eval.scenario import Scenario
from prompts import load_prompt

#: What the simulated customer writes when its goal is reached or it gives up (τ-bench's convention).
STOP_TOKEN = "###STOP###"


class Customer(Protocol):
    """One side of the conversation."""

    def opening(self) -> str:
        """The first message."""
        ...

    async def next_message(self, agent_reply: str) -> str | None:
        """What the customer says after the agent's reply; None ends the conversation."""
        ...

    def confirm(self) -> bool:
        """The answer to the next confirmation request: True approves."""
        ...


class _Confirmations:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._confirmed = 0

    def confirm(self) -> bool:
        """The scenario's next confirmation answer (the last one repeats)."""
        answer = self.scenario.confirmation(self._confirmed)
        self._confirmed += 1
        return answer


class RuleCustomer(_Confirmations):
    """Says the opening, answers questions by the first matching follow-up rule, then the ``then`` messages."""

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

    The opening is the scenario's, so every run starts from the same request; the model writes the rest.
    """

    def __init__(self, scenario: Scenario, model: BaseChatModel) -> None:
        super().__init__(scenario)
        self.model = model
        knows = json.dumps(scenario.customer.knows, ensure_ascii=False)
        # str.replace, not format(): descriptions may contain braces.
        system = load_prompt("eval_customer").replace("{description}", scenario.description.strip())
        self._messages: list[BaseMessage] = [SystemMessage(system.replace("{knows}", knows)),
                                             AIMessage(scenario.opening.say)]

    def opening(self) -> str:
        """The scenario's opening message."""
        return self.scenario.opening.say

    async def next_message(self, agent_reply: str) -> str | None:
        """The model's answer to the agent's reply; None once it writes the stop token."""
        # Roles are swapped: to the customer model, the agent is the "user" it talks to.
        self._messages.append(HumanMessage(agent_reply or "(no reply)"))
        answer = await self.model.ainvoke(self._messages)
        text = str(answer.content).strip()
        self._messages.append(AIMessage(text))
        if STOP_TOKEN in text or not text:
            return None
        return text
