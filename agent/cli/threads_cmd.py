"""`deskgraph threads …` and `deskgraph tickets …`: inspect, replay and fork past conversations."""

from __future__ import annotations

import asyncio
import json

import typer

from agent.cli import app
from agent.cli.errors import not_found
from agent.cli.render import stage_name
from agent.runtime import SupportRuntime, transcript_lines
from agent.runtime.conversation import NoModel
from agent.settings import get_settings

threads_app = typer.Typer(help="Inspect, replay and fork conversations from their checkpoints.", no_args_is_help=True)
tickets_app = typer.Typer(help="Hand-over tickets for human colleagues.", no_args_is_help=True)
app.add_typer(threads_app, name="threads")
app.add_typer(tickets_app, name="tickets")


def offline(coro_fn):  # noqa: ANN001, ANN202 - tiny adapter
    async def run():
        async with SupportRuntime.open(get_settings(), model=NoModel()) as runtime:
            return await coro_fn(runtime)
    return asyncio.run(run())


@threads_app.command("list")
def list_threads() -> None:
    """All threads, most recently active first, with stage, customer, and checkpoints and bytes on disk."""
    from agent.runtime.retention import thread_usage

    async def body(rt: SupportRuntime) -> None:
        usage = await thread_usage(rt.saver)
        for thread_id in await rt.threads():
            view = await rt.view(thread_id)
            flags = " [waiting for confirmation]" if view.pending_confirmation else ""
            flags += f" [ticket #{view.ticket['id']}]" if view.ticket else ""
            flags += " [failed turn: retry]" if view.failed_turn else ""
            size = usage.get(thread_id)
            disk = f"{size.checkpoints} checkpoints, {size.bytes} bytes" if size else "-"
            typer.echo(f"{thread_id}\t{stage_name(view.stage)}\t{view.customer_id or '-'}\t"
                       f"{len(view.messages)} messages\t{disk}{flags}")
    offline(body)


@threads_app.command("show")
def show(thread: str = typer.Argument(..., help="Thread id."),
         checkpoint: str | None = typer.Option(None, "--checkpoint", "-c", help="Show the state at this checkpoint."),
         as_json: bool = typer.Option(False, "--json", help="Print the state as JSON.")) -> None:
    """The transcript and state of a thread (now, or at one checkpoint)."""
    async def body(rt: SupportRuntime) -> None:
        view = await rt.view(thread, checkpoint)
        if not view.exists:
            not_found(f"no thread {thread!r}" + (f" at checkpoint {checkpoint!r}" if checkpoint else ""))
        ratings = rt.feedback.for_thread(thread)
        if as_json:
            typer.echo(json.dumps({"thread": thread, "stage": view.stage, "customer_id": view.customer_id,
                                   "pending_confirmation": view.pending_confirmation, "ticket": view.ticket,
                                   "next": list(view.next_nodes), "transcript": transcript_lines(view.messages),
                                   "feedback": [r.__dict__ for r in ratings]}, indent=2))
            return
        typer.echo(f"thread {thread}: stage {stage_name(view.stage)}, customer {view.customer_id or '-'}, "
                   f"next {list(view.next_nodes) or '-'}")
        if view.pending_confirmation:
            typer.echo(f"waiting for confirmation: {view.pending_confirmation['summary']}")
        if view.ticket:
            typer.echo(f"handed over: ticket #{view.ticket['id']} ({view.ticket['reason']})")
        typer.echo("\n".join(transcript_lines(view.messages)))
        if ratings:
            said = {m.id: str(m.content) for m in view.messages}
            typer.echo(f"feedback ({sum(r.value == 'up' for r in ratings)} up, "
                       f"{sum(r.value == 'down' for r in ratings)} down):")
            for r in ratings:
                quoted = said.get(r.message_id, r.message_id)
                typer.echo(f"  {'+1' if r.value == 'up' else '-1'} {r.author} on \"{quoted[:60]}\""
                           + (f": {r.comment}" if r.comment else ""))
    offline(body)


@threads_app.command("checkpoints")
def list_checkpoints(thread: str = typer.Argument(..., help="Thread id."),
                     limit: int = typer.Option(50, help="How many, newest first.")) -> None:
    """The thread's checkpoints: step, what ran, what runs next, stage, message count."""
    async def body(rt: SupportRuntime) -> None:
        rows = await rt.checkpoints(thread, limit)
        if not rows:
            not_found(f"no thread {thread!r}")
        for c in rows:
            typer.echo(f"{c.checkpoint_id}  step {c.step:>3}  {c.source:<6} wrote={','.join(c.wrote) or '-':<14} "
                       f"next={','.join(c.next_nodes) or '-':<14} {stage_name(c.stage):<11} {c.messages} msgs")
    offline(body)


@threads_app.command("fork")
def fork_thread(thread: str = typer.Argument(..., help="Thread id."),
                checkpoint: str = typer.Option(..., "--checkpoint", "-c", help="Checkpoint to fork from."),
                to: str | None = typer.Option(None, "--to", help="Id of the new thread (default: generated).")) -> None:
    """Start a new thread from a checkpoint of another; continue it with `deskgraph chat --thread NEW`."""
    async def body(rt: SupportRuntime) -> None:
        try:
            new_id = await rt.fork(thread, checkpoint, to)
        except LookupError as exc:
            not_found(str(exc))
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        typer.echo(new_id)
    offline(body)


@tickets_app.command("list")
def list_tickets(status: str | None = typer.Option(
        None, help="Only tickets with this status: open, claimed, handed_back, closed, or active (open and claimed).")
        ) -> None:
    """Hand-over tickets, newest first: number, status, opened, thread, customer, reason, who claimed it."""
    from agent.runtime import open_store
    from graphs.tickets import TicketDesk

    store = open_store(get_settings())
    try:
        for t in TicketDesk(store).list(status):
            typer.echo(f"#{t.id}\t{t.status}\t{t.created}\t{t.thread}\t{t.customer or '-'}\t{t.reason}\t"
                       f"{t.claimed_by or '-'}")
    finally:
        store.close()


@tickets_app.command("show")
def show_ticket(ticket_id: int = typer.Argument(..., help="Ticket number.")) -> None:
    """One ticket: its summary, who has it, the customer's later messages and its log."""
    from agent.runtime import open_store
    from graphs.tickets import TicketDesk

    store = open_store(get_settings())
    try:
        ticket = TicketDesk(store).get(ticket_id)
        if ticket is None:
            not_found(f"no ticket #{ticket_id}")
        typer.echo(f"ticket #{ticket.id} ({ticket.status}), thread {ticket.thread}, customer {ticket.customer or '-'}")
        typer.echo(f"reason: {ticket.reason}\nsummary: {ticket.summary}")
        if ticket.claimed_by:
            typer.echo(f"claimed by {ticket.claimed_by} at {ticket.claimed_at}")
        if ticket.handed_back:
            typer.echo(f"handed back: {ticket.handed_back} ({ticket.hand_back_summary})")
        if ticket.closed:
            typer.echo(f"closed: {ticket.closed}" + (f" ({ticket.close_note})" if ticket.close_note else ""))
        for note in ticket.notes:
            typer.echo(f"  + {note}")
        for event in ticket.events:
            typer.echo(f"  {event.created} {event.kind} by {event.author}: {event.text}")
    finally:
        store.close()


# `threads replay` lives in its own module (recorded and live replays, sandboxing, the comparison).
from agent.cli import threads_replay  # noqa: E402,F401 - registers the command
