"""Errors as clients see them: a status, a short message, and for server errors an id to quote.

Validation errors never echo the input (FastAPI's default puts every rejected value back in the answer, so a
100 MB field came back in full). Server errors say nothing but their id; the log line under that id has the
details (paths, URLs, the stack).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from agent.observability.logs import new_error_id
from agent.runtime import (
    InvalidInputError,
    NothingPendingError,
    ThreadBusyError,
    ThreadNotFoundError,
)
from agent.runtime.desk import TicketConflictError, TicketNotFoundError
from agent.runtime.errors import MessageNotFoundError

log = logging.getLogger("agent.api")

#: How the runtime's refusals read over HTTP (the runtime's own messages carry no input back).
_REFUSALS: dict[type[Exception], int] = {ThreadNotFoundError: 404, ThreadBusyError: 409, NothingPendingError: 409,
                                         InvalidInputError: 422, TicketNotFoundError: 404,
                                         MessageNotFoundError: 404, TicketConflictError: 409}


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": [str(part)[:64] for part in e.get("loc", ())], "msg": str(e.get("msg", ""))[:200],
                   "type": str(e.get("type", ""))} for e in exc.errors()[:20]]
        return JSONResponse({"detail": errors}, status_code=422)

    for kind, status in _REFUSALS.items():
        app.add_exception_handler(kind, _refusal(status))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        error_id = new_error_id()
        log.error("request failed", exc_info=exc, extra={"error_id": error_id, "method": request.method,
                                                         "path": request.url.path})
        return JSONResponse({"detail": "internal error", "error_id": error_id}, status_code=500)


def _refusal(status: int):  # noqa: ANN202 - an exception handler
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        detail = "thread not found" if isinstance(exc, ThreadNotFoundError) else str(exc)
        return JSONResponse({"detail": detail}, status_code=status)

    return handler
