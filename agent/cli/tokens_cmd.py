"""`deskgraph tokens …`: operator tokens (stored hashed) and customer tokens for demos and tests."""

from __future__ import annotations

import typer

from agent.auth import CustomerTokenError, OperatorTokenError, OperatorTokens, mint_customer_token
from agent.cli import app
from agent.settings import get_settings

tokens_app = typer.Typer(help="API tokens: operators (every thread) and customers (their own threads).",
                         no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")


def _operators() -> OperatorTokens:
    settings = get_settings()
    return OperatorTokens(settings.store_location, settings.sqlite_busy_timeout_ms)


@tokens_app.command("operator")
def operator(name: str = typer.Argument(..., help="Operator name (one active token per name).")) -> None:
    """Issue an operator token; it is printed once and only its hash is stored."""
    try:
        token = _operators().issue(name)
    except OperatorTokenError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(token)
    typer.echo(f"operator token for {name!r}: shown once, store it now.", err=True)


@tokens_app.command("list")
def list_tokens() -> None:
    """Operator tokens: name, created, revoked (never the tokens themselves)."""
    for record in _operators().list():
        typer.echo(f"{record.name}\t{record.created}\t{'revoked ' + record.revoked if record.revoked else 'active'}")


@tokens_app.command("revoke")
def revoke(name: str = typer.Argument(..., help="Operator name.")) -> None:
    """Revoke an operator's token at once."""
    if not _operators().revoke(name):
        typer.echo(f"error: operator {name!r} has no active token", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {name}")


@tokens_app.command("customer")
def customer(user_id: str = typer.Argument(..., help="The store's user id, e.g. lena_moreau_3307."),
             ttl: int = typer.Option(3600, "--ttl", help="Seconds until the token expires.")) -> None:
    """Mint a customer token (signed with DESKGRAPH_CUSTOMER_TOKEN_SECRET) for demos and tests."""
    from tools import RetailStore

    settings = get_settings()
    from tools.db import database_exists

    location = settings.store_location
    if database_exists(location):
        store = RetailStore.open(location, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
        try:
            known = store.user_exists(user_id)
        finally:
            store.close()
        if not known:
            typer.echo(f"error: no user {user_id!r} in the store", err=True)
            raise typer.Exit(1)
    try:
        typer.echo(mint_customer_token(user_id, settings.customer_token_secret.get_secret_value(), ttl))
    except CustomerTokenError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
