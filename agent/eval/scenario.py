"""The scenario file format (``evals/FORMAT.md``) as pydantic models, and the loader for files and folders.

One YAML file holds one scenario. Loading validates everything that can be checked without a model: field
names (unknown keys are errors, so typos do not silently weaken a scenario), regexes, the ``understanding``
annotations against :class:`graphs.understanding.Understanding`, and the expected writes against the tools'
argument models. ``agent.eval.checks`` adds the checks that need the demo store or the whole suite.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from graphs.understanding import Understanding
from tools import WRITE_TOOLS, spec

#: The default place of the scenario files (relative to the checkout).
DEFAULT_SCENARIO_DIR = Path("evals/scenarios")

Category = Literal[
    "cancel", "modify_address", "modify_payment", "modify_items", "return", "exchange", "change_default_address",
    "order_info", "identification", "policy", "multi_task", "escalation", "out_of_scope", "security",
    "exclusion", "quantifiers", "ranking", "conditions", "restatements", "circles",
]


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and what is wrong."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Customer(_Strict):
    """Who the customer is in the demo store, and what they can tell the agent."""

    user_id: str
    """The store's user id (``deskgraph data seed`` defaults)."""
    knows: dict[str, str] = Field(default_factory=dict)
    """Facts the customer knows (email, names, zip, ...): the simulated customer's material."""


class Message(_Strict):
    """Something the customer says, with what a perfect reader would understand of it."""

    say: str = Field(min_length=1)
    understanding: Understanding | None = None
    """Feeds ``--perfect-understanding``; optional for runs on a real model."""


class FollowUp(Message):
    """An answer the customer gives when the agent's last reply matches ``when``."""

    when: str
    """A case-insensitive regex searched in the agent's last reply."""
    times: int = Field(2, ge=1)
    """How often this rule may fire in one conversation (keeps a confused agent from looping forever)."""

    @field_validator("when")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"`when` is not a valid regex: {exc}") from exc
        return value

    def matches(self, reply: str) -> bool:
        """True when the agent's reply triggers this rule."""
        return re.search(self.when, reply, re.IGNORECASE) is not None


class ExpectedWrite(_Strict):
    """One write the agent must make, with the exact arguments the tool takes."""

    tool: str
    args: dict[str, Any]

    @model_validator(mode="after")
    def _valid_call(self) -> ExpectedWrite:
        declared = spec(self.tool)
        if declared is None or not declared.writes:
            raise ValueError(f"{self.tool!r} is not a write tool (one of {sorted(WRITE_TOOLS)})")
        declared.args.model_validate(self.args)
        return self


class Forbidden(_Strict):
    """Optional extra forbidden outcomes (a write not expected and another customer's data always are)."""

    escalation: bool = False
    """A hand-over to a human fails the run."""
    says: list[str] = Field(default_factory=list)
    """Texts no agent reply may contain (case-insensitive; ``re:`` prefix = regex), e.g. for injection attempts."""

    @field_validator("says")
    @classmethod
    def _patterns(cls, values: list[str]) -> list[str]:
        return [_check_pattern(v) for v in values]


class Scenario(_Strict):
    """One customer scenario (see ``evals/FORMAT.md``)."""

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    category: Category
    description: str = ""
    """The customer's goal in prose: for humans and for the simulated customer (``--customer-model``)."""
    customer: Customer
    opening: Message
    follow_ups: list[FollowUp] = Field(default_factory=list)
    then: list[Message] = Field(default_factory=list)
    confirmations: list[Literal["approve", "decline"]] = Field(default_factory=lambda: ["approve"], min_length=1)
    """Answers to confirmation requests in order; the last one repeats."""
    expected_writes: list[ExpectedWrite] = Field(default_factory=list)
    must_fail: list[ExpectedWrite] = Field(default_factory=list)
    """Refusal scenarios: the writes the customer asks for that the store must refuse (checked in the fast tier:
    each fails after the expected writes and changes nothing). Not used in scoring: any write not expected fails."""
    required_facts: list[str] = Field(default_factory=list)
    forbidden: Forbidden = Field(default_factory=Forbidden)
    expected_stages: list[str] | None = None
    """Stages the conversation must visit, as an ordered subsequence of the stages it went through."""
    max_turns: int = Field(10, ge=1)
    """Customer messages (confirmation answers included) before the run counts as ``turn_limit``."""
    smoke: bool = False
    """Part of the 5-scenario smoke subset of the model test tier."""
    source: Path | None = Field(None, exclude=True)
    """The file it was loaded from (set by the loader, not written in the file)."""

    @field_validator("confirmations", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        # The format allows `confirmations: approve` for a single answer.
        return [value] if isinstance(value, str) else value

    @field_validator("required_facts")
    @classmethod
    def _facts(cls, values: list[str]) -> list[str]:
        return [_check_pattern(v) for v in values]

    def messages(self) -> list[Message]:
        """Everything the rule-based customer may say."""
        return [self.opening, *self.follow_ups, *self.then]

    def understandings(self) -> dict[str, dict[str, Any]]:
        """Message text → understanding (as a dict), for the perfect-understanding model double."""
        return {m.say: m.understanding.model_dump(mode="json") for m in self.messages() if m.understanding}

    def confirmation(self, index: int) -> bool:
        """The customer's answer to the ``index``-th confirmation request (0-based): True to approve."""
        return self.confirmations[min(index, len(self.confirmations) - 1)] == "approve"


def _check_pattern(value: str) -> str:
    if value.startswith("re:"):
        try:
            re.compile(value[3:], re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"{value!r} is not a valid regex: {exc}") from exc
    return value


def text_matches(pattern: str, text: str) -> bool:
    """A required fact or forbidden text in ``text``: case-insensitive substring, or regex with ``re:``."""
    if pattern.startswith("re:"):
        return re.search(pattern[3:], text, re.IGNORECASE) is not None
    return pattern.lower() in text.lower()


def load_scenario(path: Path) -> Scenario:
    """One scenario file, validated; errors name the file and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot read YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping at the top level")
    try:
        return Scenario.model_validate({**data, "source": path})
    except ValidationError as exc:
        raise ScenarioError(f"{path}: {exc}") from exc


def scenario_files(paths: Iterable[Path]) -> list[Path]:
    """The YAML files named, or found (recursively) under the folders named, in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise ScenarioError(f"{path}: no such file or folder")
    return list(dict.fromkeys(files))


def load_scenarios(paths: Sequence[Path] = (DEFAULT_SCENARIO_DIR,)) -> list[Scenario]:
    """Every scenario under ``paths``; fails on the first bad file and on duplicate ids."""
    scenarios = [load_scenario(f) for f in scenario_files(paths)]
    seen: dict[str, Path | None] = {}
    for s in scenarios:
        if s.id in seen:
            raise ScenarioError(f"{s.source}: duplicate id {s.id!r} (also in {seen[s.id]})")
        seen[s.id] = s.source
    return scenarios

