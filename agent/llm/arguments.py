"""The tools offered in a request and their arguments checked by pydantic, with errors worded for the model.

The model layer only sees the JSON schemas offered in a request. For the tools the product declares (the
catalog's 16 domain tools, the graph's transfer tools) the declared pydantic argument model is used, the same
one the graph's tool layer validates with, so both layers agree on every constraint (patterns, literals,
``extra="forbid"``). Any other tool (a caller's own, the doctor's probe) gets a pydantic model made from its
JSON schema once and cached.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

__all__ = ["ToolSpec", "argument_errors", "arguments_model", "tool_specs", "validate_arguments"]

_PY_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool,
                             "array": list, "object": dict, "null": type(None)}
#: pydantic error types -> what the model must write instead.
_TYPE_WORDS = {"string_type": "a string", "int_type": "an integer", "int_from_float": "an integer",
               "int_parsing": "an integer", "float_type": "a number", "bool_type": "true or false",
               "list_type": "a list", "dict_type": "an object", "model_type": "an object", "none_required": "null"}


def _catalog_model(name: str) -> type[BaseModel] | None:
    # Imported late: the model layer must load without the domain packages (and they never import it).
    from graphs.stage_tools import TRANSFER_ARGS
    from tools.catalog import TOOL_ARGS

    return TRANSFER_ARGS.get(name) or TOOL_ARGS.get(name)


def arguments_model(name: str, parameters: dict[str, Any]) -> type[BaseModel]:
    """The pydantic model that validates ``name``'s arguments: the declared one when the offered schema is
    the declared tool's (same argument names), else one built from ``parameters``."""
    declared = _catalog_model(name)
    if declared is not None and set(declared.model_fields) == set(parameters.get("properties") or {}):
        return declared
    return _model_from_schema(name, json.dumps(parameters, sort_keys=True))


@lru_cache(maxsize=256)
def _model_from_schema(name: str, schema_json: str) -> type[BaseModel]:
    schema = json.loads(schema_json)
    return _object_model(name, schema, schema)


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for part in ref[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return node if isinstance(node, dict) else {}
    return schema


def _annotation(schema: dict[str, Any], root: dict[str, Any], name: str) -> Any:
    schema = _resolve(schema, root)
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return Literal[tuple(schema["enum"])]
    if "const" in schema:
        return Literal[schema["const"]]
    branches = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(branches, list) and branches:
        return Union[tuple(_annotation(b, root, name) for b in branches)]  # noqa: UP007 - built at run time
    typ = schema.get("type")
    if isinstance(typ, list):
        return Union[tuple(_annotation({**schema, "type": t}, root, name) for t in typ)]  # noqa: UP007
    if typ == "array" and isinstance(schema.get("items"), dict):
        return list[_annotation(schema["items"], root, name)]  # type: ignore[misc]
    if typ == "object" and isinstance(schema.get("properties"), dict):
        return _object_model(name, schema, root)
    return _PY_TYPES.get(typ, Any) if isinstance(typ, str) else Any


def _object_model(name: str, schema: dict[str, Any], root: dict[str, Any]) -> type[BaseModel]:
    props: dict[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    # Extra keys are refused when the schema names its properties (what a tool call must match exactly).
    extra = schema.get("additionalProperties", not props)
    fields: dict[str, Any] = {}
    for key, sub in props.items():
        annotation = _annotation(sub if isinstance(sub, dict) else {}, root, f"{name}_{key}")
        # An optional argument sent as null counts as omitted, as OpenAI-style clients send it.
        fields[key] = (annotation, Field(...)) if key in required else (annotation | None, Field(None))
    config = ConfigDict(extra="allow" if extra is not False else "forbid")
    return create_model(f"{name}_args", __config__=config, **fields)


def _where(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _sentence(error: dict[str, Any], model: type[BaseModel]) -> str:
    where = _where(tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p)))
    kind = error["type"]
    if kind == "missing" or (kind in _TYPE_WORDS and error.get("input") is None and len(error["loc"]) == 1):
        return f"Argument '{where}' is required."
    if kind == "extra_forbidden":
        return f"Unexpected argument '{where}' (allowed: {', '.join(model.model_fields) or 'none'})."
    if kind in _TYPE_WORDS:
        return f"Argument '{where}' must be {_TYPE_WORDS[kind]}."
    if kind == "literal_error":
        return f"Argument '{where}' must be one of {_choices(error['ctx']['expected'])}."
    return f"Argument '{where}': {error['msg']}."


def _choices(expected: str) -> str:
    # pydantic lists them as 'a', 'b' or 'c'; the model reads JSON, so they are shown as JSON strings.
    return expected.replace(" or ", ", ").replace("'", '"')


def argument_errors(args: Any, model: type[BaseModel]) -> list[str]:
    """Errors of a call's arguments against ``model`` ([] when valid), one sentence each, for the model."""
    if not isinstance(args, dict):
        return ["Arguments must be a JSON object."]
    required = {k for k, f in model.model_fields.items() if f.is_required()}
    # Optional arguments sent as null are dropped first: declared models type them without None.
    args = {k: v for k, v in args.items() if v is not None or k in required}
    try:
        # Strict, as the graph's tool layer validates: no "5" for 5, no 1 for True.
        model.model_validate(args, strict=True)
    except ValidationError as exc:
        return [_sentence(e, model) for e in exc.errors()]  # type: ignore[arg-type]
    return []


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


def tool_specs(tools: Iterable[Any] | None) -> dict[str, ToolSpec]:
    """Normalise LangChain tools, OpenAI tool dicts, bare function dicts (or anything
    ``convert_to_openai_tool`` understands) into ``{name: ToolSpec}``."""
    specs: dict[str, ToolSpec] = {}
    for tool in tools or ():
        fn: Mapping[str, Any] | None = None
        if isinstance(tool, Mapping):
            if isinstance(tool.get("function"), Mapping):
                fn = tool["function"]
            elif "name" in tool and ("parameters" in tool or "description" in tool or len(tool) == 1):
                fn = tool
        if fn is None:
            from langchain_core.utils.function_calling import convert_to_openai_tool

            converted = convert_to_openai_tool(tool)
            fn = converted.get("function", converted)
        name = str(fn.get("name", ""))
        if not name:
            continue
        params = fn.get("parameters") or {"type": "object", "properties": {}}
        specs[name] = ToolSpec(name=name, description=str(fn.get("description", "")), parameters=dict(params))
    return specs


def validate_arguments(args: Any, schema: Mapping[str, Any] | None, name: str = "tool") -> list[str]:
    """Errors of a tool call's arguments against the tool's parameter schema ([] when valid), checked by
    pydantic with the tool's declared argument model when it is one of the product's tools."""
    return argument_errors(args, arguments_model(name, dict(schema or {})))
