"""Chainlit's data layer written over the conversation runtime: one source of truth for every conversation.

The thread list, a resumed thread and its messages come from the checkpoints (``runtime.export_thread``: every
message, tool call, stage change and confirmation, with the ids the checkpointed messages have); ratings from
the feedback table. Chainlit's own writes of each step are dropped: the runtime has already checkpointed what the
step shows. The only thing kept here is which web user started a thread (Chainlit lists and resumes a thread for
its author), in a small table beside the tickets.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from chainlit.data.base import BaseDataLayer
from chainlit.types import Feedback, PageInfo, PaginatedResponse, Pagination, ThreadDict, ThreadFilter
from chainlit.user import PersistedUser, User

from agent.runtime import SupportRuntime, ThreadNotFoundError, ThreadView, TurnRefusedError
from agent.runtime.errors import MessageNotFoundError
from agent.runtime.export import export_thread
from agent.runtime.transcript import Entry
from prompts import replies
from ui.access import CUSTOMER_PREFIX, customer_id_of, customer_identifier
from ui.render import CONFIRMATION_AUTHOR, NOTICE_AUTHOR, operator_said, stage_name, stage_note

log = logging.getLogger("deskgraph.ui")

#: How much of the first message names a thread in the sidebar.
_NAME_CHARS = 60


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class CheckpointDataLayer(BaseDataLayer):
    """Threads, steps and ratings as the runtime has them."""

    def __init__(self, runtime: Callable[[], Awaitable[SupportRuntime]]) -> None:
        self._runtime = runtime

    async def _rt(self) -> SupportRuntime:
        # web_thread_authors and web_rated_steps are migration 7 of tools.db.migrations.
        return await self._runtime()

    # --- users: who they are is the login's (operators by password, customers by the shop's token) -----
    async def get_user(self, identifier: str) -> PersistedUser | None:
        role = "customer" if identifier.startswith(CUSTOMER_PREFIX) else "operator"
        return PersistedUser(id=identifier, identifier=identifier, createdAt=_now(), metadata={"role": role})

    async def create_user(self, user: User) -> PersistedUser | None:
        return PersistedUser(id=user.identifier, identifier=user.identifier, createdAt=_now(),
                             metadata=dict(user.metadata or {}))

    # --- threads ------------------------------------------------------------------------------------
    async def update_thread(self, thread_id: str, name: str | None = None, user_id: str | None = None,
                            metadata: dict | None = None, tags: list[str] | None = None) -> None:
        """Remember who started the thread in the web UI; its name, settings and messages are the runtime's."""
        if user_id:
            runtime = await self._rt()
            with runtime.store.transaction():
                runtime.store.db.execute("INSERT INTO web_thread_authors (thread_id, author, created) "
                                         "VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [thread_id, user_id, _now()])

    async def get_thread_author(self, thread_id: str) -> str:
        return await self._author(await self._rt(), thread_id) or ""

    async def list_threads(self, pagination: Pagination, filters: ThreadFilter) -> PaginatedResponse[ThreadDict]:
        """The web user's threads, most recently active first: a customer's own (however they were started), an
        operator's the ones they started here."""
        runtime = await self._rt()
        user = filters.userId or ""
        mine = {row[0] for row in runtime.store.db.execute(
            "SELECT thread_id FROM web_thread_authors WHERE author = ?", [user]).fetchall()}
        if (customer := customer_id_of(user)) is not None:
            mine |= await runtime.leases.claimed_by(customer)
        ordered = [t for t in await runtime.threads() if t in mine]
        if pagination.cursor in ordered:
            ordered = ordered[ordered.index(pagination.cursor) + 1:]
        page: list[ThreadDict] = []
        for thread_id in ordered:
            if len(page) > pagination.first:
                break
            view = await runtime.view(thread_id)
            name = _name(view.messages)
            if filters.search and filters.search.lower() not in name.lower():
                continue
            if filters.feedback is not None:
                up, down = runtime.feedback.counts(thread_id)
                if not (up if filters.feedback == 1 else down):
                    continue
            page.append(ThreadDict(id=thread_id, createdAt=_now(), name=name, userId=user, userIdentifier=user,
                                   tags=[], metadata={"stage": view.stage}, steps=[], elements=[]))
        more = len(page) > pagination.first
        page = page[:pagination.first]
        return PaginatedResponse(data=page, pageInfo=PageInfo(hasNextPage=more,
                                                              startCursor=page[0]["id"] if page else None,
                                                              endCursor=page[-1]["id"] if page else None))

    async def get_thread(self, thread_id: str) -> ThreadDict | None:
        """The thread as its checkpoints tell it, for its author (a customer sees tool names and outcomes only)."""
        runtime = await self._rt()
        view = await runtime.view(thread_id)
        if not view.exists:
            return None
        author = await self._author(runtime, thread_id, view)
        transcript = await export_thread(runtime.graph, thread_id)
        ratings = {r.message_id: r for r in runtime.feedback.for_thread(thread_id) if r.author == author}
        steps = thread_steps(thread_id, transcript.entries, user=author or "customer",
                             details=not (author or "").startswith(CUSTOMER_PREFIX))
        for step in steps:
            if (rating := ratings.get(step["id"])) is not None:
                step["feedback"] = {"forId": step["id"], "id": rating.id, "value": 1 if rating.value == "up" else 0,
                                    "comment": rating.comment}
        if view.failed_turn:
            steps.append(_step(thread_id, len(steps), "assistant_message", NOTICE_AUTHOR, replies()["model_error"]))
        return ThreadDict(id=thread_id, createdAt=steps[0]["createdAt"], name=_name(view.messages), userId=author,
                          userIdentifier=author, tags=[], metadata={"chat_settings": {"persona": view.persona}},
                          steps=steps, elements=[])

    async def delete_thread(self, thread_id: str) -> None:
        """Delete the conversation itself (checkpoints, lease, claim): the web UI keeps no copy of it."""
        runtime = await self._rt()
        with contextlib.suppress(ThreadNotFoundError):  # nothing checkpointed yet: only the author row goes
            await runtime.delete_thread(thread_id)
        with runtime.store.transaction():
            for table in ("web_thread_authors", "web_rated_steps"):
                runtime.store.db.execute(f"DELETE FROM {table} WHERE thread_id = ?", [thread_id])

    # --- ratings ------------------------------------------------------------------------------------
    async def upsert_feedback(self, feedback: Feedback) -> str:
        """A thumb on an agent message, by the thread's author (the only web user who can see the thread)."""
        runtime = await self._rt()
        thread_id = feedback.threadId or ""
        author = await self._author(runtime, thread_id)
        try:
            if not author:
                raise MessageNotFoundError("no conversation to rate here")
            row = runtime.store.db.execute("SELECT message_id FROM web_rated_steps WHERE step_id = ? AND thread_id = ?",
                                           [feedback.forId, thread_id]).fetchone()
            message_id = str(row[0]) if row else feedback.forId
            return await runtime.rate_message(thread_id, message_id, "up" if feedback.value == 1 else "down",
                                              author=author, comment=feedback.comment or None,
                                              customer_id=customer_id_of(author))
        except TurnRefusedError as exc:  # Chainlit shows the message of a failed rating; the log says which
            log.info("rating refused: %s", exc, extra={"thread": thread_id, "message": feedback.forId})
            raise ValueError("Only the assistant's messages in a conversation can be rated.") from exc

    async def rated_step(self, step_id: str, thread_id: str, message_id: str) -> None:
        """A live turn's run step stands for its last reply when Chainlit rates the turn."""
        runtime = await self._rt()
        with runtime.store.transaction():
            runtime.store.db.execute("INSERT INTO web_rated_steps (step_id, thread_id, message_id) VALUES (?, ?, ?) "
                                     "ON CONFLICT (step_id) DO UPDATE SET thread_id = excluded.thread_id, "
                                     "message_id = excluded.message_id", [step_id, thread_id, message_id])

    async def delete_feedback(self, feedback_id: str) -> bool:
        runtime = await self._rt()
        return runtime.feedback.remove(feedback_id) is not None

    # --- what the runtime already has: Chainlit's step and element writes are not kept ---------------
    async def create_step(self, step_dict: Any) -> None:
        return None

    async def update_step(self, step_dict: Any) -> None:
        return None

    async def delete_step(self, step_id: str) -> None:
        return None

    async def create_element(self, element: Any) -> None:
        return None

    async def get_element(self, thread_id: str, element_id: str) -> Any:
        return None

    async def delete_element(self, element_id: str, thread_id: str | None = None) -> None:
        return None

    async def get_favorite_steps(self, user_id: str) -> list:
        return []

    async def build_debug_url(self) -> str:
        return ""

    async def close(self) -> None:
        return None

    # --- internals ----------------------------------------------------------------------------------
    async def _author(self, runtime: SupportRuntime, thread_id: str, view: ThreadView | None = None) -> str | None:
        """The web user the thread belongs to: the customer it was started for, else whoever started it here
        (``view``: the thread's view when the caller has it already)."""
        row = runtime.store.db.execute("SELECT author FROM web_thread_authors WHERE thread_id = ?",
                                       [thread_id]).fetchone()
        if row:
            return str(row[0])
        view = view or await runtime.view(thread_id)
        return customer_identifier(view.owner) if view.owner else None


def _name(messages: list[Any]) -> str:
    first = next((str(m.content) for m in messages if m.type == "human"), "New conversation")
    return first if len(first) <= _NAME_CHARS else first[:_NAME_CHARS - 1] + "…"


def _step(thread_id: str, index: int, kind: str, name: str, output: str, *, step_id: str | None = None,
          **extra: Any) -> dict[str, Any]:
    # Steps are shown in the order of their timestamps: one millisecond apart, in transcript order.
    created = (dt.datetime(2000, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=index)).isoformat()
    return {"id": step_id or f"{thread_id}:{index}", "threadId": thread_id, "parentId": None, "name": name,
            "type": kind, "output": output, "input": "", "createdAt": created, "start": created, "end": created,
            "streaming": False, "isError": False, "waitForAnswer": False, "metadata": {}, "tags": [],
            "showInput": False, "language": None, **extra}


def thread_steps(thread_id: str, entries: tuple[Entry, ...], *, user: str, details: bool) -> list[dict[str, Any]]:
    """The steps Chainlit shows for a transcript, as ``ui.render`` drew them live: the greeting every chat starts
    with, the messages (replies under their stage's name, a person's under theirs), tool steps (arguments and
    results for operators; for customers the tool's name and whether it worked), stage notes and confirmation
    requests."""
    steps = [_step(thread_id, 0, "assistant_message", stage_name("intake"), replies()["welcome"])]
    stage = "intake"
    tools: dict[str, dict[str, Any]] = {}
    for entry in entries:
        index = len(steps)
        match entry.kind:
            case "customer":
                steps.append(_step(thread_id, index, "user_message", user, entry.text, step_id=entry.message_id))
            case "agent":
                steps.append(_step(thread_id, index, "assistant_message", stage_name(stage), entry.text,
                                   step_id=entry.message_id))
            case "operator":
                steps.append(_step(thread_id, index, "assistant_message", entry.author or "operator",
                                   operator_said(entry.author or "operator", entry.text), step_id=entry.message_id))
            case "tool_call":
                step = _step(thread_id, index, "tool", entry.tool or "tool", "", language="json",
                             showInput="json" if details else False,
                             input=json.dumps(entry.arguments, ensure_ascii=False, indent=1) if details else "")
                steps.append(step)
                tools[entry.call_id or ""] = step
            case "tool_result":
                step = tools.pop(entry.call_id or "", None)
                if step is None:  # a result without its call (a write after its confirmation)
                    step = _step(thread_id, index, "tool", entry.tool or "tool", "", language="json")
                    steps.append(step)
                step["output"] = _pretty(entry.text) if details else ("ok" if entry.ok else "failed")
                step["isError"] = not entry.ok
            case "stage_changed":
                stage = entry.target or stage
                steps.append(_step(thread_id, index, "assistant_message", stage_name(stage),
                                   stage_note(stage, entry.text)))
            case "confirmation_requested":
                steps.append(_step(thread_id, index, "assistant_message", CONFIRMATION_AUTHOR,
                                   f"**Please confirm:** {entry.text}"))
    return steps


def _pretty(result: str) -> str:
    try:
        return json.dumps(json.loads(result), ensure_ascii=False, indent=1)
    except ValueError:
        return result
