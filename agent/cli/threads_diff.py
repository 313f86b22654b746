"""`deskgraph threads diff ID A B`: what changed in a thread between two of its checkpoints."""

from __future__ import annotations

import json

import typer

from agent.cli.errors import not_found
from agent.cli.threads_cmd import offline, threads_app
from agent.runtime import SupportRuntime
from agent.runtime.diff import diff_checkpoints


@threads_app.command("diff")
def diff(thread: str = typer.Argument(..., help="Thread id."),
         a: str = typer.Argument(..., help="The earlier checkpoint (see `threads checkpoints`)."),
         b: str = typer.Argument(..., help="The later checkpoint."),
         as_json: bool = typer.Option(False, "--json", help="Print the difference as JSON.")) -> None:
    """Stage, customer, orders in focus, pending confirmation, ticket and messages added from A to B."""
    async def body(rt: SupportRuntime) -> None:
        try:
            found = await diff_checkpoints(rt.graph, thread, a, b)
        except LookupError as exc:
            not_found(str(exc))
        typer.echo(json.dumps(found.as_dict(), indent=2, ensure_ascii=False) if as_json else "\n".join(found.lines()))
    offline(body)
