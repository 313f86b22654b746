"""Whether a replayed step equals the original one, and if not, what differs, in a sentence.

States are compared as plain data. What a run makes up afresh every time is left out: message ids, and the
ids code gives its own tool calls (``graphs.dialogue.new_call_id``), which are compared by where they occur
(the first call id of the conversation, the second, ...) instead of by value.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from pydantic import BaseModel


def _message(m: BaseMessage) -> dict[str, Any]:
    plain: dict[str, Any] = {"type": m.type, "content": m.content}
    if isinstance(m, AIMessage):
        plain["tool_calls"] = [{"name": c["name"], "args": c["args"], "id": c.get("id")} for c in m.tool_calls]
        plain["invalid_tool_calls"] = [{"name": c.get("name"), "args": c.get("args"), "error": c.get("error")}
                                       for c in m.invalid_tool_calls]
    if isinstance(m, ToolMessage):
        plain.update(tool_call_id=m.tool_call_id, name=m.name, status=m.status)
    return plain


def plain(value: Any) -> Any:
    """A state value as JSON-like data (messages without their ids)."""
    if isinstance(value, BaseMessage):
        return _message(value)
    if isinstance(value, BaseModel):
        return plain(value.model_dump())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _call_ids(messages: list[dict[str, Any]]) -> dict[str, str]:
    order: dict[str, str] = {}
    for m in messages:
        for cid in [c["id"] for c in m.get("tool_calls", [])] + [m.get("tool_call_id")]:
            if isinstance(cid, str) and cid not in order:
                order[cid] = f"<call {len(order) + 1}>"
    return order


def _renamed(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, dict):
        return {k: _renamed(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    return value


def normalized(values: Mapping[str, Any]) -> dict[str, Any]:
    """A state with its call ids replaced by their order of appearance."""
    data = plain(dict(values))
    return _renamed(data, _call_ids(data.get("messages", [])))


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


def _call_text(message: dict[str, Any]) -> str:
    return ", ".join(f"{c['name']}({_short(c['args'], 100)})" for c in message.get("tool_calls", []))


def _message_difference(original: list[dict[str, Any]], replayed: list[dict[str, Any]]) -> str:
    for index, (a, b) in enumerate(zip(original, replayed, strict=False)):
        if a != b:
            if a.get("tool_calls") or b.get("tool_calls"):
                return (f"message {index + 1}: a different tool call: original {_call_text(a) or _short(a)}, "
                        f"replay {_call_text(b) or _short(b)}")
            return f"message {index + 1}: original {_short(a)}, replay {_short(b)}"
    extra, which = (original, "original") if len(original) > len(replayed) else (replayed, "replay")
    first = extra[min(len(original), len(replayed))]
    return f"only the {which} has message {min(len(original), len(replayed)) + 1}: {_short(first)}"


def difference(original: Mapping[str, Any], replayed: Mapping[str, Any]) -> str | None:
    """What differs between two states (normalized), in one line; None when they are equal."""
    a, b = normalized(original), normalized(replayed)
    if a == b:
        return None
    for key in sorted(set(a) | set(b), key=lambda k: (k != "messages", k)):
        if a.get(key) != b.get(key):
            if key == "messages":
                return _message_difference(a.get(key) or [], b.get(key) or [])
            return f"{key}: original {_short(a.get(key))}, replay {_short(b.get(key))}"
    return None
