"""The event stream as the OpenAPI document describes it, generated from the runtime's event dataclasses.

Each server-sent event is ``event: <kind>`` and ``data: <json>``; the JSON is the event as ``event_dict`` sends
it: every field for operators, the fields ``customer_fields`` keeps for customers. Both views are generated
from the dataclass, so a field added to an event shows up here without an edit.
"""

from __future__ import annotations

from typing import Any, get_args

from pydantic import TypeAdapter

from agent.api.sse import DONE
from agent.runtime.events import Event, customer_fields

_REF = "#/components/schemas/{model}"


def _kind(cls: type) -> str:
    return cls.__dataclass_fields__["kind"].default  # type: ignore[attr-defined]


def _operator_view(cls: type) -> dict[str, Any]:
    schema = TypeAdapter(cls).json_schema(mode="serialization", ref_template=_REF)
    # asdict() sends every field, defaults included: all of them are always there, and nothing else is.
    return {**schema, "required": list(schema["properties"]), "additionalProperties": False}


def _customer_view(operator: dict[str, Any], keep: tuple[str, ...]) -> dict[str, Any]:
    return {**operator, "title": f"{operator['title']}ForCustomers",
            "description": f"{operator.get('description', '')}\n\nA customer's stream: {', '.join(keep)} only.",
            "properties": {name: operator["properties"][name] for name in keep}, "required": list(keep)}


def event_schemas() -> dict[str, dict[str, Any]]:
    """Component schemas of every event's JSON, by name (``ToolCalled``, ``ToolCalledForCustomers`` ...)."""
    schemas: dict[str, dict[str, Any]] = {}
    for cls in get_args(Event):
        operator = _operator_view(cls)
        schemas[operator["title"]] = operator
        if (keep := customer_fields(_kind(cls))) is not None:
            customer = _customer_view(operator, keep)
            schemas[customer["title"]] = customer
    return schemas


def _data(cls: type) -> dict[str, Any]:
    name = cls.__name__
    if customer_fields(_kind(cls)) is None:
        return {"$ref": _REF.format(model=name)}
    return {"anyOf": [{"$ref": _REF.format(model=name)}, {"$ref": _REF.format(model=f"{name}ForCustomers")}]}


def _item(kind: str, data_schema: dict[str, Any]) -> dict[str, Any]:
    # The shape of one event as Open API 3.2 describes server-sent events (FastAPI's own SSE routes use it).
    return {"type": "object", "title": kind, "required": ["event", "data"],
            "properties": {"event": {"const": kind},
                           "data": {"type": "string", "contentMediaType": "application/json",
                                    "contentSchema": data_schema}}}


def event_stream_response() -> dict[str, Any]:
    """The 200 answer of a conversation call: ``text/event-stream``, one schema per event kind."""
    kinds = [_kind(cls) for cls in get_args(Event)]
    items = [_item(_kind(cls), _data(cls)) for cls in get_args(Event)]
    items.append(_item(DONE, {"type": "object", "additionalProperties": False}))
    return {
        "description": f"Server-sent events, one per runtime event (`event: <kind>`, `data: <json>`): "
                       f"{', '.join(kinds)}; then `{DONE}` with `{{}}`. Customers get tool name and ok/failed "
                       "only; operators get arguments, results and error details.",
        # itemSchema describes one event (Open API 3.2); `schema` beside it would describe the whole stream.
        "content": {"text/event-stream": {"itemSchema": {"oneOf": items}}},
    }


def desk_feed_response() -> dict[str, Any]:
    """The 200 answer of a thread's desk feed: ``desk`` events (each with its feed id), then ``idle``."""
    desk = next(cls for cls in get_args(Event) if _kind(cls) == "desk")
    items = [_item("desk", _data(desk)), _item("idle", {"type": "object", "additionalProperties": False})]
    return {
        "description": "Server-sent events: `id: <feed id>`, `event: desk`, `data: <json>` per desk event, then "
                       "`idle` with `{}` once nothing happened for `idle` seconds (reconnect with Last-Event-ID).",
        "content": {"text/event-stream": {"itemSchema": {"oneOf": items}}},
    }
