"""What one run produced and how it was judged: the JSON-ready record stored per (scenario, mode, repeat)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

FailureBucket = Literal[
    "error", "forbidden", "wrong_write", "not_identified", "turn_limit", "missing_write", "wrong_or_missing_fact",
]

#: What ended a conversation: the customer had nothing more to say, the turn limit, a hand-over, an error.
EndedBy = Literal["customer", "turn_limit", "hand_over", "error"]

#: The order in which a failed run's bucket is chosen: the first that applies wins (see ``scoring``).
FAILURE_PRECEDENCE: tuple[FailureBucket, ...] = (
    "error", "forbidden", "wrong_write", "not_identified", "turn_limit", "missing_write", "wrong_or_missing_fact",
)


class WriteCall(BaseModel):
    """One store write: the tool, its exact arguments, and (for writes that ran) what the tool answered."""

    tool: str
    args: dict[str, Any]
    result: str = ""

    def key(self) -> tuple[str, str]:
        """Identity for precision and recall: tool and exact arguments, up to key order and the order of list
        arguments (``normalized_args``)."""
        import json

        return self.tool, json.dumps(normalized_args(self.args), sort_keys=True)


def normalized_args(args: dict[str, Any]) -> dict[str, Any]:
    """The arguments with their list values in a canonical order, pairs kept together.

    Returning items [a, b] is the same write as returning [b, a], and the store ends up the same; but in an
    exchange ``item_ids[i]`` becomes ``new_item_ids[i]``, so the lists of one call are parallel and are sorted
    as pairs: [a, b] -> [x, y] equals [b, a] -> [y, x], not [b, a] -> [x, y]. Lists of different lengths
    (not parallel: an invalid call anyway) are sorted each on its own.
    """
    lists = sorted(k for k, v in args.items() if isinstance(v, list))
    if not lists:
        return args
    out = dict(args)
    if len({len(args[k]) for k in lists}) == 1:
        rows = sorted(zip(*(args[k] for k in lists), strict=True), key=repr)
        out.update({k: [row[i] for row in rows] for i, k in enumerate(lists)})
    else:
        out.update({k: sorted(args[k], key=repr) for k in lists})
    return out


class RunRecord(BaseModel):
    """One conversation of one scenario in one dialogue mode (one repeat), with its verdict and figures."""

    id: str
    category: str
    mode: str
    repeat: int
    passed: bool
    failure: FailureBucket | None = None
    failure_detail: str = ""
    turns: int = 0
    """Customer messages sent, confirmation answers included."""
    writes: list[WriteCall] = Field(default_factory=list)
    """Writes that changed the store, in order (from the write ledger)."""
    failed_writes: list[WriteCall] = Field(default_factory=list)
    """Confirmed writes the tool refused (they changed nothing)."""
    expected_writes: list[WriteCall] = Field(default_factory=list)
    writes_matched: int = 0
    """Writes equal (tool and exact arguments) to an expected one: numerator of precision and recall."""
    store_equal: bool = False
    missing_facts: list[str] = Field(default_factory=list)
    forbidden: list[str] = Field(default_factory=list)
    """What forbidden happened, in words (leaked data, escalation, forbidden text, wrong stage path)."""
    identified: bool = False
    escalated: bool = False
    stages: list[str] = Field(default_factory=list)
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    turn_latencies: list[float] = Field(default_factory=list)
    """Seconds from a customer message to the end of the agent's turn."""
    first_token_latencies: list[float] = Field(default_factory=list)
    """Seconds from a customer message to the first streamed reply token (turns that streamed one)."""
    seconds: float = 0.0
    error: str | None = None
    ended_by: EndedBy | None = None
    """What ended the conversation (None: a run that did not converse, or a record from before this field)."""
    customer_caused: str | None = None
    """Why this failure is the simulated customer's doing (it ended the chat while asked, never said who it is,
    went off-script, talked past its goal), or None: the failure is the agent's (see ``blame``)."""
    transcript: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, int]:
        """(scenario id, mode, repeat): what ``--out`` resumes by."""
        return self.id, self.mode, self.repeat
