"""The ``deskgraph`` command line: one Typer app, one sub-command module per capability."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="deskgraph",
    help="deskgraph: a customer-service agent for an online shop, on LangGraph.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


#: One module per capability; each adds its commands to `app` when imported.
COMMAND_MODULES: list[str] = ["data_cmd", "tools_cmd", "chat_cmd", "threads_cmd", "model_cmd", "doctor_cmd", "ui_cmd",
                              "serve_cmd", "tokens_cmd", "eval_cmd", "graph_cmd", "threads_diff", "threads_export",
                              "tickets_close", "retention_cmd", "db_cmd", "stepping"]


def _register() -> None:
    # Each capability owns one module that adds its commands to `app`; imported here so that
    # `deskgraph --help` lists them all.
    import importlib

    for module in COMMAND_MODULES:
        importlib.import_module(f"agent.cli.{module}")


def main() -> None:
    """Console-script entry point. A database this build cannot open, or a PostgreSQL server it cannot reach, is
    a one-line error (exit 2)."""
    import psycopg

    from tools import UnsupportedDatabaseError

    _register()
    try:
        app()
    except UnsupportedDatabaseError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from exc
    except psycopg.OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        typer.echo(f"error: cannot use the PostgreSQL database: {first_line}", err=True)
        raise SystemExit(2) from exc
