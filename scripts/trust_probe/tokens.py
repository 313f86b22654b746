"""Every form of a bearer token the API could be handed, and who may read the OpenAPI docs."""

from __future__ import annotations

import time
import uuid

from .servers import cli
from .shared import (
    Store,
    b64,
    call,
    check,
    customer_token,
    jwt,
    post_msg,
)


def probe_tokens(ctx, base, op, store: Store, users):
    """38 token forms on one thread, customers on operator routes, a revoked operator token, the docs."""
    kind = "token forms"
    a_user = users[0]
    now = int(time.time())
    good = customer_token(a_user)
    tid = "tok-" + uuid.uuid4().hex[:8]
    assert post_msg(base, tid, good, "hello").status == 200
    other_secret = "another-secret-0123456789abcdef0123456789"
    h_b, p_b, s_b = good.split(".")
    forms = [  # (name, headers, expected statuses)
        ("missing header", {}, {401}),
        ("Bearer with nothing", {"Authorization": "Bearer"}, {401}),
        ("valid token with trailing junk", {"Authorization": "Bearer " + good + " junk"}, {401}),
        ("Basic scheme", {"Authorization": "Basic " + b64(b"admin:admin")}, {401}),
        ("Token scheme with a valid JWT", {"Authorization": "Token " + good}, {401}),
        ("garbage", {"Authorization": "Bearer abc"}, {401}),
        ("two segments", {"Authorization": f"Bearer {h_b}.{p_b}"}, {401}),
        ("four segments", {"Authorization": f"Bearer {good}.x"}, {401}),
        ("bad base64 header", {"Authorization": f"Bearer !!!.{p_b}.{s_b}"}, {401}),
        ("header not JSON", {"Authorization": f"Bearer {b64(b'nope')}.{p_b}.{s_b}"}, {401}),
        ("wrong signature", {"Authorization": "Bearer " + jwt({"sub": a_user, "iat": now, "exp": now + 600},
                                                              other_secret)}, {401}),
        ("signature stripped", {"Authorization": f"Bearer {h_b}.{p_b}."}, {401}),
        ("alg none", {"Authorization": "Bearer " + jwt({"sub": a_user, "iat": now, "exp": now + 600},
                                                       alg="none", header={"alg": "none", "typ": "JWT"})}, {401}),
        ("alg None", {"Authorization": "Bearer " + jwt({"sub": a_user, "iat": now, "exp": now + 600},
                                                       alg="none", header={"alg": "None"})}, {401}),
        ("alg HS512 same secret", {"Authorization": "Bearer " + jwt({"sub": a_user, "iat": now, "exp": now + 600},
                                                                    alg="HS512")}, {401}),
        ("alg RS256 header, HMAC signature", {"Authorization": "Bearer " + jwt(
            {"sub": a_user, "iat": now, "exp": now + 600}, header={"alg": "RS256", "typ": "JWT"})}, {401}),
        ("expired", {"Authorization": "Bearer " + customer_token(a_user, exp=now - 120, iat=now - 3600)}, {401}),
        ("exp as string", {"Authorization": "Bearer " + customer_token(a_user, exp=str(now + 3600))}, {401}),
        ("exp as bool", {"Authorization": "Bearer " + customer_token(a_user, exp=True)}, {401}),
        ("exp null", {"Authorization": "Bearer " + customer_token(a_user, exp=None)}, {401}),
        ("exp missing", {"Authorization": "Bearer " + customer_token(a_user, exp=...)}, {401}),
        ("exp huge (1e20)", {"Authorization": "Bearer " + customer_token(a_user, exp=10**20)}, {200, 401}),
        ("iat missing", {"Authorization": "Bearer " + customer_token(a_user, iat=...)}, {401}),
        ("iat as string", {"Authorization": "Bearer " + customer_token(a_user, iat=str(now))}, {401}),
        ("nbf in the future", {"Authorization": "Bearer " + customer_token(a_user, nbf=now + 600)}, {401}),
        ("nbf as string", {"Authorization": "Bearer " + customer_token(a_user, nbf=str(now - 10))}, {401}),
        ("nbf in the past (valid)", {"Authorization": "Bearer " + customer_token(a_user, nbf=now - 10)}, {200}),
        ("exp as float (valid NumericDate)", {"Authorization": "Bearer " + customer_token(
            a_user, exp=now + 3600.5)}, {200}),
        ("sub missing", {"Authorization": "Bearer " + customer_token(a_user, sub=...)}, {401}),
        ("sub unknown user", {"Authorization": "Bearer " + customer_token("nobody_here_0000")}, {401, 403, 404}),
        ("sub as number", {"Authorization": "Bearer " + customer_token(12345)}, {401}),
        ("sub with customer: prefix", {"Authorization": "Bearer " + customer_token("customer:" + a_user)},
         {401, 403, 404}),
        ("role claim operator in a customer JWT", {"Authorization": "Bearer " + customer_token(
            a_user, role="operator", scope="operator")}, {200}),  # still only a customer: checked below
        ("valid customer token", {"Authorization": "Bearer " + good}, {200}),
        ("operator token", {"Authorization": "Bearer " + op}, {200}),
        ("operator token with a char appended", {"Authorization": "Bearer " + op + "x"}, {401}),
        ("operator token truncated", {"Authorization": "Bearer " + op[:-1]}, {401}),
        ("token in the query string", {"_query": f"?access_token={good}"}, {401}),
    ]
    for name, headers, expected in forms:
        q = headers.pop("_query", "")
        a = call(base, "GET", f"/threads/{tid}{q}", headers=headers)
        check(kind, name, a.status in expected, f"GET /threads/{tid} -> {a.status} {a.text[:120]!r}")
    # wrong role: a customer on operator routes; the role claim does not make an operator
    for tok_name, tok in (("customer", good), ("customer with role=operator", customer_token(a_user, role="operator"))):
        for path in ("/threads", "/tickets", "/metrics", f"/threads/{tid}/checkpoints"):
            a = call(base, "GET", path, tok)
            check(kind, f"{tok_name} on operator route {path}", a.status == 403, f"{a.status}")
    # revoked operator token
    env = ctx.flows_env
    out = cli(env, "tokens", "operator", "probe-revoked")
    rev = next(w for w in out.split() if w.startswith("dgo_"))
    check(kind, "fresh operator token works", call(base, "GET", "/threads", rev).status == 200)
    cli(env, "tokens", "revoke", "probe-revoked")
    a = call(base, "GET", "/threads", rev)
    check(kind, "revoked operator token", a.status == 401, f"{a.status}")
    # docs need an operator token
    for path in ("/openapi.json", "/docs", "/redoc"):
        a0 = call(base, "GET", path)
        a1 = call(base, "GET", path, good)
        a2 = call(base, "GET", path, op)
        check("docs need an operator", path, a0.status == 401 and a1.status == 403 and a2.status == 200,
              f"none {a0.status}, customer {a1.status}, operator {a2.status}")
    a = call(base, "GET", "/health")
    check("docs need an operator", "/health is open", a.status == 200)
