"""Tool-call recovery and validation for Qwen-style models.

Qwen2.5 models (and the Coder GGUFs in particular) often write tool calls as text instead of structured
``tool_calls``: inside ``<tool_call>…</tool_call>`` tags, as bare JSON ``{"name": …, "arguments": …}``, in a
fenced ```json block, or as a list of such objects. :func:`recover_tool_calls` turns such text into
LangChain tool calls, only for tools offered in the request, with arguments checked by pydantic
(:mod:`agent.llm.arguments`). :func:`validate_tool_calls` applies the same checks to the calls of any ``AIMessage``.

Everything here is pure (no I/O), so the graph can run it on every model reply whatever produced it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.messages.tool import InvalidToolCall, ToolCall, invalid_tool_call, tool_call

from agent.llm.arguments import ToolSpec, tool_specs, validate_arguments

__all__ = [
    "RecoveryResult",
    "ToolSpec",
    "new_call_id",
    "recover_tool_calls",
    "tool_specs",
    "validate_arguments",
    "validate_tool_calls",
]

_TAG_OPEN = "<tool_call>"
_TAG_CLOSE = "</tool_call>"
_TAG_RE = re.compile(r"<tool_call>(.*?)(?:</tool_call>|\Z)", re.DOTALL)
_FENCE_RE = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_NAME_RE = re.compile(r'"name"\s*:\s*"([^"\\]+)"')
_CALL_KEYS = {"name", "arguments", "parameters", "args", "id", "type", "function"}


def new_call_id() -> str:
    """A fresh tool-call id in OpenAI's style."""
    return "call_" + uuid.uuid4().hex[:24]


# --------------------------------------------------------------------------------------------
# validation of calls


def _error_text(errors: Sequence[str]) -> str:
    shown = list(dict.fromkeys(errors))[:3]
    return " ".join(shown)


def _unknown_tool(name: str, specs: Mapping[str, ToolSpec]) -> str:
    available = ", ".join(specs) if specs else "none"
    if not name:
        return f"Tool call without a tool name. Available tools: {available}."
    return f"Unknown tool '{name}'. Available tools: {available}."


def _raw_args(args: Any) -> str:
    if isinstance(args, str):
        return args
    try:
        return json.dumps(args, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(args)


def check_call(
    name: str, args: Any, call_id: str | None, specs: Mapping[str, ToolSpec]
) -> ToolCall | InvalidToolCall:
    """One call: a ``ToolCall`` when it names an offered tool with valid arguments, else an ``InvalidToolCall``."""
    call_id = call_id or new_call_id()
    if name not in specs:
        return invalid_tool_call(name=name or None, args=_raw_args(args), id=call_id, error=_unknown_tool(name, specs))
    if isinstance(args, str):
        text = args.strip()
        if not text:
            args = {}
        else:
            try:
                args = json.loads(text)
            except ValueError:
                return invalid_tool_call(
                    name=name, args=text, id=call_id,
                    error=f"Arguments of '{name}' are not valid JSON; give them as a JSON object.",
                )
    if args is None:
        args = {}
    errors = validate_arguments(args, specs[name].parameters, name)
    if errors:
        return invalid_tool_call(name=name, args=_raw_args(args), id=call_id, error=_error_text(errors))
    return tool_call(name=name, args=args, id=call_id)


def validate_tool_calls(
    message: AIMessage, tools: Sequence[Any]
) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    """Check every call of ``message`` against the ``tools`` offered: returns (valid calls, invalid calls).

    Invalid calls carry ``error``: a short corrective message meant for the model. Calls already in
    ``message.invalid_tool_calls`` are kept (with an error text if they had none). Exact duplicate calls
    (same name and arguments) are dropped.
    """
    specs = tool_specs(tools)
    valid: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    seen: set[str] = set()
    for tc in message.tool_calls:
        checked = check_call(tc.get("name") or "", tc.get("args"), tc.get("id"), specs)
        if checked.get("type") == "tool_call":
            key = tc.get("name", "") + json.dumps(checked["args"], sort_keys=True, default=str)
            if key in seen:
                continue
            seen.add(key)
            valid.append(checked)  # type: ignore[arg-type]
        else:
            invalid.append(checked)  # type: ignore[arg-type]
    for itc in message.invalid_tool_calls:
        error = itc.get("error")
        if not error:
            name = itc.get("name") or ""
            error = (
                _unknown_tool(name, specs)
                if name not in specs
                else f"Arguments of '{name}' are not valid JSON; give them as a JSON object."
            )
        invalid.append(invalid_tool_call(name=itc.get("name"), args=itc.get("args"), id=itc.get("id"), error=error))
    return valid, invalid


# --------------------------------------------------------------------------------------------
# recovery from text


@dataclass
class RecoveryResult:
    """Calls found in a text, the invalid ones (with a corrective error), and the text left as content."""

    calls: list[ToolCall] = field(default_factory=list)
    invalid: list[InvalidToolCall] = field(default_factory=list)
    content: str = ""

    @property
    def found(self) -> bool:
        return bool(self.calls or self.invalid)


def _unwrap_call(obj: Any) -> tuple[str, Any] | None:
    """``(name, arguments)`` if ``obj`` looks like a tool-call object, else None."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict) and "name" in obj["function"]:
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str):
        return None
    for key in ("arguments", "parameters", "args"):
        if key in obj:
            return name, obj[key]
    return None


def _loose_call(obj: Any, specs: Mapping[str, ToolSpec]) -> tuple[str, Any] | None:
    """Also accept ``{"name": "<offered tool>"}`` with no arguments (only call-shaped keys)."""
    found = _unwrap_call(obj)
    if found is not None:
        return found
    if isinstance(obj, dict) and obj.get("name") in specs and set(obj) <= _CALL_KEYS:
        return obj["name"], {}
    return None


def _calls_in(obj: Any, specs: Mapping[str, ToolSpec]) -> list[tuple[str, Any]] | None:
    if isinstance(obj, list):
        items = [_loose_call(o, specs) for o in obj]
        if items and all(i is not None for i in items):
            return items  # type: ignore[return-value]
        return None
    one = _loose_call(obj, specs)
    return [one] if one else None


def _strip_fence(text: str) -> str:
    m = re.fullmatch(r"\s*```[ \t]*[A-Za-z0-9_-]*[ \t]*\n?(.*?)(?:```)?\s*", text, re.DOTALL)
    return m.group(1) if m else text


def _decode_prefix(text: str) -> tuple[Any, int] | None:
    """Decode one JSON value at the start of ``text`` (after whitespace); ``(value, end)`` or None."""
    stripped = len(text) - len(text.lstrip())
    try:
        value, end = json.JSONDecoder().raw_decode(text, stripped)
    except ValueError:
        return None
    return value, end


class _Collector:
    def __init__(self, specs: Mapping[str, ToolSpec]) -> None:
        self.specs = specs
        self.result = RecoveryResult()
        self._seen: set[str] = set()

    def add(self, name: str, args: Any) -> None:
        checked = check_call(name, args, None, self.specs)
        if checked.get("type") == "tool_call":
            key = name + json.dumps(checked["args"], sort_keys=True, default=str)
            if key in self._seen:
                return
            self._seen.add(key)
            self.result.calls.append(checked)  # type: ignore[arg-type]
        else:
            self.result.invalid.append(checked)  # type: ignore[arg-type]

    def add_broken(self, raw: str) -> None:
        m = _NAME_RE.search(raw)
        name = m.group(1) if m else ""
        error = (
            f"The call to '{name}' is not valid JSON. Write it as "
            '{"name": "<tool>", "arguments": {…}}.'
            if name
            else 'A tool call was not valid JSON. Write it as {"name": "<tool>", "arguments": {…}}.'
        )
        if name and name not in self.specs:
            error = _unknown_tool(name, self.specs)
        self.result.invalid.append(
            invalid_tool_call(name=name or None, args=raw.strip(), id=new_call_id(), error=error)
        )


def _clean_content(parts: list[str]) -> str:
    text = "".join(parts)
    text = text.replace(_TAG_CLOSE, "")
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def recover_tool_calls(text: str, tools: Sequence[Any] | Mapping[str, ToolSpec] | None) -> RecoveryResult:
    """Find tool calls written as text.

    Recognises ``<tool_call>`` blocks (several; the last may be unclosed), fenced ```json blocks, and bare
    JSON objects or lists of objects with ``name`` and ``arguments`` (or ``parameters``), ``arguments``
    possibly a JSON string. Only tools in ``tools`` are accepted; other names and schema-invalid arguments
    become invalid calls with a corrective error. Recognised call text is removed from ``content``; all
    other text is kept. With no tools offered, nothing is recovered (the text may be wanted JSON).
    """
    specs = tools if isinstance(tools, Mapping) else tool_specs(tools)
    if not text or not specs:
        return RecoveryResult(content=text or "")
    col = _Collector(specs)
    kept: list[str] = []

    if _TAG_OPEN in text:
        pos = 0
        for m in _TAG_RE.finditer(text):
            kept.append(text[pos:m.start()])
            pos = m.end()
            body = _strip_fence(m.group(1)).strip()
            if not body:
                continue
            decoded = _decode_prefix(body)
            calls = _calls_in(decoded[0], specs) if decoded else None
            if calls is None:
                col.add_broken(body)
                continue
            for name, args in calls:
                col.add(name, args)
            if decoded and body[decoded[1]:].strip():
                kept.append("\n" + body[decoded[1]:].strip())
        kept.append(text[pos:])
        col.result.content = _clean_content(kept)
        return col.result

    # Fenced blocks first, then bare JSON in what is left.
    remaining: list[str] = []
    pos = 0
    for m in _FENCE_RE.finditer(text):
        body = m.group(2)
        decoded = _decode_prefix(body)
        calls = _calls_in(decoded[0], specs) if decoded and not body[decoded[1]:].strip() else None
        if (
            calls is None
            and decoded is None
            and m.group(1).lower() in {"json", "tool_call", ""}
            and _NAME_RE.search(body)
            and ('"arguments"' in body or '"parameters"' in body)
        ):
            remaining.append(text[pos:m.start()])
            pos = m.end()
            col.add_broken(body)  # cut off or broken JSON: an invalid call, never raw content
            continue
        if calls is None:
            continue
        remaining.append(text[pos:m.start()])
        pos = m.end()
        for name, args in calls:
            col.add(name, args)
    remaining.append(text[pos:])

    for segment in remaining:
        kept.append(_bare_json(segment, col, specs))
    col.result.content = _clean_content(kept)
    return col.result


def _bare_json(segment: str, col: _Collector, specs: Mapping[str, ToolSpec]) -> str:
    out: list[str] = []
    i = 0
    n = len(segment)
    while i < n:
        j = min((k for k in (segment.find("{", i), segment.find("[", i)) if k != -1), default=-1)
        if j == -1:
            out.append(segment[i:])
            break
        decoded = _decode_prefix(segment[j:])
        calls = _calls_in(decoded[0], specs) if decoded else None
        if calls is not None and decoded is not None:
            out.append(segment[i:j])
            for name, args in calls:
                col.add(name, args)
            i = j + decoded[1]
            continue
        if decoded is None and segment[j] == "{" and re.match(r'\{\s*"name"\s*:', segment[j:]):
            # A call cut off at the end (max_tokens) or with broken JSON: never show it as content.
            out.append(segment[i:j])
            col.add_broken(segment[j:])
            break
        out.append(segment[i:j + 1])
        i = j + 1
    return "".join(out)
