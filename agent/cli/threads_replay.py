"""`deskgraph threads replay`: re-run a thread from a checkpoint and say whether it does what it did.

Exit codes: 0 the replay matches the original, 1 it diverges (the first difference is printed), 2 unknown thread
or checkpoint, 3 the replay could not run (e.g. ``--live`` with no model server).
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager

import typer

from agent.cli.render import TerminalRenderer
from agent.cli.threads_cmd import threads_app
from agent.runtime import SupportRuntime
from agent.runtime.replay import ReplayReport, UnknownCheckpointError
from agent.runtime.wiring import NoModel
from agent.settings import get_settings

EXIT_MATCH, EXIT_DIVERGED, EXIT_UNKNOWN, EXIT_FAILED = 0, 1, 2, 3


def open_runtime(live: bool) -> AbstractAsyncContextManager[SupportRuntime]:
    """The runtime for a replay: with the configured model for ``--live``, with none otherwise."""
    return SupportRuntime.open(get_settings()) if live else SupportRuntime.open(get_settings(), model=NoModel())


def _summary(report: ReplayReport) -> tuple[str, int]:
    how = f"{'live' if report.live else 'recorded'} replay{' in a sandbox' if report.sandbox else ''}"
    if report.failure:
        return f"replay failed: {report.failure}", EXIT_FAILED
    if report.divergence:
        d = report.divergence
        where = f"step {d.step}" if d.step >= 0 else "the end"
        checkpoint = f" (original checkpoint {d.original_checkpoint})" if d.original_checkpoint else ""
        return (f"{how} DIVERGED at {where}{checkpoint} after {report.steps} matching step(s): {d.detail}",
                EXIT_DIVERGED)
    return f"{how} matches the original: {report.steps} step(s) reproduced", EXIT_MATCH


@threads_app.command("replay")
def replay(thread: str = typer.Argument(..., help="Thread id."),
           checkpoint: str = typer.Option(..., "--checkpoint", "-c", help="Re-run from this checkpoint."),
           live: bool = typer.Option(False, "--live", help="Ask the model again instead of feeding the recorded "
                                                           "responses (needs the model server)."),
           use_sandbox: bool = typer.Option(True, "--sandbox/--no-sandbox",
                                            help="Run on scratch copies of the thread and of the store as it was at "
                                                 "the checkpoint (default); --no-sandbox adds the replay to the real "
                                                 "thread and rolls back every store write."),
           quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the verdict.")) -> None:
    """Replay a thread from a checkpoint and compare it with the original run.

    By default the model's recorded responses answer every request (no model server needed, deterministic) and the
    customer's recorded messages and confirmation answers are given at the same points. Exit code 0 when the replay
    reproduces the original, 1 at the first difference (a different tool call or state), 2 for an unknown thread or
    checkpoint, 3 when it cannot run.
    """
    async def run() -> int:
        render = TerminalRenderer()
        try:
            async with open_runtime(live) as rt:
                report = await rt.replay_checked(thread, checkpoint, live=live, sandbox=use_sandbox,
                                                 on_event=None if quiet else render)
        except UnknownCheckpointError as exc:
            typer.echo(f"error: {exc.args[0]}", err=True)
            return EXIT_UNKNOWN
        except Exception as exc:  # noqa: BLE001 - one line, not a stack: no model server, a locked file, ...
            typer.echo(f"replay failed: {type(exc).__name__}: {exc}", err=True)
            return EXIT_FAILED
        if not quiet:
            render.finish()
        for note in report.notes:
            typer.echo(f"note: {note}", err=True)
        message, code = _summary(report)
        typer.echo(message, err=code != EXIT_MATCH)
        return code

    code = asyncio.run(run())
    if code:
        raise typer.Exit(code)
