"""The OpenAPI document and its viewers (Swagger UI, ReDoc), for operators only.

FastAPI serves all three to anyone; they list every operator route with its parameters, so the app is created
without them and these routes put them behind the operator check (with ``DESKGRAPH_API_AUTH=off`` on loopback
every caller is the local operator). A browser does not send a bearer token when the viewer page fetches
``/openapi.json``, so with authentication on the viewers need a client that adds the header to every request.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from agent.api import openapi as document
from agent.api.security import Operator

OPENAPI_URL = "/openapi.json"
#: Passed to FastAPI() so that it adds none of its own unguarded routes.
NO_PUBLIC_DOCS: dict[str, Any] = {"openapi_url": None, "docs_url": None, "redoc_url": None}


def install(app: FastAPI) -> None:
    """Add ``/openapi.json``, ``/docs`` and ``/redoc`` (not part of the document they serve)."""
    document.install(app)

    @app.get(OPENAPI_URL, include_in_schema=False)
    async def openapi(caller: Operator) -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(caller: Operator) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=OPENAPI_URL, title=f"{app.title} - Swagger UI")

    @app.get("/redoc", include_in_schema=False)
    async def redoc(caller: Operator) -> HTMLResponse:
        return get_redoc_html(openapi_url=OPENAPI_URL, title=f"{app.title} - ReDoc")
