"""The graph's tool layer: schemas offered per stage, argument validation, ownership and write-once.

``tools.call_tool`` is the raw domain operation with the specification's exact semantics and no notion of
who is asking. Everything about *this* conversation (is the order the authenticated customer's? was this
write already done for this tool call?) is checked here, around it, from the catalog's declarations
(``tools.catalog``: arguments model, scope, read or write).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from graphs.stage_tools import STAGE_TOOLS, TRANSFER_ARGS, TRANSFER_DESCRIPTIONS
from graphs.state import Stage
from tools import RetailStore, ToolOutcome, call_tool, spec
from tools.order_ids import normalise_order_id


def _declared(name: str):
    declared = spec(name)
    if declared is None:
        raise KeyError(f"unknown tool {name}")
    return declared


def _args_model(name: str) -> type[BaseModel]:
    return TRANSFER_ARGS.get(name) or _declared(name).args


def _description(name: str) -> str:
    return TRANSFER_DESCRIPTIONS.get(name) or _declared(name).description


def _strip_titles(schema: Any) -> Any:
    # Pydantic adds a "title" to every property; they cost prompt tokens and tell the model nothing.
    if isinstance(schema, dict):
        return {k: _strip_titles(v) for k, v in schema.items() if k != "title"}
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema


def openai_tool_spec(name: str) -> dict[str, Any]:
    """The OpenAI function-tool dict the model sees for ``name``."""
    parameters = _strip_titles(_args_model(name).model_json_schema())
    # Validation happens in code; these keys only cost prompt tokens.
    parameters.pop("description", None)
    parameters.pop("additionalProperties", None)
    return {"type": "function", "function": {"name": name, "description": _description(name), "parameters": parameters}}


def stage_tool_specs(stage: Stage) -> list[dict[str, Any]]:
    """The tool schemas offered to the model in ``stage``."""
    return [openai_tool_spec(name) for name in STAGE_TOOLS[stage]]


def validate_call(name: str, args: Any, offered: Iterable[str]) -> str | None:
    """A short corrective message for the model when the call is unusable, else None."""
    offered = tuple(offered)
    if name not in offered:
        return f"Error: there is no tool named {name!r} here. Available tools: {', '.join(offered)}."
    if not isinstance(args, Mapping):
        return f"Error: the arguments of {name} must be a JSON object."
    model = _args_model(name)
    unexpected = sorted(set(args) - set(model.model_fields))
    if unexpected:
        return f"Error: {name} has no argument {', '.join(map(repr, unexpected))}."
    try:
        model.model_validate(dict(args), strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "arguments"
        return f"Error: argument {where!r} of {name}: {first['msg']}."
    return None


def normalise_ids(args: Any) -> Any:
    """A model's call with order ids in the store's ``#W1234567`` form ("W1234567", "1234567" and "#w1234567" are
    how small models copy them)."""
    if not isinstance(args, Mapping) or not isinstance(args.get("order_id"), str):
        return args
    order_id = normalise_order_id(args["order_id"])
    return {**args, "order_id": order_id} if order_id else args


def dry_run(store: RetailStore, name: str, args: Mapping[str, Any]) -> str | None:
    """Try a write in a transaction that is rolled back: the store's own refusal (every precondition, exactly),
    or None when it would succeed. Both dialogues run it before a customer is asked to confirm."""

    class _Rollback(Exception):
        pass

    outcome: list[ToolOutcome] = []
    try:
        with store.transaction():
            outcome.append(call_tool(store, name, dict(args)))
            raise _Rollback
    except _Rollback:
        pass
    if not outcome:
        return "not run"
    return None if outcome[0].ok else outcome[0].error


class GuardedTools:
    """Runs domain tools for one authenticated customer, refusing anything that is not theirs."""

    def __init__(self, store: RetailStore) -> None:
        self.store = store  # the write ledger is migration 2 of tools.db.migrations

    def ownership_error(self, name: str, args: Mapping[str, Any], customer_id: str | None) -> str | None:
        """Why this call must be refused for the current customer, or None when it may run."""
        declared = spec(name)
        if declared is not None and declared.scope == "public":
            return None
        if customer_id is None:
            return "Error: the customer is not identified yet. Ask for their email address first."
        user_id = args.get("user_id")
        if user_id is not None and user_id != customer_id:
            return "Error: that user id is not the identified customer's. Only their own account can be used."
        order_id = args.get("order_id")
        if order_id is not None:
            owner = self.store.order_owner(order_id)
            if owner is not None and owner != customer_id:
                return f"Error: order {order_id} does not belong to this customer. Only their own orders can be used."
        return None

    def customer_facts(self, customer_id: str, limit: int = 10) -> list[str]:
        """Compact lines about the customer (name, address, payment methods, orders), read from the store.

        These are facts code establishes reliably; giving them to the model as short lines spares a small model
        a lookup per order and a long JSON profile (which measurably makes it refuse or ramble).
        """
        profile = call_tool(self.store, "get_user_details", {"user_id": customer_id}).value
        address = profile["address"]
        methods = []
        for method in profile["payment_methods"].values():
            if method["source"] == "credit_card":
                methods.append(f"{method['id']} ({method['brand']} card ending {method['last_four']})")
            elif method["source"] == "gift_card":
                methods.append(f"{method['id']} (gift card, balance {method['balance']})")
            else:
                methods.append(f"{method['id']} ({method['source']})")
        first, last = profile["name"]["first_name"], profile["name"]["last_name"]
        lines = [
            f"Name: {first} {last} (first name {first}); email {profile['email']}.",
            "Default address: " + ", ".join(v for v in (address["address1"], address["address2"], address["city"],
                                                        address["state"], address["zip"], address["country"]) if v),
            "Payment methods: " + "; ".join(methods) + ".",
            "Orders:",
        ]
        for order_id in self.store.user_order_ids(customer_id)[:limit]:
            order = call_tool(self.store, "get_order_details", {"order_id": order_id}).value
            items = ", ".join(item["name"] for item in order["items"])
            lines.append(f"- {order_id}: {order['status']} ({items})")
        return lines

    def read(self, name: str, args: Mapping[str, Any], customer_id: str | None) -> ToolOutcome:
        """A read-only tool (or an identification lookup), after the ownership check."""
        refusal = self.ownership_error(name, args, customer_id)
        return ToolOutcome.from_text(name, refusal) if refusal else call_tool(self.store, name, dict(args))

    def run_read(self, name: str, args: Mapping[str, Any], customer_id: str | None) -> str:
        """``read`` as the text a ToolMessage carries."""
        return self.read(name, args, customer_id).text()

    def executed(self, tool_call_id: str) -> bool:
        """The write of this tool call already ran (it has its ledger row)."""
        return self.store.db.execute("SELECT 1 FROM write_ledger WHERE tool_call_id = ?",
                                     [tool_call_id]).fetchone() is not None

    def write(self, *, tool_call_id: str, thread: str, name: str, args: Mapping[str, Any],
              customer_id: str | None) -> ToolOutcome:
        """A confirmed write, executed at most once per tool call id (the ledger row and the write commit together)."""
        declared = spec(name)
        if declared is None or not declared.writes:
            raise ValueError(f"{name} is not a write tool")
        refusal = self.ownership_error(name, args, customer_id)
        if refusal:
            return ToolOutcome.from_text(name, refusal)
        with self.store.transaction():
            row = self.store.db.execute(
                "SELECT result FROM write_ledger WHERE tool_call_id = ?", [tool_call_id]
            ).fetchone()
            if row:
                return ToolOutcome.from_text(name, str(row[0]))
            outcome = call_tool(self.store, name, dict(args))
            self.store.db.execute(
                "INSERT INTO write_ledger (tool_call_id, thread, tool, arguments, result, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [tool_call_id, thread, name, json.dumps(dict(args), sort_keys=True), outcome.text(),
                 dt.datetime.now(dt.UTC).isoformat(timespec="seconds")],
            )
            return outcome

    def run_write(self, *, tool_call_id: str, thread: str, name: str, args: Mapping[str, Any],
                  customer_id: str | None) -> str:
        """``write`` as the text a ToolMessage carries."""
        return self.write(tool_call_id=tool_call_id, thread=thread, name=name, args=args,
                          customer_id=customer_id).text()
