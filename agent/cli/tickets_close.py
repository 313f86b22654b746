"""`deskgraph tickets close N [--note TEXT] [--as NAME]`: an operator closes a hand-over ticket."""

from __future__ import annotations

import typer

from agent.cli.errors import not_found
from agent.cli.threads_cmd import offline, tickets_app


@tickets_app.command("close")
def close_ticket(ticket_id: int = typer.Argument(..., help="Ticket number."),
                 note: str | None = typer.Option(None, "--note", help="Why or how it was resolved."),
                 operator: str = typer.Option("operator", "--as", help="The operator closing it (for the log).")
                 ) -> None:
    """Close a ticket, with a note for the record; the customer may go on with the assistant in the same thread.
    Closing a closed ticket changes nothing."""
    from agent.runtime import SupportRuntime, TurnRefusedError

    async def body(rt: SupportRuntime) -> None:
        before = rt.ticket(ticket_id)
        if before is None:
            not_found(f"no ticket #{ticket_id}")
        if before.status == "closed":
            typer.echo(f"ticket #{ticket_id} was already closed on {before.closed or '?'}")
            return
        try:
            after = await rt.close_ticket(ticket_id, operator, note)
        except TurnRefusedError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        if after.status != "closed":
            typer.echo(f"ticket #{ticket_id} is {after.status.replace('_', ' ')}: nothing to close")
            return
        typer.echo(f"closed ticket #{ticket_id} ({after.closed})" + (f": {note}" if note else ""))

    offline(body)
