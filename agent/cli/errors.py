"""How the thread and ticket commands fail: one line on stderr and a distinct exit code per kind of failure."""

from __future__ import annotations

from typing import NoReturn

import typer

#: An id that names nothing (thread, checkpoint, ticket): scripts can tell it apart from other failures (1).
NOT_FOUND = 2


def not_found(message: str) -> NoReturn:
    """Print ``error: <message>`` and exit with ``NOT_FOUND``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(NOT_FOUND)
