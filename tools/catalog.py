"""The tool catalog: each of the 16 tools declared once, with every fact the rest of the code needs about it.

A ``ToolSpec`` holds the tool's name, its arguments model (the schema the model sees), its description, whether
it reads, writes or identifies a customer, whose data it touches, the order statuses a write applies to, its
confirmation template (text in ``prompts/confirmations.json``) and how each argument is resolved from what a
customer says. Everything else is derived from here: the tables below (``TOOL_NAMES``, ``WRITE_TOOLS`` ...), the
schemas offered to the model and the stage tool lists, the ownership checks and confirmations of the graph's tool
layer, and the write each task flow ends in. This module knows nothing of LangGraph: stages and tasks are named
by their plain string values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from tools import schemas as s

Kind = Literal["read", "write", "identify"]
"""``identify``: a lookup that finds a customer's user id (it reads, and may run before anyone is identified)."""
Scope = Literal["public", "customer"]
"""``customer``: the call touches one customer's own data, so it runs only for the identified customer."""
Resolver = Literal["order", "items", "variants", "payment", "address", "reason", "customer"]
"""How an argument is resolved from what the customer says; the flows implement each (``graphs.flows``)."""

RESOLVERS: tuple[Resolver, ...] = ("order", "items", "variants", "payment", "address", "reason", "customer")

_ADDRESS: dict[str, Resolver] = {f: "address" for f in ("address1", "address2", "city", "state", "country", "zip")}


@dataclass(frozen=True, eq=False)
class ToolSpec:
    """One tool, declared once."""

    name: str
    args: type[BaseModel]
    """The arguments model: its JSON schema is what the model sees; the graph validates calls with it."""
    description: str
    kind: Kind
    scope: Scope
    stages: tuple[str, ...] = ()
    """The agent loop's stages (``graphs.state.Stage`` values) that offer this tool to the model."""
    statuses: tuple[str, ...] = ()
    """For a write on an order: the order statuses it applies to (spec §1, status transitions)."""
    confirmation: str | None = None
    """For a write: its template's key in ``prompts/confirmations.json`` (the tool's name unless given)."""
    resolvers: Mapping[str, Resolver] = field(default_factory=dict)
    """For a write: argument -> how its value is resolved from what the customer says."""
    task: str | None = None
    """For a write: the customer task (``graphs.understanding.Task`` value) whose flow ends in it."""
    returns: Literal["json", "text"] = "json"
    """What a successful result is: a JSON document, or plain text (an id, a number, a notice)."""

    def __post_init__(self) -> None:
        if self.kind == "write" and self.confirmation is None:
            object.__setattr__(self, "confirmation", self.name)

    @property
    def writes(self) -> bool:
        """True for a tool that changes the store (and so needs the customer's confirmation)."""
        return self.kind == "write"


# Declared in the order the order desk offers them to the model (tool order is part of the prompt).
CATALOG: tuple[ToolSpec, ...] = (
    ToolSpec(
        "find_user_id_by_email", s.FindUserIdByEmailArgs,
        "Find the user id of a customer by email address.",
        kind="identify", scope="public", stages=("intake",), returns="text",
    ),
    ToolSpec(
        "find_user_id_by_name_zip", s.FindUserIdByNameZipArgs,
        "Find the user id of a customer by first name, last name and ZIP code; use only if the email lookup failed.",
        kind="identify", scope="public", stages=("intake",), returns="text",
    ),
    ToolSpec(
        "get_user_details", s.GetUserDetailsArgs,
        "Get a user's profile: name, default address, email, payment methods and order ids. "
        "Not needed for the identified customer: their profile is already listed in the instructions.",
        kind="read", scope="customer", stages=("order_desk",),
    ),
    ToolSpec(
        "get_order_details", s.GetOrderDetailsArgs,
        "Get the status, items, address, fulfillments and payments of an order.",
        kind="read", scope="customer", stages=("order_desk",),
    ),
    ToolSpec(
        "get_product_details", s.GetProductDetailsArgs,
        "Get a product's name and all its variants (item ids, options, availability, price).",
        kind="read", scope="public", stages=("intake", "order_desk"),
    ),
    ToolSpec(
        "list_all_product_types", s.ListAllProductTypesArgs,
        "List the names of all product types with their product ids.",
        kind="read", scope="public", stages=("intake", "order_desk"),
    ),
    ToolSpec(
        "cancel_pending_order", s.CancelPendingOrderArgs,
        "Cancel a 'pending' order; its payments are refunded to the original methods. Call it as soon as the "
        "customer gave the order id and reason; the system then asks them to confirm.",
        kind="write", scope="customer", stages=("order_desk",), statuses=("pending",),
        resolvers={"order_id": "order", "reason": "reason"}, task="cancel",
    ),
    ToolSpec(
        "modify_pending_order_address", s.ModifyPendingOrderAddressArgs,
        "Change the shipping address of a 'pending' order.",
        kind="write", scope="customer", stages=("order_desk",), statuses=("pending",),
        resolvers={"order_id": "order", **_ADDRESS},
        task="modify_address",
    ),
    ToolSpec(
        "modify_pending_order_payment", s.ModifyPendingOrderPaymentArgs,
        "Pay a 'pending' order with another payment method of the customer.",
        kind="write", scope="customer", stages=("order_desk",), statuses=("pending",),
        resolvers={"order_id": "order", "payment_method_id": "payment"},
        task="modify_payment",
    ),
    ToolSpec(
        "modify_pending_order_items", s.ModifyPendingOrderItemsArgs,
        "Swap items of a 'pending' order for available variants of the same products and settle the price "
        "difference. Once per order: put every item in one call.",
        kind="write", scope="customer", stages=("order_desk",), statuses=("pending",),
        resolvers={"order_id": "order", "item_ids": "items", "new_item_ids": "variants",
                   "payment_method_id": "payment"},
        task="modify_items",
    ),
    ToolSpec(
        "return_delivered_order_items", s.ReturnDeliveredOrderItemsArgs,
        "Request a return of items of a 'delivered' order; refund to the original payment method or a gift card.",
        kind="write", scope="customer", stages=("order_desk",), statuses=("delivered",),
        resolvers={"order_id": "order", "item_ids": "items", "payment_method_id": "payment"}, task="return",
    ),
    ToolSpec(
        "exchange_delivered_order_items", s.ExchangeDeliveredOrderItemsArgs,
        "Request an exchange of items of a 'delivered' order for other available variants of the same products. "
        "Once per order: put every item in one call.",
        kind="write", scope="customer", stages=("order_desk",), statuses=("delivered",),
        resolvers={"order_id": "order", "item_ids": "items", "new_item_ids": "variants",
                   "payment_method_id": "payment"},
        task="exchange",
    ),
    ToolSpec(
        "modify_user_address", s.ModifyUserAddressArgs,
        "Change the customer's default address.",
        kind="write", scope="customer", stages=("order_desk",),
        resolvers={"user_id": "customer", **_ADDRESS},
        task="change_default_address",
    ),
    ToolSpec(
        "calculate", s.CalculateArgs,
        "Calculate the result of an arithmetic expression; the result is rounded to 2 decimals.",
        kind="read", scope="public", stages=("order_desk",), returns="text",
    ),
    ToolSpec(
        "think", s.ThinkArgs,
        "Think something through privately; changes nothing and returns nothing.",
        kind="read", scope="public", returns="text",
    ),
    ToolSpec(
        "transfer_to_human_agents", s.TransferToHumanAgentsArgs,
        "Transfer the customer to a human agent with a summary of the issue; only when the request cannot be "
        "handled with the other tools or the customer explicitly asks for a human.",
        kind="read", scope="public", stages=("escalation",), returns="text",
    ),
)

BY_NAME: dict[str, ToolSpec] = {spec.name: spec for spec in CATALOG}


def spec(name: str) -> ToolSpec | None:
    """The declaration of tool ``name``, or None for a name that is not a tool of the store."""
    return BY_NAME.get(name)


def for_task(task: str) -> ToolSpec:
    """The write a customer task's flow ends in (``task`` is a ``graphs.understanding.Task`` value)."""
    for candidate in CATALOG:
        if candidate.task == task:
            return candidate
    raise KeyError(f"no write tool carries out the task {task!r}")


def offered_in(stage: str) -> tuple[str, ...]:
    """The tools the agent loop offers the model in ``stage``, in catalog order."""
    return tuple(t.name for t in CATALOG if stage in t.stages)


# --- derived views (importable from ``tools``; other code and tests use them) --------------------------------
TOOL_NAMES: tuple[str, ...] = tuple(sorted(BY_NAME))
WRITE_TOOLS: frozenset[str] = frozenset(t.name for t in CATALOG if t.writes)
READ_TOOLS: frozenset[str] = frozenset(TOOL_NAMES) - WRITE_TOOLS
IDENTIFY_TOOLS: frozenset[str] = frozenset(t.name for t in CATALOG if t.kind == "identify")
TOOL_ARGS: dict[str, type[BaseModel]] = {name: BY_NAME[name].args for name in TOOL_NAMES}
TOOL_DESCRIPTIONS: dict[str, str] = {name: BY_NAME[name].description for name in TOOL_NAMES}
