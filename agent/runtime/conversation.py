"""One conversation runtime for every front end: open or resume a thread, send a message, answer a
confirmation, retry a failed turn, read history, replay and fork. It owns the model, store and checkpointer.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import aiosqlite
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, RemoveMessage, ToolMessage
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from agent.runtime.checkpoints import CachedAsyncSqliteSaver
from agent.runtime.durability import make_durable
from agent.runtime.errors import InvalidInputError, ThreadNotFoundError
from agent.runtime.events import (
    ConfirmationRequested,
    ErrorEvent,
    Event,
    HandedOver,
    Reply,
    StageChanged,
    StepPaused,
    Token,
    ToolCalled,
    ToolResult,
    TurnOutcome,
)
from agent.runtime.failures import describe_failure
from agent.runtime.history import CheckpointInfo, ThreadView, checkpoints, fork, thread_ids, thread_view
from agent.runtime.identity import identified_start, may_access
from agent.settings import Settings
from graphs import GraphOptions, Stage, build_support_graph
from graphs.guardrail import Verdict, screen, strip_control_tokens
from graphs.state import delta_channels
from tools import RetailStore

log = logging.getLogger(__name__)

#: Nodes that write to the retail store file (writes, ledger, tickets): their turns fsync it too.
_STORE_WRITERS = frozenset({"confirm_write", "escalate", "handover_note"})

#: Nodes whose model tokens are the customer-facing reply (the escalation model writes a ticket summary).
_REPLY_NODES = frozenset({"agent"})


class NoModel(BaseChatModel):
    """Stands in for the model in commands that only read or copy threads (no server is started)."""

    @property
    def _llm_type(self) -> str:
        return "none"

    def bind_tools(self, tools: Any, **kwargs: Any) -> NoModel:  # noqa: D102 - nothing to bind
        return self

    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("this command does not call the model")


def graph_options(settings: Settings) -> GraphOptions:
    """The graph's knobs from the deployment settings."""
    return GraphOptions(
        today=settings.today,
        context_tokens=settings.context_tokens,
        max_output_tokens=settings.llm_max_tokens,
        tool_call_retries=settings.tool_call_retries,
        escalate_after_tool_errors=settings.escalate_after_tool_errors,
        escalate_after_misunderstandings=settings.escalate_after_misunderstandings,
        default_persona=settings.persona,
        dialogue=settings.dialogue,
    )


async def open_checkpointer(path: Any, busy_timeout_ms: int = 5000) -> tuple[aiosqlite.Connection, AsyncSqliteSaver]:
    """The async SQLite saver on its own file, with the delta-history cache.

    WAL with synchronous=NORMAL, and one fsync of the WAL when a turn returns (see ``durability``): a turn
    that returned is on disk, at the cost of one fsync per turn instead of one per step. Readers (an operator
    inspecting threads) never block the writer.
    """
    conn = await aiosqlite.connect(str(path))
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    saver = CachedAsyncSqliteSaver(conn, delta_channels())
    await saver.setup()
    return conn, saver


class SupportRuntime:
    """The conversation runtime. Front ends call it and render the events it yields."""

    def __init__(self, graph: CompiledStateGraph, store: RetailStore, saver: AsyncSqliteSaver,
                 *, checkpoint_path: Any = None, store_path: Any = None, default_persona: str = "default") -> None:
        self.graph = graph
        self.store = store
        self.saver = saver
        self._checkpoint_path = checkpoint_path
        self._store_path = store_path
        self.default_persona = default_persona
        self._unsent: dict[str, tuple[str, str | None, str | None]] = {}

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
            store = open_store(settings)
            stack.callback(store.close)
            settings.checkpoint_db.parent.mkdir(parents=True, exist_ok=True)
            conn, saver = await open_checkpointer(settings.checkpoint_db, settings.sqlite_busy_timeout_ms)
            stack.push_async_callback(conn.close)
            graph = build_support_graph(model=model, store=store, checkpointer=saver, options=graph_options(settings))
            yield cls(graph, store, saver, checkpoint_path=settings.checkpoint_db, store_path=settings.store_db,
                      default_persona=settings.persona)

    # --- conversation ---------------------------------------------------------------------------------
    @staticmethod
    def config(thread_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
        """The LangGraph config of a thread (optionally at one checkpoint)."""
        configurable = {"thread_id": thread_id}
        if checkpoint_id:
            configurable["checkpoint_id"] = checkpoint_id
        return {"configurable": configurable}

    async def send(self, thread_id: str, text: str, *, persona: str | None = None, customer_id: str | None = None,
                   step: bool = False) -> AsyncIterator[Event]:
        """A customer message. While a write waits for confirmation, the message is the answer to it.

        ``customer_id`` is the caller's verified identity (a customer token): a new thread starts identified as
        that customer and belongs to them; anyone else's thread raises ``ThreadNotFoundError``.
        With ``step=True`` the graph pauses after every node (a ``StepPaused`` event); ``step()`` runs the next.
        """
        text = strip_control_tokens(text).strip()  # a forged chat-template turn never reaches the model
        if not text:
            yield ErrorEvent(message="Please type a message.", detail="empty message", retryable=False)
            return
        snapshot = await self.graph.aget_state(self.config(thread_id))
        self._check_access(thread_id, snapshot.values, customer_id)
        start: dict[str, Any] = {}  # a customer token's new thread: identified and theirs from its first turn
        if customer_id and not snapshot.values:
            if not self.store.user_exists(customer_id):
                raise InvalidInputError(f"unknown customer {customer_id!r}")
            start = identified_start(customer_id, persona or self.default_persona)
        if (verdict := screen(text)) is not None:
            async for event in self._answer_screened(thread_id, text, verdict, persona, snapshot, start):
                yield event
            return
        if any(task.interrupts for task in snapshot.tasks):
            payload: Any = Command(resume=text)
        else:
            payload = {"messages": [HumanMessage(text)]}
            if persona:
                payload["persona"] = persona
            payload |= start
        self._unsent.pop(thread_id, None)
        async for event in self._run(payload, self.config(thread_id), step=step):
            if isinstance(event, ErrorEvent) and not (await self.view(thread_id)).failed_turn:
                # Failed before the message reached a checkpoint (e.g. a locked file): keep it for retry().
                self._unsent[thread_id] = (text, persona, customer_id)
            yield event

    async def _answer_screened(self, thread_id: str, text: str, verdict: Verdict, persona: str | None,
                               snapshot: Any, start: dict[str, Any]) -> AsyncIterator[Event]:
        """The guardrail's polite reply to a screened message; no model and no tool runs.

        The message and the reply are recorded as a step of the ``restore`` node (its only edge leads to the
        end), so the next message starts an ordinary turn. While a write waits for confirmation the thread is
        left as it is (a state update would drop the pending interrupt): the reply, then the question again.
        """
        log.info("guardrail answered thread %s: %s", thread_id, verdict.check)
        stage = str({**snapshot.values, **start}.get("stage", Stage.INTAKE))
        waiting = [item for task in snapshot.tasks for item in task.interrupts]
        reply = AIMessage(content=verdict.reply, id=f"guardrail-{uuid.uuid4()}")
        if not waiting:
            update: dict[str, Any] = {**start, "messages": [HumanMessage(text), reply]}
            if persona:
                update["persona"] = persona
            await self.graph.aupdate_state(self.config(thread_id), update, as_node="restore")
            await asyncio.to_thread(self._make_durable, False)
        yield Reply(text=verdict.reply, stage=stage, message_id=reply.id, streamed=False)
        for event in _translate("__interrupt__", waiting, set(), stage):
            yield event

    async def answer_confirmation(self, thread_id: str, approved: bool, *,
                                  customer_id: str | None = None) -> AsyncIterator[Event]:
        """The customer's yes (True) or no (False) to the pending write."""
        await self.check_access(thread_id, customer_id)
        async for event in self._run(Command(resume="yes" if approved else "no"), self.config(thread_id)):
            yield event

    async def retry(self, thread_id: str, *, customer_id: str | None = None) -> AsyncIterator[Event]:
        """Re-run a turn that failed (model down, timeout, locked file) from where it stopped."""
        await self.check_access(thread_id, customer_id)
        if (await self.view(thread_id)).failed_turn:
            async for event in self._run(None, self.config(thread_id)):
                yield event
        elif thread_id in self._unsent:
            text, persona, owner = self._unsent.pop(thread_id)
            async for event in self.send(thread_id, text, persona=persona, customer_id=owner):
                yield event
        else:
            yield ErrorEvent(message="There is nothing to retry.", detail="no failed turn", retryable=False)

    async def check_access(self, thread_id: str, customer_id: str | None) -> None:
        """Raise ``ThreadNotFoundError`` when the thread is another customer's (operators: customer_id None)."""
        if customer_id is not None:
            snapshot = await self.graph.aget_state(self.config(thread_id))
            self._check_access(thread_id, snapshot.values, customer_id)

    @staticmethod
    def _check_access(thread_id: str, values: Any, customer_id: str | None) -> None:
        if not may_access(values, customer_id):
            raise ThreadNotFoundError(f"no thread {thread_id!r}")

    async def step(self, thread_id: str) -> AsyncIterator[Event]:
        """Developer stepping: run the next node of a paused turn, then pause again."""
        async for event in self._run(None, self.config(thread_id), step=True):
            yield event

    async def replay(self, thread_id: str, checkpoint_id: str) -> AsyncIterator[Event]:
        """Re-run the thread from one of its checkpoints (a branch; writes already done are not repeated)."""
        async for event in self._run(None, self.config(thread_id, checkpoint_id)):
            yield event

    async def turn(self, thread_id: str, text: str, *, persona: str | None = None,
                   customer_id: str | None = None) -> TurnOutcome:
        """``send`` collected into one outcome, for scripts."""
        outcome = TurnOutcome()
        async for event in self.send(thread_id, text, persona=persona, customer_id=customer_id):
            outcome.events.append(event)
        return outcome

    # --- history, replay, fork (operators and developers) ---------------------------------------------
    async def view(self, thread_id: str, checkpoint_id: str | None = None) -> ThreadView:
        """The thread's state now (or at a checkpoint)."""
        return await thread_view(self.graph, thread_id, checkpoint_id)

    async def checkpoints(self, thread_id: str, limit: int = 200) -> list[CheckpointInfo]:
        """The thread's checkpoints, newest first."""
        return await checkpoints(self.graph, thread_id, limit)

    async def fork(self, thread_id: str, checkpoint_id: str, new_thread_id: str | None = None) -> str:
        """A new thread continuing from one checkpoint of another."""
        return await fork(self.graph, thread_id, checkpoint_id, new_thread_id)

    async def threads(self) -> list[str]:
        """All thread ids, most recently active first."""
        return await thread_ids(self.saver)

    async def _run(self, payload: Any, config: dict[str, Any], *, step: bool = False) -> AsyncIterator[Event]:
        streamed: set[str] = set()
        # The stage is tracked from the updates as they arrive: tokens of a reply carry the stage that wrote it.
        stage = [str((await self.graph.aget_state(config)).values.get("stage", Stage.INTAKE))]
        wrote_store = False
        last_node = ""
        try:
            # durability="sync": each step's checkpoint is committed before the next step starts, so a crash
            # mid-turn resumes from the last finished step and a turn that returned is on disk.
            async for mode, data in self.graph.astream(payload, config, stream_mode=["messages", "updates"],
                                                       durability="sync", interrupt_after="*" if step else None):
                if mode == "messages":
                    chunk, meta = data
                    if (isinstance(chunk, AIMessageChunk) and isinstance(chunk.content, str) and chunk.content
                            and not chunk.tool_call_chunks
                            and meta.get("langgraph_node") in _REPLY_NODES):
                        streamed.add(str(chunk.id))
                        yield Token(text=chunk.content, message_id=chunk.id, stage=stage[0])
                    continue
                for node, update in data.items():
                    last_node = node if node != "__interrupt__" else last_node
                    wrote_store = wrote_store or node in _STORE_WRITERS
                    if isinstance(update, Mapping) and update.get("stage"):
                        stage[0] = str(update["stage"])
                    for event in _translate(node, update, streamed, stage[0]):
                        yield event
            if step:
                snap = await self.graph.aget_state(config)
                if snap.next and not any(t.interrupts for t in snap.tasks):
                    yield StepPaused(node=last_node, next_nodes=tuple(snap.next), state_keys=tuple(snap.values))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes an event; the checkpoint stays intact
            log.warning("turn failed: %r", exc)
            message, retryable = describe_failure(exc)
            yield ErrorEvent(message=message, detail=f"{type(exc).__name__}: {exc}", retryable=retryable)
        finally:
            await asyncio.to_thread(self._make_durable, wrote_store)

    def _make_durable(self, wrote_store: bool) -> None:
        """One fsync per turn: everything the turn committed survives a power cut once this returns."""
        if self._checkpoint_path:
            make_durable(self._checkpoint_path)
        if wrote_store and self._store_path:
            make_durable(self._store_path)


def _translate(node: str, update: Any, streamed: set[str], stage: str) -> list[Event]:
    """One node's update as events, in the order a reader expects them."""
    if node == "__interrupt__":
        return [ConfirmationRequested(tool=v["tool"], arguments=dict(v["arguments"]), summary=v["summary"],
                                      tool_call_id=v["tool_call_id"])
                for v in (item.value for item in update)
                if isinstance(v, Mapping) and v.get("type") == "confirmation"]
    if not isinstance(update, Mapping):
        return []
    events: list[Event] = []
    if update.get("stage_history"):
        change = update["stage_history"][-1]
        events.append(StageChanged(source=change["source"], target=change["target"], reason=change["reason"]))
    for message in update.get("messages", []):
        if isinstance(message, RemoveMessage | HumanMessage):
            continue
        if isinstance(message, AIMessage) and message.tool_calls:
            events += [ToolCalled(name=c["name"], arguments=dict(c["args"]), call_id=c["id"], stage=stage)
                       for c in message.tool_calls]
        elif isinstance(message, ToolMessage):
            events.append(ToolResult(name=message.name or "", call_id=message.tool_call_id,
                                     result=str(message.content), ok=message.status != "error"))
        elif isinstance(message, AIMessage) and str(message.content).strip():
            if update.get("ticket"):
                events.append(HandedOver(ticket_id=update["ticket"]["id"], reason=update["ticket"]["reason"]))
            events.append(Reply(text=str(message.content), stage=stage, message_id=message.id,
                                streamed=str(message.id) in streamed))
    return events


def open_store(settings: Settings) -> RetailStore:
    """The retail store; a brand-new file is filled with generated demo data so the product works at once."""
    settings.store_db.parent.mkdir(parents=True, exist_ok=True)
    store = RetailStore.open(settings.store_db, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    if store.counts().get("users", 0) == 0:
        from tools.generator import generate_dataset

        log.info("empty store at %s: generating demo data", settings.store_db)
        store.load_json(generate_dataset())
    return store
