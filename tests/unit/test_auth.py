"""Principals: customer tokens (HS256 JWT), operator tokens (stored hashed), and the tokens CLI."""

from __future__ import annotations

import sqlite3
import time

import jwt
import pytest
from typer.testing import CliRunner

from agent.auth import (
    CustomerTokenError,
    OperatorTokenError,
    OperatorTokens,
    Principal,
    authenticate,
    mint_customer_token,
    verify_customer_token,
)
from agent.settings import Settings

SECRET = "s" * 32


def test_customer_token_round_trip_and_refusals():
    token = mint_customer_token("lena_moreau_3307", SECRET, ttl_seconds=60)
    assert verify_customer_token(token, SECRET) == "lena_moreau_3307"
    with pytest.raises(CustomerTokenError, match="invalid"):
        verify_customer_token(token, "t" * 32)  # another shop's secret
    with pytest.raises(CustomerTokenError, match="invalid"):
        verify_customer_token(token[:-2] + "xx", SECRET)  # tampered signature
    expired = jwt.encode({"sub": "lena_moreau_3307", "iat": int(time.time()) - 65, "exp": int(time.time()) - 5},
                         SECRET, algorithm="HS256")
    with pytest.raises(CustomerTokenError, match="expired"):
        verify_customer_token(expired, SECRET)
    unsigned = jwt.encode({"sub": "lena_moreau_3307", "exp": int(time.time()) + 60}, None, algorithm="none")
    with pytest.raises(CustomerTokenError):
        verify_customer_token(unsigned, SECRET)  # alg=none is never accepted
    no_exp = jwt.encode({"sub": "lena_moreau_3307"}, SECRET, algorithm="HS256")
    with pytest.raises(CustomerTokenError):
        verify_customer_token(no_exp, SECRET)  # a token that never expires is not one the shop mints
    with pytest.raises(CustomerTokenError, match="at least 32"):
        mint_customer_token("lena_moreau_3307", "short")


def _signed(**claims: object) -> str:
    return jwt.encode({"sub": "lena_moreau_3307", **claims}, SECRET, algorithm="HS256")


def _accepted(token: str) -> bool:
    try:
        verify_customer_token(token, SECRET)
    except CustomerTokenError:
        return False
    return True


def test_customer_token_dates_are_numeric_dates():
    # RFC 7519 NumericDate: a JSON number. PyJWT converts with int(), so a string "9999999999" was a token that
    # lived for ever and a bool passed as 1; the shop mints numbers only, anything else is a forged or broken token.
    now = int(time.time())
    valid = {"iat": now, "exp": now + 60}
    assert verify_customer_token(_signed(**valid), SECRET) == "lena_moreau_3307"
    assert verify_customer_token(_signed(iat=now + 0.5 - 1, exp=now + 60.5), SECRET) == "lena_moreau_3307"
    assert verify_customer_token(_signed(**valid, nbf=now - 30), SECRET) == "lena_moreau_3307"  # nbf passed: OK
    near_misses = {
        "string exp": {"iat": now, "exp": "9999999999"},
        "string iat": {"iat": str(now), "exp": now + 60},
        "bool exp": {"iat": now, "exp": True},
        "bool iat": {"iat": True, "exp": now + 60},
        "missing iat": {"exp": now + 60},
        "null exp": {"iat": now, "exp": None},
        "list exp": {"iat": now, "exp": [now + 60]},
        "string nbf": {**valid, "nbf": "0"},
        "bool nbf": {**valid, "nbf": False},
        "nbf in the future": {**valid, "nbf": now + 3600},
    }
    assert [name for name, claims in near_misses.items() if _accepted(_signed(**claims))] == []


def test_operator_tokens_are_stored_hashed_listed_and_revoked(tmp_path):
    tokens = OperatorTokens(tmp_path / "store.db")
    token = tokens.issue("alice")
    assert tokens.verify(token) == "alice" and tokens.verify(token + "x") is None and tokens.verify("") is None
    raw = sqlite3.connect(tmp_path / "store.db").execute("SELECT * FROM operator_tokens").fetchall()
    assert token not in repr(raw)  # only the hash is kept
    with pytest.raises(OperatorTokenError, match="already"):
        tokens.issue("alice")
    assert [(r.name, r.revoked) for r in OperatorTokens(tmp_path / "store.db").list()] == [("alice", None)]
    assert tokens.revoke("alice") and not tokens.revoke("alice")
    assert tokens.verify(token) is None
    second = tokens.issue("alice")  # a new token after revocation
    assert tokens.verify(second) == "alice" and len(tokens.list()) == 2


def test_authenticate_resolves_both_roles(tmp_path):
    settings = Settings(store_db=tmp_path / "store.db", customer_token_secret=SECRET, _env_file=None)
    operator = OperatorTokens(settings.store_db).issue("alice")
    assert authenticate(operator, settings) == Principal.operator("alice")
    customer = mint_customer_token("lena_moreau_3307", SECRET)
    principal = authenticate(customer, settings)
    assert principal == Principal.customer("lena_moreau_3307") and principal.customer_id == "lena_moreau_3307"
    assert not principal.is_operator and Principal.operator("alice").customer_id is None
    assert authenticate("garbage", settings) is None and authenticate("", settings) is None
    no_secret = settings.model_copy(update={"customer_token_secret": Settings.model_fields["customer_token_secret"].default})
    assert authenticate(customer, no_secret) is None  # customer tokens are off without a secret


def test_tokens_cli(tmp_path, monkeypatch):
    from agent.cli import _register, app
    from agent.settings import get_settings
    from tests.fixtures_data import small_dataset
    from tools import RetailStore

    store = RetailStore.open(tmp_path / "store.db")
    store.load_json(small_dataset())
    store.close()
    monkeypatch.setenv("DESKGRAPH_STORE_DB", str(tmp_path / "store.db"))
    monkeypatch.setenv("DESKGRAPH_CUSTOMER_TOKEN_SECRET", SECRET)
    get_settings.cache_clear()
    _register()
    runner = CliRunner()
    try:
        issued = runner.invoke(app, ["tokens", "operator", "alice"])
        assert issued.exit_code == 0, issued.output
        token = issued.stdout.strip().splitlines()[0]
        assert OperatorTokens(tmp_path / "store.db").verify(token) == "alice"
        listed = runner.invoke(app, ["tokens", "list"])
        assert "alice" in listed.stdout and "active" in listed.stdout and token not in listed.stdout
        assert runner.invoke(app, ["tokens", "revoke", "alice"]).exit_code == 0
        assert runner.invoke(app, ["tokens", "revoke", "alice"]).exit_code == 1
        minted = runner.invoke(app, ["tokens", "customer", "lena_moreau_3307", "--ttl", "120"])
        assert minted.exit_code == 0, minted.output
        assert verify_customer_token(minted.stdout.strip(), SECRET) == "lena_moreau_3307"
        assert runner.invoke(app, ["tokens", "customer", "nobody_0000"]).exit_code == 1
    finally:
        get_settings.cache_clear()
