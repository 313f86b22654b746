"""The 16 tools' names, argument models (the JSON schema the LLM sees) and descriptions.

Descriptions state formats, never concrete example ids or values: small models copy examples.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TOOL_NAMES: tuple[str, ...] = (
    "calculate",
    "cancel_pending_order",
    "exchange_delivered_order_items",
    "find_user_id_by_email",
    "find_user_id_by_name_zip",
    "get_order_details",
    "get_product_details",
    "get_user_details",
    "list_all_product_types",
    "modify_pending_order_address",
    "modify_pending_order_items",
    "modify_pending_order_payment",
    "modify_user_address",
    "return_delivered_order_items",
    "think",
    "transfer_to_human_agents",
)

WRITE_TOOLS: frozenset[str] = frozenset(
    {
        "cancel_pending_order",
        "exchange_delivered_order_items",
        "modify_pending_order_address",
        "modify_pending_order_items",
        "modify_pending_order_payment",
        "modify_user_address",
        "return_delivered_order_items",
    }
)
READ_TOOLS: frozenset[str] = frozenset(TOOL_NAMES) - WRITE_TOOLS

_ORDER_ID = "Order id: '#W' and 7 digits, as the customer or a lookup gave it."
_USER_ID = "The customer's user id, as found by the identification lookup."
_PM_ID = "A payment method id from the customer's profile."
_ITEM_IDS = "Item ids (10 digits) of the order's items to change, all in this one call."
_NEW_ITEM_IDS = "For each of item_ids, in order, the item id of the available variant of the same product to get."


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _addr_fields():
    return {
        "address1": (str, Field(description="First address line: street number and name.")),
        "address2": (str, Field(description="Second address line (apartment, suite); empty string if none.")),
        "city": (str, Field(description="City name.")),
        "state": (str, Field(description="State as a two-letter code.")),
        "country": (str, Field(description="Country name as written in the profile.")),
        "zip": (str, Field(description="ZIP code: 5 digits, as a string.")),
    }


class CalculateArgs(_Args):
    expression: str = Field(
        description="Arithmetic expression with numbers, + - * /, parentheses and spaces only."
    )


class CancelPendingOrderArgs(_Args):
    order_id: str = Field(description=_ORDER_ID)
    reason: Literal["no longer needed", "ordered by mistake"] = Field(
        description="The customer's reason as one of the two allowed phrases: \"ordered by mistake\" for a mistake, "
        "\"no longer needed\" otherwise."
    )


class ExchangeDeliveredOrderItemsArgs(_Args):
    order_id: str = Field(description=_ORDER_ID)
    item_ids: list[str] = Field(description=_ITEM_IDS)
    new_item_ids: list[str] = Field(description=_NEW_ITEM_IDS)
    payment_method_id: str = Field(description=_PM_ID + " Pays or receives the price difference.")


class FindUserIdByEmailArgs(_Args):
    email: str = Field(description="The customer's email address, exactly as they gave it.")


class FindUserIdByNameZipArgs(_Args):
    first_name: str = Field(description="The customer's first name.")
    last_name: str = Field(description="The customer's last name.")
    zip: str = Field(description="The ZIP code of the customer's default address: 5 digits, as a string.")


class GetOrderDetailsArgs(_Args):
    order_id: str = Field(description=_ORDER_ID)


class GetProductDetailsArgs(_Args):
    product_id: str = Field(
        description="The product id (10 digits), from list_all_product_types or an order item's product_id; "
        "not an item id."
    )


class GetUserDetailsArgs(_Args):
    user_id: str = Field(description=_USER_ID)


class ListAllProductTypesArgs(_Args):
    pass


class ModifyPendingOrderItemsArgs(_Args):
    order_id: str = Field(description=_ORDER_ID)
    item_ids: list[str] = Field(description=_ITEM_IDS)
    new_item_ids: list[str] = Field(description=_NEW_ITEM_IDS)
    payment_method_id: str = Field(description=_PM_ID + " Pays or receives the price difference.")


class ModifyPendingOrderPaymentArgs(_Args):
    order_id: str = Field(description=_ORDER_ID)
    payment_method_id: str = Field(description=_PM_ID + " Must differ from the current one.")


class ReturnDeliveredOrderItemsArgs(_Args):
    order_id: str = Field(description=_ORDER_ID)
    item_ids: list[str] = Field(description="Item ids (10 digits each) of the order's items to return, one per unit, "
                                "as get_order_details lists them.")
    payment_method_id: str = Field(
        description=_PM_ID + " Receives the refund: the original payment method or a gift card."
    )


class ThinkArgs(_Args):
    thought: str = Field(description="Your private reasoning; not shown to the customer.")


class TransferToHumanAgentsArgs(_Args):
    summary: str = Field(description="A short summary of the customer's issue for the human agent.")


def _make_address_models():
    from pydantic import create_model

    order = create_model(
        "ModifyPendingOrderAddressArgs",
        __base__=_Args,
        order_id=(str, Field(description=_ORDER_ID)),
        **_addr_fields(),
    )
    user = create_model(
        "ModifyUserAddressArgs",
        __base__=_Args,
        user_id=(str, Field(description=_USER_ID)),
        **_addr_fields(),
    )
    return order, user


ModifyPendingOrderAddressArgs, ModifyUserAddressArgs = _make_address_models()

TOOL_ARGS: dict[str, type[BaseModel]] = {
    "calculate": CalculateArgs,
    "cancel_pending_order": CancelPendingOrderArgs,
    "exchange_delivered_order_items": ExchangeDeliveredOrderItemsArgs,
    "find_user_id_by_email": FindUserIdByEmailArgs,
    "find_user_id_by_name_zip": FindUserIdByNameZipArgs,
    "get_order_details": GetOrderDetailsArgs,
    "get_product_details": GetProductDetailsArgs,
    "get_user_details": GetUserDetailsArgs,
    "list_all_product_types": ListAllProductTypesArgs,
    "modify_pending_order_address": ModifyPendingOrderAddressArgs,
    "modify_pending_order_items": ModifyPendingOrderItemsArgs,
    "modify_pending_order_payment": ModifyPendingOrderPaymentArgs,
    "modify_user_address": ModifyUserAddressArgs,
    "return_delivered_order_items": ReturnDeliveredOrderItemsArgs,
    "think": ThinkArgs,
    "transfer_to_human_agents": TransferToHumanAgentsArgs,
}

TOOL_DESCRIPTIONS: dict[str, str] = {
    "calculate": "Calculate the result of an arithmetic expression; the result is rounded to 2 decimals.",
    "cancel_pending_order": (
        "Cancel a 'pending' order; its payments are refunded to the original methods. Call it as soon as the "
        "customer gave the order id and reason; the system then asks them to confirm."
    ),
    "exchange_delivered_order_items": (
        "Request an exchange of items of a 'delivered' order for other available variants of the same products. "
        "Once per order: put every item in one call."
    ),
    "find_user_id_by_email": "Find the user id of a customer by email address.",
    "find_user_id_by_name_zip": (
        "Find the user id of a customer by first name, last name and ZIP code; use only if the email lookup failed."
    ),
    "get_order_details": "Get the status, items, address, fulfillments and payments of an order.",
    "get_product_details": "Get a product's name and all its variants (item ids, options, availability, price).",
    "get_user_details": (
        "Get a user's profile: name, default address, email, payment methods and order ids. "
        "Not needed for the identified customer: their profile is already listed in the instructions."
    ),
    "list_all_product_types": "List the names of all product types with their product ids.",
    "modify_pending_order_address": "Change the shipping address of a 'pending' order.",
    "modify_pending_order_items": (
        "Swap items of a 'pending' order for available variants of the same products and settle the price "
        "difference. Once per order: put every item in one call."
    ),
    "modify_pending_order_payment": "Pay a 'pending' order with another payment method of the customer.",
    "modify_user_address": "Change the customer's default address.",
    "return_delivered_order_items": (
        "Request a return of items of a 'delivered' order; refund to the original payment method or a gift card."
    ),
    "think": "Think something through privately; changes nothing and returns nothing.",
    "transfer_to_human_agents": (
        "Transfer the customer to a human agent with a summary of the issue; only when the request cannot be "
        "handled with the other tools or the customer explicitly asks for a human."
    ),
}
