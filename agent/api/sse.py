"""A started turn as server-sent events, filtered for the caller's role.

The turn runs in its own task and always to its end: a client that disconnects stops receiving, not the turn.
A message that was answered 200 is therefore never lost half-way, and the thread's lease is released when the
turn is done. The app waits for running turns when it shuts down.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse

from agent.runtime import Turn, event_dict
from agent.runtime.events import Audience

#: The last event of every stream (``data: {}``): the turn is over.
DONE = "done"


class EventStreamResponse(StreamingResponse):
    """``text/event-stream`` (also what the OpenAPI document names)."""

    media_type = "text/event-stream"


class TurnStreams:
    """The turns being streamed by one app."""

    def __init__(self) -> None:
        self.running: set[asyncio.Task[None]] = set()

    def response(self, turn: Turn, audience: Audience) -> EventStreamResponse:
        """Start pumping the turn's events and answer with them as they come."""
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()

        async def pump() -> None:
            try:
                async for event in turn:
                    payload = event_dict(event, audience)
                    await queue.put(f"event: {payload['kind']}\ndata: {json.dumps(payload)}\n\n".encode())
            finally:
                await queue.put(None)

        task = asyncio.create_task(pump())
        self.running.add(task)
        task.add_done_callback(self.running.discard)

        async def body() -> AsyncIterator[bytes]:
            while (chunk := await queue.get()) is not None:
                yield chunk
            yield f"event: {DONE}\ndata: {{}}\n\n".encode()

        return EventStreamResponse(body(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def drain(self, timeout: float) -> None:
        """Let running turns finish (up to ``timeout`` seconds) before the runtime closes."""
        if self.running:
            await asyncio.wait(set(self.running), timeout=timeout)
