"""`deskgraph threads delete` and `deskgraph threads prune`: remove conversations, or old history of them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from agent.cli.threads_cmd import threads_app
from agent.runtime import SupportRuntime, ThreadBusyError, ThreadNotFoundError
from agent.runtime.conversation import NoModel
from agent.runtime.retention import parse_age, prune
from agent.settings import Settings, get_settings
from ui.storage import delete_thread_history

T = TypeVar("T")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error and return the exit to raise (2: unknown id or bad argument)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def run_offline(body: Callable[[SupportRuntime, Settings], Awaitable[T]]) -> T:
    """Run ``body`` on a runtime without a model (retention never needs one)."""
    settings = get_settings()

    async def run() -> T:
        async with SupportRuntime.open(settings, model=NoModel()) as runtime:
            return await body(runtime, settings)

    return asyncio.run(run())


async def delete_everywhere(runtime: SupportRuntime, settings: Settings, thread_id: str) -> int:
    """Delete a thread from the checkpoint database and the web UI's history; the UI rows deleted."""
    await runtime.delete_thread(thread_id)
    return await asyncio.to_thread(delete_thread_history, settings.ui_db, thread_id)


@threads_app.command("delete")
def delete(thread: str = typer.Argument(..., help="Thread id.")) -> None:
    """Delete a thread: its checkpoints and writes, lease and claim, and its web UI history."""
    async def body(rt: SupportRuntime, settings: Settings) -> int:
        try:
            return await delete_everywhere(rt, settings, thread)
        except ThreadNotFoundError:
            raise fail(f"no thread {thread!r}") from None
        except ThreadBusyError:
            raise fail(f"a turn of thread {thread!r} is running; try again when it ends", 1) from None

    ui_rows = run_offline(body)
    typer.echo(f"deleted thread {thread}" + (f" (and {ui_rows} rows of web UI history)" if ui_rows else ""))


@threads_app.command("prune")
def prune_threads(
    older_than: str = typer.Option(..., "--older-than", help="Idle for longer than this: 30d, 12h, 2w, 90m."),
    keep_last: int = typer.Option(0, "--keep-last", min=0,
                                  help="Keep the newest N checkpoints of each old thread instead of deleting it "
                                       "(0: delete old threads whole)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be pruned."),
) -> None:
    """Prune threads whose last checkpoint is older than --older-than.

    Without --keep-last they are deleted whole (like `threads delete`); with --keep-last N their history is cut to
    the newest N checkpoints per namespace, and they stay readable and resumable. Run `deskgraph db vacuum`
    afterwards to give the space back to the file system.
    """
    try:
        age = parse_age(older_than)
    except ValueError as exc:
        raise fail(str(exc)) from None

    async def body(rt: SupportRuntime, settings: Settings) -> None:
        async def delete_one(thread_id: str) -> None:
            await delete_everywhere(rt, settings, thread_id)

        report = await prune(rt.saver, rt.leases, older_than=age, keep_last=keep_last, dry_run=dry_run,
                             delete=delete_one)
        verb = "would " if dry_run else ""
        for thread_id in report.deleted_threads:
            typer.echo(f"{verb}delete {thread_id}")
        for thread_id in report.trimmed_threads:
            typer.echo(f"{verb}trim {thread_id} to its last {keep_last} checkpoint(s)")
        for thread_id in report.skipped_busy:
            typer.echo(f"skipped {thread_id}: a turn is running")
        summary = f"{len(report.deleted_threads)} deleted, {len(report.trimmed_threads)} trimmed"
        if not dry_run:
            summary += f", {report.deleted_checkpoints} checkpoints removed"
        typer.echo(f"{verb}prune: {summary}")

    run_offline(body)
