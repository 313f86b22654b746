"""A thread's transcript as typed entries: what was said, which tools ran with what result, stage changes and
confirmations, each with the step of the checkpoint that recorded it.

The entries are the one vocabulary of ``threads export`` and ``threads diff`` (and of any HTTP route that serves
them): front ends only render them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

from graphs.operator import operator_of

EntryKind = Literal["customer", "agent", "operator", "tool_call", "tool_result", "stage_changed", "confirmation_requested",
                    "confirmation_answered", "handed_over"]


@dataclass(frozen=True)
class Entry:
    """One line of the transcript. Fields that do not apply to a kind stay None and are left out of JSON."""

    step: int
    kind: EntryKind
    text: str = ""
    """What was said; a tool's result; a stage change's reason; a confirmation's summary or answer."""
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    call_id: str | None = None
    ok: bool | None = None
    """A tool result: succeeded or not. An answered confirmation: the write ran and succeeded."""
    source: str | None = None
    target: str | None = None
    ticket: int | None = None
    author: str | None = None
    """An operator's message: the person who wrote it."""
    message_id: str | None = field(default=None, compare=False, repr=False)
    """Only to drop the entry again when a later step removes its message (not exported: ids are random)."""

    def as_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready data, without the fields that do not apply."""
        data = asdict(self)
        data.pop("message_id")
        return {key: value for key, value in data.items() if value is not None and value != ""} | {
            "step": self.step, "kind": self.kind}


def _text(content: Any) -> str:
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


def message_entries(messages: list[AnyMessage], step: int) -> list[Entry]:
    """The entries of messages written at one step, in order."""
    entries: list[Entry] = []
    for m in messages:
        if isinstance(m, HumanMessage):
            entries.append(Entry(step, "customer", _text(m.content), message_id=m.id))
        elif isinstance(m, ToolMessage):
            entries.append(Entry(step, "tool_result", _text(m.content), tool=m.name, call_id=m.tool_call_id,
                                 ok=m.status != "error", message_id=m.id))
        elif isinstance(m, AIMessage):
            if m.content and (person := operator_of(m)):
                entries.append(Entry(step, "operator", _text(m.content), author=person, message_id=m.id))
            elif m.content:
                entries.append(Entry(step, "agent", _text(m.content), message_id=m.id))
            entries += [Entry(step, "tool_call", tool=c["name"], arguments=dict(c["args"]), call_id=c.get("id"),
                              message_id=m.id) for c in m.tool_calls]
    return entries


def entry_line(entry: Entry) -> str:
    """One readable line (plain text, for the terminal and for Markdown list items alike)."""
    match entry.kind:
        case "customer":
            return f"customer: {entry.text}"
        case "agent":
            return f"agent: {entry.text}"
        case "operator":
            return f"operator ({entry.author}): {entry.text}"
        case "tool_call":
            return f"-> {entry.tool}({json.dumps(entry.arguments, ensure_ascii=False)})"
        case "tool_result":
            return f"<- {entry.tool or 'tool'} {'ok' if entry.ok else 'failed'}: {entry.text}"
        case "stage_changed":
            return f"stage: {entry.source} -> {entry.target} ({entry.text})"
        case "confirmation_requested":
            return f"confirmation asked: {entry.text} [{entry.tool} {json.dumps(entry.arguments, ensure_ascii=False)}]"
        case "confirmation_answered":
            outcome = "write done" if entry.ok else "nothing written" if entry.ok is None else "write failed"
            return f"confirmation answered: {entry.text or '-'} -> {outcome}"
        case "handed_over":
            return f"handed over: ticket #{entry.ticket} ({entry.text})"
    return entry.text  # pragma: no cover - every kind is matched above
