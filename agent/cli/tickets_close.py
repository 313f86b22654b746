"""`deskgraph tickets close N [--note TEXT]`: an operator closes a hand-over ticket."""

from __future__ import annotations

import typer

from agent.cli.errors import not_found
from agent.cli.threads_cmd import tickets_app
from agent.settings import get_settings


@tickets_app.command("close")
def close_ticket(ticket_id: int = typer.Argument(..., help="Ticket number."),
                 note: str | None = typer.Option(None, "--note", help="Why or how it was resolved.")) -> None:
    """Close a ticket, with a note for the record; closing a closed ticket changes nothing."""
    from agent.runtime import open_store
    from graphs.tickets import TicketDesk

    store = open_store(get_settings())
    try:
        desk = TicketDesk(store)
        before = desk.get(ticket_id)
        if before is None:
            not_found(f"no ticket #{ticket_id}")
        if before.status == "closed":
            typer.echo(f"ticket #{ticket_id} was already closed on {before.closed or '?'}")
            return
        after = desk.close(ticket_id, note)
        assert after is not None  # it existed a moment ago and tickets are never deleted
        typer.echo(f"closed ticket #{ticket_id} ({after.closed})" + (f": {note}" if note else ""))
    finally:
        store.close()
