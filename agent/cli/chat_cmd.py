"""`deskgraph chat`: talk to the support agent in the terminal, interactively or one turn at a time."""

from __future__ import annotations

import asyncio
import uuid

import typer

from agent.cli import app
from agent.cli.render import TerminalRenderer, stage_name
from agent.runtime import ErrorEvent, StepPaused, SupportRuntime, TurnRefusedError, transcript_lines
from agent.settings import get_settings

_HELP = "Commands: /retry (re-run a failed turn), /state, /history, /new (new thread), /quit."


@app.command()
def chat(
    thread: str | None = typer.Option(None, "--thread", "-t", help="Thread id to open or resume."),
    say: str | None = typer.Option(None, "--say", help="Send one message, print the reply and exit."),
    persona: str | None = typer.Option(None, "--persona", help="Tone preset: default, concise, formal, friendly."),
    tools: bool = typer.Option(True, "--tools/--no-tools", help="Show tool calls and results."),
    step: bool = typer.Option(False, "--step", help="Developers: pause after every graph node (Enter continues)."),
    break_at: list[str] | None = typer.Option(None, "--break", help="Developers: pause before these nodes instead: "
                                              "plan, cancel:confirm (subgraph:node); comma-separated or repeated."),
    as_json: bool = typer.Option(False, "--json", help="With --step/--break: one JSON object per output line."),
) -> None:
    """Chat with the agent in the terminal. A pending confirmation is answered with yes or no."""
    if say is not None and not thread:
        raise typer.BadParameter("--say needs --thread so that the next call can continue the conversation")
    settings = get_settings()
    thread = thread or f"cli-{uuid.uuid4().hex[:8]}"
    if step or break_at:
        from agent.cli.stepping import run_stepping, split_names

        raise typer.Exit(run_stepping(thread, breaks=split_names(break_at), as_json=as_json, say=say,
                                      persona=persona, tools=tools))
    try:
        code = asyncio.run(_one_turn(settings, thread, say, persona, tools) if say is not None
                           else _interactive(settings, thread, persona, tools, step))
    except KeyboardInterrupt:
        code = 130
    raise typer.Exit(code)


async def _one_turn(settings, thread: str, text: str, persona: str | None, tools: bool) -> int:
    render = TerminalRenderer(show_tools=tools, stream=False)
    failed = False
    async with SupportRuntime.open(settings) as runtime:
        events = runtime.retry(thread) if text.strip() == "/retry" else runtime.send(thread, text, persona=persona)
        try:
            async for event in events:
                render(event)
                failed = failed or isinstance(event, ErrorEvent)
        except TurnRefusedError as exc:  # busy (another turn of this thread runs), bad persona or thread id
            typer.echo(f"error: {exc}", err=True)
            return 1
        render.finish()
        after = await runtime.view(thread)
        if after.pending_confirmation:
            typer.echo(f"(answer with: deskgraph chat --thread {thread} --say yes | --say no)")
    return 1 if failed else 0


async def _interactive(settings, thread: str, persona: str | None, tools: bool, step: bool = False) -> int:
    render = TerminalRenderer(show_tools=tools)
    typer.echo("Starting deskgraph (the embedded model may take a few seconds to load)…")
    async with SupportRuntime.open(settings) as runtime:
        view = await runtime.view(thread)
        if view.exists:
            typer.echo(f"Resuming thread {thread} ({stage_name(view.stage)}).")
            for line in transcript_lines(view.messages)[-10:]:
                typer.echo(typer.style(line, dim=True))
        else:
            from prompts import replies

            typer.echo(f"Thread {thread}. {_HELP}")
            typer.echo(typer.style("[intake] ", fg="cyan") + replies()["welcome"])
        while True:
            try:
                text = (await asyncio.to_thread(input, "you> ")).strip()
            except EOFError:
                break
            if not text:
                continue
            if text in {"/quit", "/exit"}:
                break
            if text == "/new":
                thread = f"cli-{uuid.uuid4().hex[:8]}"
                typer.echo(f"New thread {thread}.")
                continue
            if text in {"/state", "/history"}:
                view = await runtime.view(thread)
                if text == "/state":
                    typer.echo(f"stage={view.stage} customer={view.customer_id} pending={view.pending_confirmation}"
                               f" ticket={view.ticket} next={view.next_nodes}")
                else:
                    typer.echo("\n".join(transcript_lines(view.messages)))
                continue
            events = runtime.retry(thread) if text == "/retry" else runtime.send(thread, text, persona=persona,
                                                                                  step=step)
            while events is not None:
                paused = False
                try:
                    async for event in events:
                        render(event)
                        paused = isinstance(event, StepPaused)
                except TurnRefusedError as exc:
                    typer.echo(f"error: {exc}", err=True)
                render.finish()
                events = None
                if paused:
                    answer = (await asyncio.to_thread(input, "  [Enter] next node, [s] state, [q] stop stepping: "))
                    if answer.strip() == "s":
                        view = await runtime.view(thread)
                        typer.echo(f"  stage={view.stage} customer={view.customer_id} next={view.next_nodes} "
                                   f"pending={view.pending_confirmation}")
                        typer.echo("\n".join("  " + line for line in transcript_lines(view.messages)[-6:]))
                    events = runtime.step(thread) if answer.strip() != "q" else runtime.retry(thread)
            if (await runtime.view(thread)).pending_confirmation:
                typer.echo(typer.style("  (answer yes or no)", dim=True))
    typer.echo(f"Bye. Resume with: deskgraph chat --thread {thread}")
    return 0
