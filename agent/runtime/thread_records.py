"""What operators and developers read and do to threads outside a turn: history, checkpoints, fork, recorded
replay, deletion, tickets. A part of ``SupportRuntime`` (its base class), kept apart so the runtime's own module
holds the turn machinery only."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.graph.state import CompiledStateGraph

from agent.observability import metrics
from agent.runtime.errors import MessageNotFoundError, ThreadNotFoundError
from agent.runtime.events import Event
from agent.runtime.feedback import FeedbackBook, Value
from agent.runtime.history import CheckpointInfo, ThreadView, checkpoints, fork, thread_ids, thread_view
from agent.runtime.inputs import check_thread_id
from agent.runtime.lease import TurnLeases
from agent.runtime.replay import ReplayReport, replay_thread
from agent.runtime.retention import delete_thread
from agent.runtime.unsent import UnsentMessages
from graphs import GraphOptions
from graphs.tickets import TicketDesk, TicketRecord
from tools import RetailStore


class ThreadRecords:
    """Reads and maintenance of threads; ``SupportRuntime`` sets the attributes below."""

    graph: CompiledStateGraph
    store: RetailStore
    saver: Any
    leases: TurnLeases
    model: Any
    options: GraphOptions
    _checkpoint_path: Any
    _store_path: Any
    _unsent: UnsentMessages
    desk: TicketDesk
    feedback: FeedbackBook

    async def view(self, thread_id: str, checkpoint_id: str | None = None) -> ThreadView:
        """The thread's state now (or at a checkpoint)."""
        return await thread_view(self.graph, thread_id, checkpoint_id)

    async def checkpoints(self, thread_id: str, limit: int = 200) -> list[CheckpointInfo]:
        """The thread's checkpoints, newest first."""
        return await checkpoints(self.graph, thread_id, limit)

    async def fork(self, thread_id: str, checkpoint_id: str, new_thread_id: str | None = None) -> str:
        """A new thread continuing from one checkpoint of another."""
        if new_thread_id is not None:
            check_thread_id(new_thread_id)
            # A thread claimed by its first sender exists even before its first checkpoint.
            if await self.leases.owner_of(new_thread_id) is not None:
                raise ValueError(f"thread {new_thread_id} already exists")
        return await fork(self.graph, thread_id, checkpoint_id, new_thread_id)

    async def threads(self) -> list[str]:
        """All thread ids, most recently active first."""
        return await thread_ids(self.saver)

    async def delete_thread(self, thread_id: str) -> None:
        """Delete a thread: checkpoints, writes, lease, claim (``runtime.retention``), its message ratings and a
        message kept for retry. ``ThreadNotFoundError`` for an unknown id, ``ThreadBusyError`` while a turn runs.
        Its tickets stay: they are the desk's record."""
        await delete_thread(self.saver, self.leases, thread_id)
        self.feedback.forget_thread(thread_id)
        self._unsent.drop(thread_id)

    async def rate_message(self, thread_id: str, message_id: str, value: Value, *, author: str,
                           comment: str | None = None, customer_id: str | None = None) -> str:
        """Thumbs up or down on one of the thread's agent (or operator) messages; rating again replaces the
        rating. ``ThreadNotFoundError`` for a thread the caller may not see, a message that is not an agent message of the thread (``MessageNotFoundError``)."""
        await self.check_access(thread_id, customer_id)  # type: ignore[attr-defined]
        view = await self.view(thread_id)
        if not view.exists:
            raise ThreadNotFoundError(f"no thread {thread_id!r}")
        if not any(isinstance(m, AIMessage) and m.id == message_id and m.content for m in view.messages):
            raise MessageNotFoundError("no agent message with that id in this thread")
        feedback_id = self.feedback.rate(thread=thread_id, message_id=message_id, value=value, author=author,
                                         comment=comment)
        metrics.feedback(value)
        return feedback_id

    def tickets(self, status: str | None = None) -> list[TicketRecord]:
        """Hand-over tickets, newest first (optionally only those with one status)."""
        return self.desk.list(status)

    def ticket(self, ticket_id: int) -> TicketRecord | None:
        """One ticket with the customer's later notes, or None."""
        return self.desk.get(ticket_id)

    async def replay_checked(self, thread_id: str, checkpoint_id: str, *, live: bool = False, sandbox: bool = True,
                             on_event: Callable[[Event], None] | None = None) -> ReplayReport:
        """Replay from a checkpoint with the recorded model responses (``live``: asking the model again) and
        compare every step with the original (see ``agent.runtime.replay``). In a scratch copy of the thread and
        the store by default; ``sandbox=False`` adds the replay to the real thread (under its lease) and rolls
        back every store write. Raises ``UnknownCheckpointError`` for an unknown thread or checkpoint."""
        async with self.leases.hold(thread_id) if not sandbox else contextlib.nullcontext():
            return await replay_thread(saver=self.saver, checkpoint_db=self._checkpoint_path,
                                       store_db=self._store_path, thread_id=thread_id, checkpoint=checkpoint_id,
                                       options=self.options, live_model=self.model if live else None,
                                       use_sandbox=sandbox, on_event=on_event)
