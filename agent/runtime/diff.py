"""What changed in a thread between two of its checkpoints: the domain facts kept in state (stage, customer,
orders in focus, pending confirmation, ticket, the flows dialogue's tasks) and the messages added or removed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StateSnapshot

from agent.runtime.history import pending_write
from agent.runtime.snapshots import snapshot_at, step_of
from agent.runtime.transcript import Entry, entry_line, message_entries

#: The facts compared, in the order they are shown, with the label a reader sees.
FIELDS: dict[str, str] = {
    "stage": "stage",
    "customer_id": "customer",
    "verified_by": "identified by",
    "orders_in_focus": "orders in focus",
    "pending_confirmation": "pending confirmation",
    "ticket": "ticket",
    "tasks": "tasks",
    "awaiting": "awaiting answer to",
    "next": "next",
}


@dataclass(frozen=True)
class FieldChange:
    """One fact that differs between the two checkpoints."""

    field: str
    before: Any
    after: Any
    why: str | None = None
    """For the stage: the reason recorded with the change."""


@dataclass(frozen=True)
class ThreadDiff:
    """From checkpoint ``a`` to checkpoint ``b`` of one thread."""

    thread_id: str
    a: str
    b: str
    step_a: int
    step_b: int
    changes: tuple[FieldChange, ...]
    added: tuple[Entry, ...]
    """Messages in ``b`` that ``a`` does not have, as transcript entries (their step is ``b``'s)."""
    removed: tuple[Entry, ...]
    """Messages in ``a`` that ``b`` does not have (``b`` is earlier, or on another branch; step: ``a``'s)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"thread": self.thread_id, "a": {"checkpoint": self.a, "step": self.step_a},
                "b": {"checkpoint": self.b, "step": self.step_b},
                "changes": {c.field: {"before": c.before, "after": c.after} | ({"why": c.why} if c.why else {})
                            for c in self.changes},
                "messages_added": [e.as_dict() for e in self.added],
                "messages_removed": [e.as_dict() for e in self.removed]}

    def lines(self) -> list[str]:
        """The difference as readable lines."""
        out = [f"thread {self.thread_id}: {self.a} (step {self.step_a}) -> {self.b} (step {self.step_b})"]
        out += [f"{FIELDS[c.field]}: {_show(c.field, c.before)} -> {_show(c.field, c.after)}"
                + (f" ({c.why})" if c.why else "") for c in self.changes]
        if self.added:
            out.append(f"messages added ({len(self.added)}):")
            out += [_indented(e) for e in self.added]
        if self.removed:
            out.append(f"messages removed ({len(self.removed)}):")
            out += [_indented(e) for e in self.removed]
        if len(out) == 1:
            out.append("no changes")
        return out


def _indented(entry: Entry) -> str:
    """A message under its heading; the continuation lines of a multi-line text indented further."""
    return "  " + entry_line(entry).replace("\n", "\n    ")


def _show(field: str, value: Any) -> str:
    """A value as a reader wants it: the confirmation's summary, the ticket's number, lists joined."""
    if value in (None, [], (), ""):
        return "-"
    if field == "pending_confirmation":
        return f"{value['tool']} {json.dumps(value.get('arguments', {}), ensure_ascii=False)}"
    if field == "ticket":
        return f"#{value['id']} ({value.get('status', 'open')}: {value.get('reason', '')})"
    if field == "tasks":
        return ", ".join(str(t.get("task")) for t in value)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _facts(snap: StateSnapshot) -> dict[str, Any]:
    values = snap.values or {}
    facts = {name: values.get(name) for name in FIELDS if name not in ("pending_confirmation", "next")}
    facts["stage"] = str(values.get("stage", "intake"))
    # The write waiting for a yes may still live in a task flow's own state (see history.pending_write).
    facts["pending_confirmation"] = pending_write(snap)
    facts["next"] = list(snap.next)
    return facts


def _stage_reason(a: StateSnapshot, b: StateSnapshot) -> str | None:
    changes_a = (a.values or {}).get("stage_history") or []
    changes_b = (b.values or {}).get("stage_history") or []
    return changes_b[-1].get("reason") if len(changes_b) > len(changes_a) else None


def _entries(messages: list[Any], keep: set[str], step: int) -> tuple[Entry, ...]:
    return tuple(message_entries([m for m in messages if m.id in keep], step))


async def diff_checkpoints(graph: CompiledStateGraph, thread_id: str, a: str, b: str) -> ThreadDiff:
    """What changed from checkpoint ``a`` to checkpoint ``b``; ``ThreadNotFoundError`` or
    ``CheckpointNotFoundError`` for an unknown id."""
    snap_a = await snapshot_at(graph, thread_id, a)
    snap_b = await snapshot_at(graph, thread_id, b)
    facts_a, facts_b = _facts(snap_a), _facts(snap_b)
    changes = tuple(FieldChange(name, facts_a[name], facts_b[name],
                                _stage_reason(snap_a, snap_b) if name == "stage" else None)
                    for name in FIELDS if facts_a[name] != facts_b[name])
    messages_a = list((snap_a.values or {}).get("messages", []))
    messages_b = list((snap_b.values or {}).get("messages", []))
    ids_a, ids_b = {m.id for m in messages_a}, {m.id for m in messages_b}
    return ThreadDiff(thread_id, a, b, step_of(snap_a), step_of(snap_b), changes,
                      added=_entries(messages_b, ids_b - ids_a, step_of(snap_b)),
                      removed=_entries(messages_a, ids_a - ids_b, step_of(snap_a)))
