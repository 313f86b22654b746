"""Which tools each stage offers the model, plus the graph's own transfer tools.

Few tools per stage keeps the prompt short for small models; the domain tools and the stages offering them are
declared in ``tools.catalog`` (their schemas are what the model sees), the transfer tools are defined here because
they move the conversation, not the store.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from graphs.state import Stage
from tools import offered_in

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

#: The graph's own transfer tools each stage adds after the catalog's tools.
_TRANSFERS: dict[Stage, tuple[str, ...]] = {
    Stage.INTAKE: (TRANSFER_TO_ORDER_DESK, TRANSFER_TO_ESCALATION),
    Stage.ORDER_DESK: (TRANSFER_TO_ESCALATION,),
    Stage.ESCALATION: (),
}

STAGE_TOOLS: dict[Stage, tuple[str, ...]] = {
    stage: (*offered_in(stage.value), *_TRANSFERS[stage]) for stage in Stage
}
