"""`deskgraph db vacuum`: give the space that deleted conversations left behind back to the file system."""

from __future__ import annotations

import asyncio
import sqlite3

import typer

from agent.cli import app
from agent.runtime.retention import vacuum
from agent.settings import get_settings

db_app = typer.Typer(help="The deployment's SQLite files.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns


@db_app.command("vacuum")
def vacuum_files() -> None:
    """Compact the checkpoint, store and web UI databases (after `threads prune` or `threads delete`).

    SQLite keeps deleted pages inside the file for reuse; VACUUM rewrites the file without them. It needs a
    moment with no other writer: run it when the service is idle.
    """
    settings = get_settings()
    files = [("checkpoints", settings.checkpoint_db), ("store", settings.store_db), ("web UI", settings.ui_db)]
    failed = False
    for name, path in files:
        if not path.exists():
            continue
        try:
            before, after = asyncio.run(vacuum(path, busy_timeout_ms=settings.sqlite_busy_timeout_ms))
        except sqlite3.OperationalError as exc:  # locked by a running service, most likely
            typer.echo(f"error: {name} ({path}): {exc}", err=True)
            failed = True
            continue
        typer.echo(f"{name}\t{path}\t{_size(before)} -> {_size(after)}")
    raise typer.Exit(1 if failed else 0)
