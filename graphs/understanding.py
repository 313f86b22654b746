"""What the model understood of one customer message: tasks and slot values *as the customer said them*.

The model fills this schema with constrained decoding (``response_format`` ``json_schema``), so its output always
parses; code then resolves the words to ids (orders, items, variants, payment methods) and runs the task flows.
Nothing here is an id the model had to invent: order ids are only those written in the message.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from graphs.selectors import Act, Condition, OrderScope, OrderStatus, Rank
from tools.order_ids import ORDER_ID_PATTERN

OrderId = Annotated[str, StringConstraints(pattern=ORDER_ID_PATTERN)]


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
    rank: Rank | None = Field(
        None, description="A variant chosen by ranking: 'the cheapest one' -> cheapest, 'the biggest size' -> largest."
    )


class AddressSaid(_Said):
    """An address as the customer wrote it (fields they did not give are null)."""

    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = Field(None, pattern=r"^[0-9]{5}$")
    country: str | None = None


class Alternative(_Said):
    """'If <condition>, then <this> instead': another task, another variant or another payment (code evaluates the
    condition against the store: ``graphs.flows.selection``)."""

    condition: Condition = Field(description="When this alternative applies.")
    amount: float | None = Field(None, description="The amount in dollars for price_/refund_ conditions.")
    task: Task | None = Field(None, description="The task to do instead.")
    wanted: str | None = Field(None, description="The variant wanted instead, in the customer's words.")
    payment: str | None = Field(None, description="The payment method to use instead, in the customer's words.")


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
    act: Act | None = None
    order_scope: OrderScope | None = None
    order_status: OrderStatus | None = None
    except_orders: list[str] = Field(default_factory=list, max_length=4)
    order_total_below: float | None = None
    order_total_above: float | None = None
    except_items: list[str] = Field(default_factory=list, max_length=4)
    alternatives: list[Alternative] = Field(default_factory=list, max_length=2)

    @classmethod
    def response_format(cls) -> dict[str, Any]:
        """The OpenAI ``response_format`` that constrains decoding to this schema (llama.cpp and vLLM honour it)."""
        return {"type": "json_schema",
                "json_schema": {"name": "understanding", "schema": cls.model_json_schema(), "strict": True}}


_TASKS = ("order_info = status, tracking, items, prices or payment of an order; cancel = cancel a pending order; "
          "modify_address = change the shipping address of an order; modify_payment = pay an order with another "
          "payment method; modify_items = change items of an order not yet shipped (other size, color...); "
          "return = send back items of a delivered order for a refund; exchange = swap items of a delivered order "
          "for another variant; change_default_address = change the address in their profile (not of an order); "
          "human = wants a human agent; question = any other question. List a task only when this message asks "
          "for it; [] when it only answers or gives details.")


class MessageReading(_Said):
    """What the model is asked to fill for each customer message: the request as a small plan.

    Emails, order ids, zip codes and a bare yes/no are read by code (exactly, and faster). The field
    descriptions are the prompt's field list (``reading_fields``): schema and prompt cannot disagree. Decoding follows
    the schema's order, so ``tasks`` comes first (the model commits to the request before the details), then what
    nearly every request names (items, the order, the customer, reason, payment, address), and the selectors that
    only a few requests need last: placed before the items, they drew the 1.5B model into filling a scope and
    skipping the items the message named. The dialogue act is not asked of the model:
    code does not act on it yet, and asking it first cost the 1.5B model about 30 % of a turn's time (the
    scenario annotations carry it, in ``Understanding``).
    """

    tasks: list[Task] = Field(default_factory=list, max_length=3, description=_TASKS)
    items: list[ItemSaid] = Field(default_factory=list, max_length=6, description="Each item the customer means, "
                                  "as they describe it, with 'wanted' (the variant they want instead) or 'rank'.")
    order_hint: str | None = Field(None, description="Words that describe one order without its number, e.g. "
                                   "'the one with the lamp'.")
    first_name: str | None = Field(None, description="The customer's first name, when they give it.")
    last_name: str | None = Field(None, description="The customer's last name, when they give it.")
    reason: Literal["no longer needed", "ordered by mistake"] | None = Field(
        None, description="Cancellation reason: 'ordered by mistake' or 'no longer needed'.")
    payment: str | None = Field(None, description="Payment method words as said ('PayPal', 'gift card', "
                                "'original payment method').")
    address: AddressSaid | None = Field(None, description="A new address: address1 (street), address2 "
                                        "(apartment/suite), city, state, zip, country.")
    all_items: bool | None = Field(None, description="true when they mean every item of the order ('all of it', "
                                   "'everything').")
    except_items: list[str] = Field(default_factory=list, max_length=4, description="Items excluded from "
                                    "'everything' ('all but the X', 'except the X'): their descriptions.")
    order_scope: OrderScope | None = Field(None, description="all = every order meant ('all my orders', 'each of "
                                           "them'); most_recent = the latest one ('my last order'); else null.")
    order_status: OrderStatus | None = Field(None, description="The status of the orders meant, when said: pending "
                                             "(not shipped yet), processed, delivered, cancelled.")
    except_orders: list[str] = Field(default_factory=list, max_length=4, description="Orders excluded from 'all "
                                     "my orders' ('except the one with the X'): their descriptions.")
    order_total_below: float | None = Field(None, description="Only orders whose total is under this amount.")
    order_total_above: float | None = Field(None, description="Only orders whose total is over this amount.")
    alternatives: list[Alternative] = Field(default_factory=list, max_length=2, description="What to do instead "
                                            "under a condition ('if not possible, X'; 'if it costs more than N, X'): "
                                            "condition, amount, and task or wanted or payment.")

    @classmethod
    def response_format(cls) -> dict[str, Any]:
        """The OpenAI ``response_format`` that constrains decoding to this schema."""
        return {"type": "json_schema",
                "json_schema": {"name": "message_reading", "schema": cls.model_json_schema(), "strict": True}}


def reading_fields() -> str:
    """The prompt's field list, from the schema's own descriptions (one line per field, in schema order)."""
    return "\n".join(f"- {name}: {field.description}" for name, field in MessageReading.model_fields.items())
