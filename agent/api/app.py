"""FastAPI app over ``SupportRuntime``: conversation calls stream the runtime's typed events as SSE.

Thin adapter: who may call what is decided here (principals, roles); everything about conversations is the
runtime's (ownership, one turn at a time, input checks), and its refusals map to 404, 409 and 422.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from langchain_core.language_models import BaseChatModel

from agent.api import desk_routes, docs, errors
from agent.api.event_docs import event_stream_response
from agent.api.limits import BodyLimitMiddleware
from agent.api.openapi import refusals
from agent.api.schemas import (
    CheckpointId,
    CheckpointOut,
    ConfirmationIn,
    ErrorOut,
    FeedbackOut,
    ForkIn,
    ForkOut,
    HealthOut,
    MessageIn,
    PendingOut,
    ReadyOut,
    ReplayIn,
    ThreadId,
    ThreadOut,
    TicketRef,
)
from agent.api.security import Caller, Operator, check_auth_mode
from agent.api.sse import EventStreamResponse, TurnStreams
from agent.auth import OperatorTokens, Principal
from agent.observability.metrics import metrics_text
from agent.runtime import SupportRuntime, ThreadView, transcript_lines
from agent.runtime.feedback import Feedback
from agent.runtime.heap import settle_heap
from agent.settings import Settings
from agent.web import guard
from graphs.blocking import off_loop
from tools.db.errors import UNAVAILABLE
from tools.db.silence import answer_limit

log = logging.getLogger("agent.api")

# Handlers' own refusals; the answers every route shares (400, 401, 403, 413, 422, 500) are added by openapi.py.
_SSE = {"response_class": EventStreamResponse, "responses": {200: event_stream_response(), **refusals(404, 409)}}


async def _within(check: Awaitable[Any], *, seconds: float) -> Any:
    """The check's result, or ``TimeoutError`` after ``seconds``, the check left to end on its own: cancelled, a
    statement on a silent server would first wait for its cancellation to reach that server (psycopg: up to 10 s)."""
    task = asyncio.ensure_future(check)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # its failure, later, is expected
        raise TimeoutError(f"no answer within {seconds:g} s")
    return task.result()


def create_app(settings: Settings, *, model: BaseChatModel | None = None, bind_host: str = "127.0.0.1",
               whole_process: bool = False) -> FastAPI:
    """The service; the runtime (and the embedded model server, if needed) lives as long as the app.

    ``whole_process``: the app is all the process serves (``deskgraph serve``), so once it has started its heap is
    settled for serving (``runtime.heap``); not for an app created inside another program, such as a test run."""
    check_auth_mode(settings, bind_host)
    streams = TurnStreams()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with SupportRuntime.open(settings, model=model) as runtime:
            app.state.runtime = runtime
            if whole_process:
                settle_heap(settings.gc_gen0_threshold)  # everything long-lived is loaded now
            yield
            await streams.drain(timeout=settings.llm_timeout)

    app = FastAPI(title="deskgraph", version="0.1.0", lifespan=lifespan, **docs.NO_PUBLIC_DOCS)
    app.state.settings = settings
    app.state.operator_tokens = OperatorTokens(settings.store_location, settings.sqlite_busy_timeout_ms,
                                               answer_seconds=answer_limit(settings.sqlite_busy_timeout_ms))
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api_max_body_bytes)
    guard(app, settings, bind_host)  # Host allowlist and trusted proxies, shared with the web UI; last = first to run
    errors.install(app)
    docs.install(app)

    def rt(request: Request) -> SupportRuntime:
        return request.app.state.runtime

    @app.get("/health")
    async def health() -> HealthOut:
        return HealthOut()

    @app.get("/ready", responses={503: {"model": ErrorOut, "description": "The database does not answer."}})
    async def ready(request: Request) -> ReadyOut:
        """For a load balancer: 200 while this replica reaches the shared database, 503 (and out of rotation)
        while it does not. ``/health`` only says the process is up."""
        runtime = rt(request)
        try:
            # A load balancer gives up on a health check after a few seconds: so does this, on a silent server.
            await _within(runtime.leases.ping(), seconds=5)
            await _within(off_loop(runtime.store.db.execute, "SELECT 1"), seconds=5)
        except (TimeoutError, *UNAVAILABLE) as exc:
            log.warning("not ready: the database does not answer: %r", exc)
            return JSONResponse({"detail": "the database does not answer"}, status_code=503)
        return ReadyOut()

    @app.get("/metrics", response_class=Response,
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
    async def metrics(caller: Operator) -> Response:
        body, content_type = metrics_text()
        return Response(body, media_type=content_type)

    @app.post("/threads/{thread_id}/messages", **_SSE)
    async def send(thread_id: ThreadId, body: MessageIn, request: Request, caller: Caller) -> EventStreamResponse:
        turn = await rt(request).begin_message(thread_id, body.text, persona=body.persona,
                                               customer_id=caller.customer_id)
        return streams.response(turn, caller.role)

    @app.post("/threads/{thread_id}/confirmation", **_SSE)
    async def confirm(thread_id: ThreadId, body: ConfirmationIn, request: Request,
                      caller: Caller) -> EventStreamResponse:
        turn = await rt(request).begin_confirmation(thread_id, body.approved, customer_id=caller.customer_id)
        return streams.response(turn, caller.role)

    @app.post("/threads/{thread_id}/retry", **_SSE)
    async def retry(thread_id: ThreadId, request: Request, caller: Caller) -> EventStreamResponse:
        turn = await rt(request).begin_retry(thread_id, customer_id=caller.customer_id)
        return streams.response(turn, caller.role)

    @app.post("/threads/{thread_id}/replay", **_SSE)
    async def replay(thread_id: ThreadId, body: ReplayIn, request: Request, caller: Operator) -> EventStreamResponse:
        if not (await rt(request).view(thread_id, body.checkpoint_id)).exists:
            raise HTTPException(404, "checkpoint not found")
        return streams.response(await rt(request).begin_replay(thread_id, body.checkpoint_id), caller.role)

    @app.get("/threads")
    async def threads(request: Request, caller: Operator) -> list[str]:
        return await rt(request).threads()

    @app.get("/threads/{thread_id}", responses=refusals(404))
    async def show(thread_id: ThreadId, request: Request, caller: Caller,
                   checkpoint_id: CheckpointId | None = None) -> ThreadOut:
        await rt(request).check_access(thread_id, caller.customer_id)
        view = await rt(request).view(thread_id, checkpoint_id)
        if not view.exists:
            raise HTTPException(404, "thread not found")
        ratings = rt(request).feedback.for_thread(thread_id)
        mine = f"customer:{caller.name}"
        return _thread_out(view, caller, [r for r in ratings if caller.is_operator or r.author == mine])

    @app.get("/threads/{thread_id}/checkpoints", responses=refusals(404))
    async def list_checkpoints(thread_id: ThreadId, request: Request, caller: Operator,
                               limit: int = Query(100, ge=1, le=1000)) -> list[CheckpointOut]:
        rows = await rt(request).checkpoints(thread_id, limit)
        if not rows:
            raise HTTPException(404, "thread not found")
        return [CheckpointOut(**{**row.__dict__, "wrote": list(row.wrote), "next_nodes": list(row.next_nodes)})
                for row in rows]

    @app.post("/threads/{thread_id}/fork", responses=refusals(404, 409))
    async def fork(thread_id: ThreadId, body: ForkIn, request: Request, caller: Operator) -> ForkOut:
        try:
            new_id = await rt(request).fork(thread_id, body.checkpoint_id, body.new_thread_id)
        except LookupError as exc:
            raise HTTPException(404, "checkpoint not found") from exc
        except ValueError as exc:
            raise HTTPException(409, str(exc)) from exc
        return ForkOut(thread_id=new_id)

    desk_routes.install(app)
    return app


def _thread_out(view: ThreadView, caller: Principal, ratings: list[Feedback]) -> ThreadOut:
    """The thread as the caller may see it: customers get no tool arguments or results."""
    pending = view.pending_confirmation
    return ThreadOut(
        thread_id=view.thread_id, stage=view.stage, customer_id=view.customer_id,
        pending_confirmation=PendingOut(tool=pending["tool"], summary=pending["summary"],
                                        tool_call_id=pending["tool_call_id"],
                                        arguments=dict(pending["arguments"]) if caller.is_operator else None)
        if pending else None,
        ticket=TicketRef(**view.ticket) if view.ticket else None, persona=view.persona,
        next=list(view.next_nodes), failed_turn=view.failed_turn,
        transcript=transcript_lines(view.messages, tool_details=caller.is_operator),
        feedback=[FeedbackOut(**{k: v for k, v in r.__dict__.items() if k != "thread"}) for r in ratings],
    )
