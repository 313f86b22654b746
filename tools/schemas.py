"""The argument models of the 16 tools (the JSON schema the LLM sees); ``tools.catalog`` declares the tools.

Descriptions state formats, never concrete example ids or values: small models copy examples.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
