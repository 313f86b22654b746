"""`deskgraph tools list|call`: inspect and run the retail tools against the store."""

from __future__ import annotations

import json

import typer

from agent.cli import app

tools_app = typer.Typer(help="List the retail tools or call one against the store.", no_args_is_help=True)
app.add_typer(tools_app, name="tools")


@tools_app.command("list")
def list_tools() -> None:
    """Print every tool with a one-line description; write tools are marked [write]."""
    from tools import CATALOG

    width = max(len(tool.name) for tool in CATALOG)
    for tool in sorted(CATALOG, key=lambda t: t.name):
        mark = "[write]" if tool.writes else "[read] "
        typer.echo(f"{tool.name:<{width}}  {mark}  {tool.description}")


@tools_app.command("call")
def call(
    name: str = typer.Argument(..., help="Tool name (see `deskgraph tools list`)."),
    args: str = typer.Option("{}", "--args", help="The arguments as a JSON object."),
    db: str | None = typer.Option(None, "--db", help="The store: a SQLite file or a postgresql:// URL (default: "
                                  "the settings' DESKGRAPH_DATABASE_URL, else store_db)."),
) -> None:
    """Run one tool call (one transaction) and print its result exactly."""
    from tools import RetailStore, run_tool, spec

    if spec(name) is None:
        typer.echo(f"Error: unknown tool {name!r}; see `deskgraph tools list`", err=True)
        raise typer.Exit(2)
    try:
        arguments = json.loads(args)
    except ValueError as e:
        typer.echo(f"Error: --args is not valid JSON: {e}", err=True)
        raise typer.Exit(2) from None
    if not isinstance(arguments, dict):
        typer.echo("Error: --args must be a JSON object", err=True)
        raise typer.Exit(2)
    if db is None:
        from agent.settings import get_settings

        db = get_settings().store_location
    from tools.db import database_exists

    if not database_exists(db):
        typer.echo(f"Error: store not found: {db} (run `deskgraph data seed` first)", err=True)
        raise typer.Exit(1)
    store = RetailStore.open(db)
    try:
        typer.echo(run_tool(store, name, arguments))
    finally:
        store.close()
