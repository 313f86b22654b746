"""One conversation runtime for every front end: open or resume a thread, send a message, answer a
confirmation, retry a failed turn, read history, replay and fork. It owns the model, store and checkpointer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot

from agent.observability import metrics
from agent.runtime.claims import claimant, may_enter
from agent.runtime.desk import OperatorDesk
from agent.runtime.durability import TurnDurability
from agent.runtime.errors import InvalidInputError, NothingPendingError, ThreadBusyError, ThreadNotFoundError
from agent.runtime.events import ErrorEvent, Event, TurnOutcome
from agent.runtime.feedback import FeedbackBook
from agent.runtime.identity import identified_start, may_access
from agent.runtime.inputs import check_persona, check_thread_id, clean_text
from agent.runtime.lease import TurnLeases
from agent.runtime.observer import TurnObserver
from agent.runtime.recording import ModelRecorder, RecordingChatModel
from agent.runtime.screening import answer_screened
from agent.runtime.storage import checkpointer, open_journal, open_store
from agent.runtime.stream import failure_event, run_graph
from agent.runtime.thread_records import ThreadRecords
from agent.runtime.turns import Turn, single
from agent.runtime.unsent import UnsentMessage, UnsentMessages
from agent.runtime.wiring import NoModel, graph_options  # noqa: F401 - NoModel: public here too
from agent.settings import Settings
from graphs import GraphOptions, Stage, build_support_graph
from graphs.guardrail import screen, strip_control_tokens
from graphs.tickets import TicketDesk
from graphs.tool_layer import GuardedTools
from tools import RetailStore
from tools.db import database_engine
from tools.db.errors import UNAVAILABLE

log = logging.getLogger(__name__)

#: A turn ready to run: its events and the observer that counts them (None: nothing to count).
_Prepared = tuple[AsyncIterator[Event], TurnObserver | None]


class SupportRuntime(ThreadRecords, OperatorDesk):
    """The conversation runtime. Front ends call it and render the events it yields.

    Every turn (message, confirmation, retry, step, replay) first takes the thread's lease in the database:
    a second turn of the same thread, from this process or another, gets ``ThreadBusyError`` instead of
    splitting the history into branches. ``begin_*`` start a turn eagerly (refusals raise at once, before any
    event); ``send`` and friends are the same as plain async iterators.
    """

    def __init__(self, graph: CompiledStateGraph, store: RetailStore, saver: AsyncSqliteSaver, leases: TurnLeases,
                 *, checkpoint_path: Any = None, store_path: Any = None, default_persona: str = "default") -> None:
        self.graph = graph
        self.store = store
        self.saver = saver
        self.leases = leases
        self.default_persona = default_persona
        self._checkpoint_path = checkpoint_path
        self._store_path = store_path
        self._make_durable = TurnDurability(checkpoint_path, store_path)
        self._unsent = UnsentMessages()
        self.desk = TicketDesk(store)
        self.guarded = GuardedTools(store)  # what a person runs for a customer goes through the same checks
        self.feedback = FeedbackBook(store)
        self._desk_wakeups = {}
        #: The model as the server answers it (without recording), and the graph's options: for live replays.
        self.model: BaseChatModel | None = None
        self.options = GraphOptions()

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Settings, *, model: BaseChatModel | None = None) -> AsyncIterator[SupportRuntime]:
        """Open store and checkpoints, start (or connect to) the model server; close everything on exit."""
        async with AsyncExitStack() as stack:
            if model is None:
                from agent.llm import build_chat_model, model_server

                server = model_server(settings)
                base_url = await asyncio.to_thread(server.__enter__)
                stack.push(lambda *exc: server.__exit__(*exc))
                model = build_chat_model(settings, base_url=base_url)
            checkpoints = settings.checkpoint_location  # a bad URL is refused before anything is opened or made
            database_engine(checkpoints)
            store = open_store(settings)
            stack.callback(store.close)
            # Recorded replay (agent.runtime.replay): the store's undo journal, each checkpoint's place in it,
            # and every model response recorded against the checkpoint that asked for it.
            journal = open_journal(settings)
            if journal is not None:
                stack.callback(journal.close)
            saver = await stack.enter_async_context(checkpointer(
                checkpoints, settings.sqlite_busy_timeout_ms, store_mark=journal.mark if journal else None,
                pool_size=settings.database_pool_size))
            # On SQLite the recorder and the leases write on the saver's connection (runtime.saver_connection).
            recorder = ModelRecorder.open(checkpoints, busy_timeout_ms=settings.sqlite_busy_timeout_ms, saver=saver)
            stack.callback(recorder.close)
            model = RecordingChatModel(model, recorder)
            # The leases live with the checkpoints: every process writing this thread's history sees them.
            leases = await TurnLeases.open(checkpoints, ttl_seconds=settings.turn_lease_seconds,
                                           busy_timeout_ms=settings.sqlite_busy_timeout_ms, saver=saver)
            stack.push_async_callback(leases.close)
            options = graph_options(settings)
            graph = build_support_graph(model=model, store=store, checkpointer=saver, options=options)
            runtime = cls(graph, store, saver, leases, checkpoint_path=checkpoints,
                          store_path=settings.store_location, default_persona=settings.persona)
            runtime.model, runtime.options = model.inner, options
            stack.callback(runtime._make_durable.close)
            yield runtime

    # --- conversation ---------------------------------------------------------------------------------
    @staticmethod
    def config(thread_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
        """The LangGraph config of a thread (optionally at one checkpoint)."""
        configurable = {"thread_id": thread_id}
        if checkpoint_id:
            configurable["checkpoint_id"] = checkpoint_id
        return {"configurable": configurable}

    async def begin_message(self, thread_id: str, text: str, *, persona: str | None = None,
                            customer_id: str | None = None, step: bool = False,
                            breakpoints: Sequence[str] = ()) -> Turn:
        """Start a customer message turn. While a write waits for confirmation, the message is the answer to it.

        ``customer_id`` is the caller's verified identity (a customer token): a new thread starts identified as
        that customer and belongs to them; anyone else's thread raises ``ThreadNotFoundError``.
        Raises ``ThreadBusyError`` while another turn of the thread runs, ``InvalidInputError`` for a bad
        thread id or persona. With ``step=True`` the graph pauses after every node, with ``breakpoints`` before
        the named nodes (``runtime.stepping``), with a ``StepPaused`` event.
        """
        check_thread_id(thread_id)
        check_persona(persona)
        # Control characters and forged chat-template turns never reach the model or the checkpoints.
        text = strip_control_tokens(clean_text(text)).strip()
        if not text:
            return single(ErrorEvent(message="Please type a message.", detail="empty message", retryable=False))

        def keep() -> None:
            self._unsent.keep(thread_id, UnsentMessage(text, persona, customer_id))

        # A message claims a new thread for its sender, first of all (see runtime.claims).
        return await self._begin(thread_id, customer_id,
                                 lambda snapshot: self._message(thread_id, text, persona, customer_id, snapshot, step,
                                                                               breakpoints),
                                 on_unavailable=keep, claim=True)

    async def begin_confirmation(self, thread_id: str, approved: bool, *, customer_id: str | None = None) -> Turn:
        """Start the turn that answers the pending write with yes (True) or no (False)."""
        check_thread_id(thread_id)

        async def prepare(snapshot: StateSnapshot) -> _Prepared:
            if not snapshot.values:
                raise ThreadNotFoundError(f"no thread {thread_id!r}")
            if not _interrupted(snapshot):
                raise NothingPendingError("no confirmation is pending in this thread")
            return self._run(thread_id, Command(resume="yes" if approved else "no"), self.config(thread_id),
                             snapshot.values)

        return await self._begin(thread_id, customer_id, prepare)

    async def begin_retry(self, thread_id: str, *, customer_id: str | None = None) -> Turn:
        """Start re-running a turn that failed (model down, timeout, locked file) from where it stopped.

        A message that failed before any checkpoint is retried only for its own sender; for anyone else the
        thread does not exist (``ThreadNotFoundError``), whoever may otherwise enter it.
        """
        check_thread_id(thread_id)
        if self._unsent.kept_for_another(thread_id, customer_id):
            metrics.refused("not_found")
            raise ThreadNotFoundError(f"no thread {thread_id!r}")

        async def prepare(snapshot: StateSnapshot) -> _Prepared:
            if (await self.view(thread_id)).failed_turn:
                return self._run(thread_id, None, self.config(thread_id), snapshot.values)
            if (message := self._unsent.take(thread_id, customer_id)) is not None:
                return await self._message(thread_id, message.text, message.persona, message.sender, snapshot,
                                           False)
            return _events(ErrorEvent(message="There is nothing to retry.", detail="no failed turn",
                                      retryable=False)), None

        # The kept message's sender claims the thread now if its first attempt could not.
        return await self._begin(thread_id, customer_id, prepare, claim=thread_id in self._unsent)

    async def begin_step(self, thread_id: str, *, one_node: bool = True, breakpoints: Sequence[str] = ()) -> Turn:
        """Developer stepping: go on with a paused turn, up to the next node (``one_node``) or the next of the
        ``breakpoints`` (or the end of the turn), then pause again."""
        async def prepare(snapshot: StateSnapshot) -> _Prepared:
            return self._run(thread_id, None, self.config(thread_id), snapshot.values, step=one_node,
                             breakpoints=breakpoints)

        return await self._begin(thread_id, None, prepare)

    async def begin_replay(self, thread_id: str, checkpoint_id: str) -> Turn:
        """Re-run the thread from one of its checkpoints (a branch; writes already done are not repeated)."""
        async def prepare(snapshot: StateSnapshot) -> _Prepared:
            return self._run(thread_id, None, self.config(thread_id, checkpoint_id), snapshot.values)

        return await self._begin(thread_id, None, prepare)

    async def send(self, thread_id: str, text: str, *, persona: str | None = None, customer_id: str | None = None,
                   step: bool = False, breakpoints: Sequence[str] = ()) -> AsyncIterator[Event]:
        """``begin_message`` as an async iterator of events."""
        async for event in await self.begin_message(thread_id, text, persona=persona, customer_id=customer_id,
                                                    step=step, breakpoints=breakpoints):
            yield event

    async def answer_confirmation(self, thread_id: str, approved: bool, *,
                                  customer_id: str | None = None) -> AsyncIterator[Event]:
        """``begin_confirmation`` as an async iterator of events."""
        async for event in await self.begin_confirmation(thread_id, approved, customer_id=customer_id):
            yield event

    async def retry(self, thread_id: str, *, customer_id: str | None = None) -> AsyncIterator[Event]:
        """``begin_retry`` as an async iterator of events."""
        async for event in await self.begin_retry(thread_id, customer_id=customer_id):
            yield event

    async def step(self, thread_id: str, *, one_node: bool = True,
                   breakpoints: Sequence[str] = ()) -> AsyncIterator[Event]:
        """``begin_step`` as an async iterator of events."""
        async for event in await self.begin_step(thread_id, one_node=one_node, breakpoints=breakpoints):
            yield event

    async def replay(self, thread_id: str, checkpoint_id: str) -> AsyncIterator[Event]:
        """``begin_replay`` as an async iterator of events."""
        async for event in await self.begin_replay(thread_id, checkpoint_id):
            yield event

    async def turn(self, thread_id: str, text: str, *, persona: str | None = None,
                   customer_id: str | None = None) -> TurnOutcome:
        """``send`` collected into one outcome, for scripts."""
        outcome = TurnOutcome()
        async for event in self.send(thread_id, text, persona=persona, customer_id=customer_id):
            outcome.events.append(event)
        return outcome

    async def check_access(self, thread_id: str, customer_id: str | None) -> None:
        """Raise ``ThreadNotFoundError`` when the thread is another customer's (operators: customer_id None)."""
        if customer_id is not None:
            snapshot = await self.graph.aget_state(self.config(thread_id))
            if not await self._may_enter(thread_id, snapshot.values, customer_id):
                raise ThreadNotFoundError(f"no thread {thread_id!r}")

    # --- turn machinery ---------------------------------------------------------------------------------
    async def _begin(self, thread_id: str, customer_id: str | None,
                     prepare: Callable[[StateSnapshot], Awaitable[_Prepared]],
                     on_unavailable: Callable[[], None] | None = None, claim: bool = False) -> Turn:
        """Take the lease (and with ``claim`` the thread, for its first sender), then read the thread (under the
        lease: no other turn can change it now) and prepare the turn's events; on any refusal the lease is given
        back at once."""
        # A message kept for retry stands for its sender's claim in this process (its first attempt could not
        # write one): nobody else claims the thread meanwhile.
        claim = claim and not self._unsent.kept_for_another(thread_id, customer_id)
        release = AsyncExitStack()
        try:
            await release.enter_async_context(
                self.leases.hold(thread_id, claim_for=claimant(customer_id) if claim else None))
        except ThreadBusyError:
            # Busy says a turn runs: only to someone who may enter the thread.
            snapshot = await self.graph.aget_state(self.config(thread_id))
            if not await self._may_enter(thread_id, snapshot.values, customer_id):
                metrics.refused("not_found")
                raise ThreadNotFoundError(f"no thread {thread_id!r}") from None
            metrics.refused("busy")
            raise
        except UNAVAILABLE as exc:  # the database itself is locked or down: a retryable failure
            if on_unavailable:
                on_unavailable()
            return single(failure_event(exc, thread_id))
        if (keep_read := getattr(self.saver, "keep_next_read", None)) is not None:
            # Under the lease the graph's own read of the thread, as the turn starts, is answered from this one's.
            release.callback(self.saver.drop_kept_read, thread_id)
            keep_read(thread_id)
        try:
            snapshot = await self.graph.aget_state(self.config(thread_id))
            if not await self._may_enter(thread_id, snapshot.values, customer_id):
                metrics.refused("not_found")
                raise ThreadNotFoundError(f"no thread {thread_id!r}")
            events, observer = await prepare(snapshot)
        except UNAVAILABLE as exc:  # the database went away between the lease and the thread's state
            await release.aclose()
            if on_unavailable:
                on_unavailable()
            return single(failure_event(exc, thread_id))
        except BaseException:
            await release.aclose()
            raise
        return Turn(events, release=release, observer=observer)

    async def _may_enter(self, thread_id: str, values: Any, customer_id: str | None) -> bool:
        """Whether the caller may act on the thread. By its checkpointed state (operators reach every thread, a
        customer their own); while it has none, by its claim (runtime.claims); while it has none either, by the
        message kept for retry: a thread that is nothing but someone's kept message is theirs alone."""
        if values:
            return customer_id is None or may_access(values, customer_id)
        if (owner := await self.leases.owner_of(thread_id)) is not None:
            return may_enter(owner, customer_id)
        return not self._unsent.kept_for_another(thread_id, customer_id)

    async def _message(self, thread_id: str, text: str, persona: str | None, customer_id: str | None,
                       snapshot: StateSnapshot, step: bool, breakpoints: Sequence[str] = ()) -> _Prepared:
        start: dict[str, Any] = {}  # a customer token's new thread: identified and theirs from its first turn
        if customer_id and not snapshot.values:
            if not self.store.user_exists(customer_id):
                raise InvalidInputError(f"unknown customer {customer_id!r}")
            start = identified_start(customer_id, persona or self.default_persona)
        if (verdict := screen(text)) is not None:
            return answer_screened(self.graph, self.config(thread_id), text, verdict, persona, snapshot, start,
                                   make_durable=self._make_durable.after_turn), None
        if _interrupted(snapshot):
            payload: Any = Command(resume=text)
        else:
            payload = {"messages": [HumanMessage(text)], **start}
            if persona:
                payload["persona"] = persona
        self._unsent.take(thread_id, customer_id)  # superseded by this message of the same sender
        # A token thread's first input carries its stage (order desk); no node reports it, so start from there.
        values = {**(snapshot.values or {}), **start}
        events, observer = self._run(thread_id, payload, self.config(thread_id), values, step=step,
                                     breakpoints=breakpoints)

        async def keeping_unsent() -> AsyncIterator[Event]:
            async for event in events:
                if isinstance(event, ErrorEvent) and not (await self.view(thread_id)).failed_turn:
                    # Failed before the message reached a checkpoint (e.g. a locked file): keep it for retry().
                    self._unsent.keep(thread_id, UnsentMessage(text, persona, customer_id))
                yield event

        return keeping_unsent(), observer

    def _run(self, thread_id: str, payload: Any, config: dict[str, Any], values: Any,
             *, step: bool = False, breakpoints: Sequence[str] = ()) -> _Prepared:
        values = values or {}
        pending = values.get("pending_confirmation") or {}
        observer = TurnObserver(thread_id, str(values.get("stage", Stage.INTAKE)),
                                        pending_call_id=pending.get("tool_call_id"))
        return run_graph(self.graph, payload, config, observer=observer, make_durable=self._make_durable.after_turn,
                         step=step, breakpoints=breakpoints), observer


def _interrupted(snapshot: StateSnapshot) -> bool:
    """A write waits for the customer's yes or no."""
    return any(task.interrupts for task in snapshot.tasks)


async def _events(*events: Event) -> AsyncIterator[Event]:
    for event in events:
        yield event
