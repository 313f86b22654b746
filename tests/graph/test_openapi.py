"""The OpenAPI document says what the service sends: a typed answer per route, every error status with its JSON
model, and each event of a stream with its JSON (test_schemathesis.py checks it against the running app)."""

from __future__ import annotations

import json
from typing import get_args

import jsonschema_rs

from agent.api import create_app
from agent.runtime.events import Event
from agent.settings import Settings
from agent.testing import ScriptedChatModel
from tests.graph.api_support import OMAR, client, customer_headers, operator_headers, shop_settings


def _document() -> dict:
    return create_app(Settings(_env_file=None), model=ScriptedChatModel()).openapi()


def test_every_route_declares_a_typed_response():
    for path, operations in _document()["paths"].items():
        for method, operation in operations.items():
            content = operation["responses"]["200"].get("content", {})
            media = next(iter(content.values()), {})
            schema = media.get("itemSchema") if "text/event-stream" in content else media.get("schema")
            assert content and schema, (method, path)
            assert schema != {}, (method, path)  # an untyped dict/Any answer


_SSE = ("/threads/{thread_id}/messages", "/threads/{thread_id}/confirmation", "/threads/{thread_id}/retry",
        "/threads/{thread_id}/replay")
#: Every answer but 200 each route gives: 400 (Host header not allowed), 401 (no or bad token), 403 (operator
#: routes, customer token), 404 and 409 (the runtime's refusals), 413 (body too large), 422 (validation, and the
#: runtime's InvalidInputError), 500 (anything unexpected: an error id).
_STATUSES = {
    ("get", "/health"): {400, 500},
    ("get", "/ready"): {400, 500, 503},
    ("get", "/metrics"): {400, 401, 403, 500},
    ("post", "/threads/{thread_id}/messages"): {400, 401, 404, 409, 413, 422, 500},
    ("post", "/threads/{thread_id}/confirmation"): {400, 401, 404, 409, 413, 422, 500},
    ("post", "/threads/{thread_id}/retry"): {400, 401, 404, 409, 413, 422, 500},
    ("post", "/threads/{thread_id}/replay"): {400, 401, 403, 404, 409, 413, 422, 500},
    ("get", "/threads"): {400, 401, 403, 500},
    ("get", "/threads/{thread_id}"): {400, 401, 404, 422, 500},
    ("get", "/threads/{thread_id}/checkpoints"): {400, 401, 403, 404, 422, 500},
    ("post", "/threads/{thread_id}/fork"): {400, 401, 403, 404, 409, 413, 422, 500},
    ("get", "/tickets"): {400, 401, 403, 422, 500},
    ("get", "/tickets/{ticket_id}"): {400, 401, 403, 404, 422, 500},
    ("post", "/tickets/{ticket_id}/claim"): {400, 401, 403, 404, 409, 413, 422, 500},
    ("post", "/threads/{thread_id}/operator-messages"): {400, 401, 403, 404, 409, 413, 422, 500},
    ("post", "/tickets/{ticket_id}/notes"): {400, 401, 403, 404, 413, 422, 500},
    ("post", "/tickets/{ticket_id}/reads"): {400, 401, 403, 404, 413, 422, 500},
    ("post", "/tickets/{ticket_id}/proposals"): {400, 401, 403, 404, 409, 413, 422, 500},
    ("post", "/tickets/{ticket_id}/hand-back"): {400, 401, 403, 404, 409, 413, 422, 500},
    ("post", "/tickets/{ticket_id}/close"): {400, 401, 403, 404, 409, 413, 422, 500},
    ("get", "/threads/{thread_id}/events"): {400, 401, 404, 422, 500},
    ("post", "/threads/{thread_id}/feedback"): {400, 401, 404, 413, 422, 500},
}
_ERROR = {"$ref": "#/components/schemas/ErrorOut"}
_INVALID = {"anyOf": [{"$ref": "#/components/schemas/ValidationErrorOut"}, _ERROR]}


def test_every_route_documents_the_errors_it_answers_as_json():
    document = _document()
    operations = {(m, p): op for p, ops in document["paths"].items() for m, op in ops.items()}
    assert set(operations) == set(_STATUSES)
    for key, operation in operations.items():
        responses = operation["responses"]
        assert {int(status) for status in responses} - {200} == _STATUSES[key], key
        for status, response in responses.items():
            if status == "200":
                continue
            content = response["content"]
            if status == "400":  # Starlette's TrustedHostMiddleware answers in plain text
                assert set(content) == {"text/plain"}, key
                continue
            assert set(content) == {"application/json"}, (key, status)
            assert content["application/json"]["schema"] == (_INVALID if status == "422" else _ERROR), (key, status)
        if 401 in _STATUSES[key]:
            assert "WWW-Authenticate" in responses["401"]["headers"], key
    schemas = document["components"]["schemas"]
    assert {"ErrorOut", "ValidationErrorOut"} <= set(schemas)


def test_event_streams_document_every_event_and_its_json():
    document = _document()
    kinds = {cls.__dataclass_fields__["kind"].default for cls in get_args(Event)} | {"done"}
    for path in _SSE:
        content = document["paths"][path]["post"]["responses"]["200"]["content"]
        assert set(content) == {"text/event-stream"}, path
        item = content["text/event-stream"]["itemSchema"]
        documented = {one["properties"]["event"]["const"]: one["properties"]["data"] for one in item["oneOf"]}
        assert set(documented) == kinds, path
        assert all(data["contentMediaType"] == "application/json" for data in documented.values())


async def test_streamed_events_match_their_documented_schemas(tmp_path):
    config = shop_settings(tmp_path)
    model = ScriptedChatModel(["Hello.", "Cancelled.", "Hello.", "Cancelled."])
    async with client(config, model) as c:
        document = c.app.openapi()
        item = document["paths"]["/threads/{thread_id}/messages"]["post"]["responses"]["200"]["content"][
            "text/event-stream"]["itemSchema"]
        data_schemas = {one["properties"]["event"]["const"]: one["properties"]["data"]["contentSchema"]
                        for one in item["oneOf"]}
        seen: dict[str, set[str]] = {"operator": set(), "customer": set()}
        for who, headers, first, order in (
                ("operator", operator_headers(config), "lena.moreau5521@example.com", "#W1000001"),
                ("customer", customer_headers(OMAR), "hi", "#W2000001")):
            turns = [("messages", {"text": first}), ("messages", {"text": f"cancel {order}, by mistake"}),
                     ("confirmation", {"approved": True})]
            for call, body in turns:
                r = await c.post(f"/threads/doc-{who}/{call}", json=body, headers=headers)
                assert r.status_code == 200, (who, call, r.text)
                for block in r.text.strip().split("\n\n"):
                    kind = block.split("\n", 1)[0].removeprefix("event: ")
                    data = json.loads(block.split("data: ", 1)[1])
                    validator = jsonschema_rs.validator_for({**data_schemas[kind], "components": document["components"]})
                    assert validator.is_valid(data), (who, kind, data)
                    seen[who].add(kind)
        assert seen["operator"] >= {"stage_changed", "tool_call", "tool_result", "confirmation_requested", "reply",
                                    "done"}
        assert seen["customer"] >= {"tool_call", "tool_result", "confirmation_requested", "reply", "done"}
    model.assert_complete()
