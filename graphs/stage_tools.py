"""Which tools each stage offers the model, plus the graph's own transfer tools.

Few tools per stage keeps the prompt short for small models; the domain tools come from ``tools``
(their schemas are what the model sees), the transfer tools are defined here because they move the
conversation, not the store.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from graphs.state import Stage

TRANSFER_TO_ORDER_DESK = "transfer_to_order_desk"
TRANSFER_TO_ESCALATION = "transfer_to_escalation"
HANDOVER_TOOL = "transfer_to_human_agents"


class TransferToOrderDeskArgs(BaseModel):
    """Pass the identified customer to the order desk."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(description="What the customer wants help with, in a few words.")


class TransferToEscalationArgs(BaseModel):
    """Hand the case to a human colleague."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(description="Why a human is needed, in a few words.")


TRANSFER_ARGS: dict[str, type[BaseModel]] = {
    TRANSFER_TO_ORDER_DESK: TransferToOrderDeskArgs,
    TRANSFER_TO_ESCALATION: TransferToEscalationArgs,
}

TRANSFER_DESCRIPTIONS: dict[str, str] = {
    TRANSFER_TO_ORDER_DESK: "Move an identified customer to the order desk for help with orders.",
    TRANSFER_TO_ESCALATION: (
        "Hand the case to a human colleague: only when the customer asks for a human or the request "
        "cannot be handled with the available tools."
    ),
}

IDENTIFY_TOOLS = frozenset({"find_user_id_by_email", "find_user_id_by_name_zip"})

STAGE_TOOLS: dict[Stage, tuple[str, ...]] = {
    Stage.INTAKE: (
        "find_user_id_by_email",
        "find_user_id_by_name_zip",
        "list_all_product_types",
        "get_product_details",
        TRANSFER_TO_ORDER_DESK,
        TRANSFER_TO_ESCALATION,
    ),
    Stage.ORDER_DESK: (
        "get_user_details",
        "get_order_details",
        "get_product_details",
        "list_all_product_types",
        "cancel_pending_order",
        "modify_pending_order_address",
        "modify_pending_order_payment",
        "modify_pending_order_items",
        "return_delivered_order_items",
        "exchange_delivered_order_items",
        "modify_user_address",
        "calculate",
        TRANSFER_TO_ESCALATION,
    ),
    Stage.ESCALATION: (HANDOVER_TOOL,),
}
