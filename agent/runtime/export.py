"""A whole thread as a transcript: messages, tool calls and results, stage changes, confirmations asked and
answered, hand-over; read from its checkpoints, oldest first, so that each entry carries the step that wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StateSnapshot

from agent.runtime.history import pending_write
from agent.runtime.snapshots import history, step_of
from agent.runtime.transcript import Entry, entry_line, message_entries
from graphs.confirmations import parse_decision


@dataclass(frozen=True)
class ThreadExport:
    """A thread's transcript and where it ended."""

    thread_id: str
    stage: str
    customer_id: str | None
    ticket: dict[str, Any] | None
    entries: tuple[Entry, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"thread": self.thread_id, "stage": self.stage, "customer_id": self.customer_id,
                "ticket": self.ticket, "entries": [e.as_dict() for e in self.entries]}

    def markdown(self) -> str:
        """A readable Markdown document: where the thread ended, then one list item per entry under the
        checkpoint step that wrote it."""
        ticket = f"#{self.ticket['id']} ({self.ticket['status']})" if self.ticket else "-"
        lines = [f"# Thread {self.thread_id}", "", f"- stage: {self.stage}",
                 f"- customer: {self.customer_id or '-'}", f"- ticket: {ticket}"]
        step = None
        for entry in self.entries:
            if entry.step != step:
                step = entry.step
                lines += ["", f"## step {step}", ""]
            # A multi-line text (an order's details) stays inside its list item.
            lines.append("- " + entry_line(entry).replace("\n", "\n  "))
        return "\n".join(lines) + "\n"


class _Walk:
    """What the transcript knows so far while the checkpoints are read in order."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.message_ids: set[str] = set()
        self.stage_changes = 0
        self.pending: dict[str, Any] | None = None
        self.ticket: int | None = None

    def read(self, snap: StateSnapshot) -> None:
        values, step = snap.values or {}, step_of(snap)
        messages = list(values.get("messages", []))
        now = {m.id for m in messages}
        if gone := self.message_ids - now:
            # A message moved (the agent dialogue re-adds a typed "yes" after the write's result): keep the
            # transcript as the conversation reads in the end.
            self.entries = [e for e in self.entries if e.message_id not in gone]
        new = [m for m in messages if m.id not in self.message_ids]
        self.message_ids = now
        self.entries += message_entries(new, step)
        self._stage_changes(values.get("stage_history") or [], step)
        self._confirmation(pending_write(snap), new, step)
        if (ticket := values.get("ticket")) and ticket["id"] != self.ticket:
            self.ticket = ticket["id"]
            self.entries.append(Entry(step, "handed_over", str(ticket.get("reason", "")), ticket=ticket["id"]))

    def _stage_changes(self, changes: list[dict[str, Any]], step: int) -> None:
        for change in changes[self.stage_changes:]:
            self.entries.append(Entry(step, "stage_changed", change.get("reason", ""), source=change["source"],
                                      target=change["target"]))
        self.stage_changes = len(changes)

    def _confirmation(self, pending: dict[str, Any] | None, new: list[Any], step: int) -> None:
        before = self.pending
        if before and (not pending or pending["tool_call_id"] != before["tool_call_id"]):
            self.entries.append(_answered(before, self.entries, step))
        if pending and (not before or pending["tool_call_id"] != before["tool_call_id"]):
            self.entries.append(Entry(step, "confirmation_requested", pending.get("summary", ""),
                                      tool=pending["tool"], arguments=dict(pending.get("arguments", {})),
                                      call_id=pending["tool_call_id"]))
        self.pending = pending


def _answered(pending: dict[str, Any], entries: list[Entry], step: int) -> Entry:
    """The answer is the customer's last message; the outcome is the write's own result, if it ran."""
    said = next((e.text for e in reversed(entries) if e.kind == "customer"), "")
    result = next((e for e in entries if e.kind == "tool_result" and e.call_id == pending["tool_call_id"]), None)
    ran = parse_decision(said, pending["tool"]) == "yes" and result is not None
    return Entry(step, "confirmation_answered", said, tool=pending["tool"], call_id=pending["tool_call_id"],
                 ok=(result.ok if ran and result else None))


async def export_thread(graph: CompiledStateGraph, thread_id: str) -> ThreadExport:
    """The thread's transcript from its checkpoints; ``ThreadNotFoundError`` for an unknown thread."""
    walk = _Walk()
    snaps = await history(graph, thread_id)
    for snap in snaps:
        walk.read(snap)
    values = snaps[-1].values or {}
    return ThreadExport(thread_id=thread_id, stage=str(values.get("stage", "intake")),
                        customer_id=values.get("customer_id"), ticket=values.get("ticket"),
                        entries=tuple(walk.entries))
