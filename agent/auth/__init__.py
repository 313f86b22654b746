"""Who is asking: customer tokens (signed by the shop), operator tokens (stored hashed), and the principal.

Example:
    token = mint_customer_token("lena_moreau_3307", secret, ttl_seconds=3600)
    verify_customer_token(token, secret)                     # -> "lena_moreau_3307"
    OperatorTokens(settings.store_db).issue("alice")         # printed once, stored hashed
    authenticate(token, settings)                            # -> Principal(role="customer", name=...) or None
"""

from agent.auth.customer import CustomerTokenError, mint_customer_token, verify_customer_token
from agent.auth.operators import OperatorTokenError, OperatorTokens, TokenRecord
from agent.auth.principal import Principal, Role, authenticate, is_operator_token

__all__ = [
    "CustomerTokenError", "OperatorTokenError", "OperatorTokens", "Principal", "Role", "TokenRecord",
    "authenticate", "is_operator_token", "mint_customer_token", "verify_customer_token",
]
