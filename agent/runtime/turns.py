"""A started turn: its events, and the thread's lease held until the events end or the turn is closed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

from agent.runtime.events import Event
from agent.runtime.observer import TurnObserver


class Turn:
    """Iterate it once for the events; the lease is released (and the turn counted) when it ends or closes.

    Example:
        async with await runtime.begin_message("t1", "hi") as turn:
            async for event in turn:
                ...
    """

    def __init__(self, events: AsyncIterator[Event], *, release: AsyncExitStack | None = None,
                 observer: TurnObserver | None = None) -> None:
        self._events = events
        self._release = release
        self._observer = observer
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[Event]:
        try:
            async for event in self._events:
                if self._observer:
                    self._observer.event(event)
                yield event
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Stop the events (if still running), release the lease, count the turn; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._events.aclose()  # type: ignore[attr-defined]
        finally:
            if self._observer:
                self._observer.finish()
            if self._release:
                await self._release.aclose()

    async def __aenter__(self) -> Turn:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def single(event: Event) -> Turn:
    """A turn that is only one event and holds nothing (e.g. "please type a message")."""

    async def events() -> AsyncIterator[Event]:
        yield event

    return Turn(events())
