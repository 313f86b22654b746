"""What the model understood of one customer message: tasks and slot values *as the customer said them*.

The model fills this schema with constrained decoding (``response_format`` ``json_schema``), so its output always
parses; code then resolves the words to ids (orders, items, variants, payment methods) and runs the task flows.
Nothing here is an id the model had to invent: order ids are only those written in the message.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

OrderId = Annotated[str, StringConstraints(pattern=r"^#W[0-9]{7}$")]


class Task(StrEnum):
    """A customer task; each has a flow (except ``question``, answered by the free loop)."""

    ORDER_INFO = "order_info"
    """Status, tracking, items, prices or payment of an order."""
    CANCEL = "cancel"
    MODIFY_ADDRESS = "modify_address"
    """Change the shipping address of a pending order."""
    MODIFY_PAYMENT = "modify_payment"
    """Pay a pending order with another payment method."""
    MODIFY_ITEMS = "modify_items"
    """Swap items of a pending order for other variants."""
    RETURN = "return"
    EXCHANGE = "exchange"
    CHANGE_DEFAULT_ADDRESS = "change_default_address"
    HUMAN = "human"
    """The customer asks for a human agent."""
    QUESTION = "question"
    """Anything else: products, policy, small talk (the free loop answers)."""


class _Said(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemSaid(_Said):
    """One item the customer refers to, and what they want instead (exchange / modify items)."""

    item: str = Field(description="The item as the customer described it, e.g. 'grey running shoes'.")
    wanted: str | None = Field(
        None, description="For an exchange or change: the wanted variant as said, e.g. 'size 11, red'; else null."
    )


class AddressSaid(_Said):
    """An address as the customer wrote it (fields they did not give are null)."""

    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = Field(None, pattern=r"^[0-9]{5}$")
    country: str | None = None


class Understanding(_Said):
    """The structured understanding of one customer message."""

    tasks: list[Task] = Field(default_factory=list, max_length=3,
                              description="What the customer asks for in this message, in their order; [] if nothing new.")
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    zip: str | None = Field(None, pattern=r"^[0-9]{5}$")
    order_ids: list[OrderId] = Field(default_factory=list, max_length=4,
                                 description="Order ids written in the message, as '#W' and 7 digits.")
    order_hint: str | None = Field(
        None, description="Words that describe an order without its id, e.g. 'the one with the desk lamp', 'my last order'."
    )
    items: list[ItemSaid] = Field(default_factory=list, max_length=6)
    all_items: bool = Field(False, description="True when the customer means every item of the order.")
    reason: Literal["no longer needed", "ordered by mistake"] | None = Field(
        None, description="Cancellation reason, when given."
    )
    payment: str | None = Field(None, description="Payment method words, e.g. 'PayPal', 'gift card', 'visa ending 1234'.")
    address: AddressSaid | None = None
    answer: Literal["yes", "no"] | None = Field(None, description="A yes or no answer to a question we asked.")
    fallback: Task | None = Field(
        None, description="What the customer wants if the asked task is not possible ('if not, then return it')."
    )

    @classmethod
    def response_format(cls) -> dict[str, Any]:
        """The OpenAI ``response_format`` that constrains decoding to this schema (llama.cpp and vLLM honour it)."""
        return {"type": "json_schema",
                "json_schema": {"name": "understanding", "schema": cls.model_json_schema(), "strict": True}}


class MessageReading(_Said):
    """What the model is asked to fill: the parts of an ``Understanding`` that need language understanding.

    Emails, order ids, zip codes, a bare yes/no and "all of it" are read by code (exactly, and faster); a
    smaller schema means a shorter, better-formed answer from a small model. ``tasks`` comes first so the model
    commits to the request before the details.
    """

    tasks: list[Task] = Field(default_factory=list, max_length=3)
    first_name: str | None = None
    last_name: str | None = None
    order_hint: str | None = None
    items: list[ItemSaid] = Field(default_factory=list, max_length=6)
    reason: Literal["no longer needed", "ordered by mistake"] | None = None
    payment: str | None = None
    address: AddressSaid | None = None

    @classmethod
    def response_format(cls) -> dict[str, Any]:
        """The OpenAI ``response_format`` that constrains decoding to this schema."""
        return {"type": "json_schema",
                "json_schema": {"name": "message_reading", "schema": cls.model_json_schema(), "strict": True}}
