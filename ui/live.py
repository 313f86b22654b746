"""A thread's desk events shown in a Chainlit session as they happen: one background task per session and purpose
(the customer's chat, the operator's open ticket), ended when replaced or when the session ends."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal

import chainlit as cl

from agent.runtime import DeskEvent, SupportRuntime


def follow(key: str, runtime: SupportRuntime, thread_id: str, audience: Literal["customer", "operator"],
           show: Callable[[DeskEvent], Awaitable[None]]) -> None:
    """From now on, ``show`` each desk event of the thread in this session (replacing what ``key`` followed)."""

    async def forever() -> None:
        after = runtime.desk.last_event_id(thread_id)
        while True:  # each runtime.follow() ends after an idle spell; go on until the session ends
            async for event in runtime.follow(thread_id, audience=audience, after=after, idle_seconds=300):
                after = event.feed_id
                await show(event)

    stop(key)
    cl.user_session.set(key, asyncio.create_task(forever()))


def stop(key: str) -> None:
    """Stop following what ``key`` follows in this session."""
    task: asyncio.Task | None = cl.user_session.get(key)
    if task is not None:
        task.cancel()
    cl.user_session.set(key, None)
