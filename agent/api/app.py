"""FastAPI app over ``SupportRuntime``: each conversation call streams the runtime's typed events as SSE."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import StreamingResponse
from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from agent.runtime import Event, SupportRuntime, event_dict, transcript_lines
from agent.settings import Settings


class MessageIn(BaseModel):
    """A customer message."""

    text: str = Field(min_length=1, max_length=8000)
    persona: str | None = None


class ConfirmationIn(BaseModel):
    """The answer to a pending write."""

    approved: bool


class ForkIn(BaseModel):
    """Where to fork from."""

    checkpoint_id: str
    new_thread_id: str | None = None


def _sse(events: AsyncIterator[Event]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        async for event in events:
            payload = event_dict(event)
            yield f"event: {payload['kind']}\ndata: {json.dumps(payload)}\n\n".encode()
        yield b"event: done\ndata: {}\n\n"

    return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def create_app(settings: Settings, *, model: BaseChatModel | None = None) -> FastAPI:
    """The service; the runtime (and the embedded model server, if needed) lives as long as the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with SupportRuntime.open(settings, model=model) as runtime:
            app.state.runtime = runtime
            yield

    app = FastAPI(title="deskgraph", version="0.1.0", lifespan=lifespan)

    def rt(request: Request) -> SupportRuntime:
        return request.app.state.runtime

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/threads/{thread_id}/messages")
    async def send(thread_id: str, body: MessageIn, request: Request) -> StreamingResponse:
        return _sse(rt(request).send(thread_id, body.text, persona=body.persona))

    @app.post("/threads/{thread_id}/confirmation")
    async def confirm(thread_id: str, body: ConfirmationIn, request: Request) -> StreamingResponse:
        view = await rt(request).view(thread_id)
        if not view.interrupted:
            raise HTTPException(409, "no confirmation is pending in this thread")
        return _sse(rt(request).answer_confirmation(thread_id, body.approved))

    @app.post("/threads/{thread_id}/retry")
    async def retry(thread_id: str, request: Request) -> StreamingResponse:
        return _sse(rt(request).retry(thread_id))

    @app.get("/threads")
    async def threads(request: Request) -> list[str]:
        return await rt(request).threads()

    @app.get("/threads/{thread_id}")
    async def show(thread_id: str, request: Request, checkpoint_id: str | None = None) -> dict[str, Any]:
        view = await rt(request).view(thread_id, checkpoint_id)
        if not view.exists:
            raise HTTPException(404, f"no thread {thread_id!r}")
        return {"thread_id": thread_id, "stage": view.stage, "customer_id": view.customer_id,
                "pending_confirmation": view.pending_confirmation, "ticket": view.ticket, "persona": view.persona,
                "next": list(view.next_nodes), "failed_turn": view.failed_turn,
                "transcript": transcript_lines(view.messages)}

    @app.get("/threads/{thread_id}/checkpoints")
    async def list_checkpoints(thread_id: str, request: Request, limit: int = 100) -> list[dict[str, Any]]:
        rows = await rt(request).checkpoints(thread_id, limit)
        if not rows:
            raise HTTPException(404, f"no thread {thread_id!r}")
        return [row.__dict__ for row in rows]

    @app.post("/threads/{thread_id}/fork")
    async def fork(thread_id: str, body: ForkIn, request: Request) -> dict[str, str]:
        try:
            new_id = await rt(request).fork(thread_id, body.checkpoint_id, body.new_thread_id)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from exc
        except ValueError as exc:
            raise HTTPException(409, str(exc)) from exc
        return {"thread_id": new_id}

    return app
