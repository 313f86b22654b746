"""`deskgraph threads export ID`: a thread's whole transcript, as Markdown or JSON."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from agent.cli.errors import not_found
from agent.cli.threads_cmd import offline, threads_app
from agent.runtime import SupportRuntime
from agent.runtime.export import export_thread


class ExportFormat(StrEnum):
    """What `threads export` writes."""

    MD = "md"
    JSON = "json"


@threads_app.command("export")
def export(thread: str = typer.Argument(..., help="Thread id."),
           fmt: ExportFormat = typer.Option(ExportFormat.MD, "--format", "-f", help="md or json."),
           out: Path | None = typer.Option(None, "--out", "-o", help="Write to this file instead of stdout.")) -> None:
    """The transcript with tool calls and results, stage changes, confirmations and hand-over, step by step."""
    async def body(rt: SupportRuntime) -> None:
        try:
            found = await export_thread(rt.graph, thread)
        except LookupError as exc:
            not_found(str(exc))
        text = found.markdown() if fmt is ExportFormat.MD else json.dumps(found.as_dict(), indent=2,
                                                                         ensure_ascii=False) + "\n"
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.write_text(text, encoding="utf-8")
    offline(body)
