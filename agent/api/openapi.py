"""The OpenAPI document: FastAPI's, plus the answers FastAPI cannot see and the schemas they refer to.

FastAPI documents what a handler returns. Other answers come from around the handlers and apply to many routes:
the Host check (400, Starlette's TrustedHostMiddleware, plain text), the token checks (401; 403 from the
``Operator`` dependency), the body limit (413), validation as errors.py reshapes it (422) and the catch-all
handler (500). They are added to each operation from facts about its route, so a new route is documented
without an edit, and every error answer is JSON with its model, also on routes that stream events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic.json_schema import models_json_schema

from agent.api.event_docs import event_schemas
from agent.api.schemas import ErrorOut, ValidationErrorOut
from agent.api.security import operator

_REF = "#/components/schemas/{model}"
_ERROR = {"$ref": _REF.format(model="ErrorOut")}
#: Methods whose bodies BodyLimitMiddleware reads (and may refuse with 413, or 422 when not UTF-8).
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_BAD_HOST = {"description": "The Host header is not one the service answers (DESKGRAPH_API_ALLOWED_HOSTS).",
             "content": {"text/plain": {"schema": {"type": "string"}}}}
_UNAUTHORIZED = {**_json("No bearer token, or one that is invalid, expired or revoked.", _ERROR),
                 "headers": {"WWW-Authenticate": {"required": True, "schema": {"type": "string"},
                                                  "description": "`Bearer`"}}}
_FORBIDDEN = _json("Operators only: the token is a customer's.", _ERROR)
_TOO_LARGE = _json("The body is over DESKGRAPH_API_MAX_BODY_BYTES.", _ERROR)
_INVALID = _json("The request is invalid: a list of validation issues, or a message (a body that is not UTF-8, "
                 "an unknown customer).",
                 {"anyOf": [{"$ref": _REF.format(model="ValidationErrorOut")}, _ERROR]})
_CRASHED = _json("Unexpected failure: `error_id` names the server log line with the details.", _ERROR)
#: FastAPI's own validation answer, which errors.py replaces (it never echoes the input).
_REPLACED = ("HTTPValidationError", "ValidationError")


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A handler's own refusals (the runtime's 404 and 409) as JSON ``ErrorOut``, whatever the route's media type.

    FastAPI would document a ``model`` in the route's media type: ``text/event-stream`` on streaming routes.
    """
    return {status: _json("Refused; the thread is unchanged.", _ERROR) for status in statuses}


def install(app: FastAPI) -> None:
    """Complete the app's document the first time it is generated."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _complete(generate(), app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _complete(document: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    routes = {(method.lower(), route.path_format): route for route in app.routes
              if isinstance(route, APIRoute) and route.include_in_schema for method in route.methods}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            _add_common_answers(operation, routes[(method, path)])
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _REPLACED:
        schemas.pop(name, None)
    _, errors = models_json_schema([(ErrorOut, "serialization"), (ValidationErrorOut, "serialization")],
                                   ref_template=_REF)
    schemas.update(errors["$defs"])
    schemas.update(event_schemas())
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    return document


def _add_common_answers(operation: dict[str, Any], route: APIRoute) -> None:
    common: dict[str, dict[str, Any]] = {"400": _BAD_HOST, "500": _CRASHED}
    if operation.get("security"):
        common["401"] = _UNAUTHORIZED
    if _needs_operator(route.dependant):
        common["403"] = _FORBIDDEN
    if route.methods & _BODY_METHODS:
        common["413"] = _TOO_LARGE
    if operation.get("parameters") or operation.get("requestBody") or route.methods & _BODY_METHODS:
        common["422"] = _INVALID
    # A route's own answers win, but for FastAPI's default 422: it is not the shape errors.py sends.
    responses = {**common, **{status: answer for status, answer in operation["responses"].items() if status != "422"}}
    for answer in responses.values():
        for media in answer.get("content", {}).values():
            if "itemSchema" in media:  # FastAPI's placeholder `schema` would describe the whole stream
                media.pop("schema", None)
    operation["responses"] = dict(sorted(responses.items()))


def _needs_operator(dependant: Dependant) -> bool:
    return any(d.call is operator or _needs_operator(d) for d in dependant.dependencies)
