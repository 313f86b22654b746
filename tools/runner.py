"""`run_tool`: the harness of spec §2.0 (argument checks, one transaction, error texts) and LangChain views.

`call_tool` is the same call for code inside the process: a typed `ToolOutcome` (ok, the value as Python data, the
error) instead of text; `ToolOutcome.text()` is the reference's exact text, for where a ToolMessage is written.
"""

from __future__ import annotations

import functools
import json
import typing
from dataclasses import dataclass
from typing import Any

from tools.calculate import calculate
from tools.catalog import BY_NAME, TOOL_ARGS, TOOL_DESCRIPTIONS, TOOL_NAMES
from tools.store import RetailStore, ToolError


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _kind(annotation: Any) -> str:
    return "list" if typing.get_origin(annotation) is list else "str"


#: name -> [(argument, "str" | "list")] in signature order, derived from TOOL_ARGS.
ARG_KINDS: dict[str, list[tuple[str, str]]] = {
    name: [(f, _kind(info.annotation)) for f, info in TOOL_ARGS[name].model_fields.items()] for name in TOOL_NAMES
}


def _signature_checker(name: str):
    """A no-op function with the reference's `invoke(data, ...)` signature, for Python's own TypeError texts."""
    params = ", ".join(["data"] + [a for a, _ in ARG_KINDS[name]])
    ns: dict[str, Any] = {}
    exec(f"def invoke({params}):\n    return None\n", ns)  # noqa: S102 - fixed identifiers only
    fn = ns["invoke"]
    fn.__qualname__ = f"{_class_name(name)}.invoke"
    fn.__module__ = "tools"
    return fn


_CHECKERS = {name: _signature_checker(name) for name in TOOL_NAMES}


def _type_error(args: dict, name: str) -> str | None:
    for arg, kind in ARG_KINDS[name]:
        v = args[arg]
        if kind == "list":
            if not isinstance(v, list):
                return f"argument '{arg}' must be a list of strings, got {type(v).__name__}"
            for i, s in enumerate(v):
                if not isinstance(s, str):
                    return f"argument '{arg}' must be a list of strings, but element {i} is {type(s).__name__}"
        elif not isinstance(v, str):
            return f"argument '{arg}' must be a string, got {type(v).__name__}"
    return None


@dataclass(frozen=True)
class ToolOutcome:
    """What one tool call did, for code: success, the result as Python data, or why it failed."""

    ok: bool
    raw: str
    """The reference harness's exact text of the result."""
    error: str = ""
    """Why the call failed, without the reference's ``Error: `` prefix."""
    parse: bool = False
    """The successful result is a JSON document (per the catalog's ``returns``)."""

    @functools.cached_property
    def value(self) -> Any:
        """The result as Python data: the parsed document, or the text (a user id, a number, a notice)."""
        return json.loads(self.raw) if self.ok and self.parse else (self.raw if self.ok else None)

    def text(self) -> str:
        """The result as the reference harness writes it (what a ToolMessage carries)."""
        return self.raw

    @classmethod
    def failure(cls, error: str) -> ToolOutcome:
        """A refused call, written as the reference writes errors."""
        return cls(ok=False, raw=f"Error: {error}", error=error)

    @classmethod
    def from_text(cls, name: str, text: str) -> ToolOutcome:
        """An outcome from a result held as reference text (``calculate``'s own result, the write ledger's rows)."""
        if text.startswith("Unknown action"):
            return cls(ok=False, raw=text, error=text)
        if text.startswith("Error"):
            return cls(ok=False, raw=text, error=text.removeprefix("Error: "))
        spec = BY_NAME.get(name)
        return cls(ok=True, raw=text, parse=spec is not None and spec.returns == "json")


def call_tool(store: RetailStore, name: str, arguments: dict | str) -> ToolOutcome:
    """Run one tool call exactly like the reference harness, as a typed outcome."""
    if name not in _CHECKERS:
        return ToolOutcome(ok=False, raw=f"Unknown action {name}", error=f"Unknown action {name}")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError as e:
            return ToolOutcome.failure(f"arguments are not valid JSON: {e}")
    if not isinstance(arguments, dict):
        return ToolOutcome.failure(f"arguments must be a JSON object, got {type(arguments).__name__}")
    try:
        _CHECKERS[name](data=None, **arguments)
    except TypeError as e:
        return ToolOutcome.failure(str(e))
    bad = _type_error(arguments, name)
    if bad:
        return ToolOutcome.failure(bad)
    try:
        if name == "calculate":
            return ToolOutcome.from_text(name, calculate(arguments["expression"]))
        if name == "think":
            text = ""
        elif name == "transfer_to_human_agents":
            text = "Transfer successful"
        else:
            text = getattr(store, name)(**arguments)
    except ToolError as e:
        return ToolOutcome.failure(str(e))
    except Exception as e:  # any failure inside a tool: rolled back, reported as the reference does
        return ToolOutcome.failure(str(e))
    return ToolOutcome(ok=True, raw=text, parse=BY_NAME[name].returns == "json")


def run_tool(store: RetailStore, name: str, arguments: dict | str) -> str:
    """Run one tool call exactly like the reference harness; always returns a string."""
    return call_tool(store, name, arguments).text()


def _tool_class():
    from langchain_core.tools import StructuredTool

    class RetailTool(StructuredTool):
        """A StructuredTool that hands the model's raw arguments to `run_tool` unvalidated.

        The args_schema is what the model sees; the checks (missing/unexpected arguments, types,
        the `reason` enum in its spec position) are run_tool's, so results match the reference.
        """

        def _to_args_and_kwargs(self, tool_input: Any, tool_call_id: str | None) -> tuple[tuple, dict]:
            if isinstance(tool_input, dict):
                return (), {"__arguments__": dict(tool_input)}
            return (), {"__arguments__": tool_input}

    return RetailTool


def langchain_tools(store: RetailStore, names: typing.Iterable[str] | None = None) -> list:
    """StructuredTool views of the tools bound to `store` (the store is never a model-visible argument)."""
    cls = _tool_class()

    def make(n: str):
        def func(__arguments__: Any = None) -> str:
            return run_tool(store, n, __arguments__ if __arguments__ is not None else {})

        return func

    out = []
    for name in names if names is not None else TOOL_NAMES:
        if name not in TOOL_ARGS:
            raise KeyError(f"unknown tool {name}")
        out.append(
            cls(
                name=name,
                description=TOOL_DESCRIPTIONS[name],
                args_schema=TOOL_ARGS[name],
                func=make(name),
            )
        )
    return out
