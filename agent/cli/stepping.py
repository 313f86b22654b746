"""Developer stepping in the terminal: `deskgraph chat --step [--break NODE,...] [--json]` and
`deskgraph threads step ID`, one session loop for both.

At a pause the session reads commands: Enter or `next` runs one node, `continue` runs to the next breakpoint (or
the end of the turn), `state` prints the parent's and the active subgraph's state, `edit FIELD=VALUE` changes it
(``update_state``), `quit` leaves. When nothing is paused a line is a customer message (`/state`, `/edit` and
`/quit` work there too). With `--json` every output line is one JSON object, for scripts that pipe commands in.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import typer

from agent.cli.render import TerminalRenderer
from agent.cli.threads_cmd import threads_app
from agent.runtime import Event, StepPaused, SupportRuntime, TurnRefusedError, event_dict
from agent.runtime.stepping import (
    GraphLevel,
    UnknownNodeError,
    check_breakpoints,
    edit_state,
    is_paused,
    levels,
    next_names,
)
from agent.settings import get_settings

ReadLine = Callable[[str], Awaitable[str | None]]
OpenRuntime = Callable[[], AbstractAsyncContextManager[SupportRuntime]]

_PAUSE_HELP = "[Enter] next node, [c]ontinue, [s]tate, edit FIELD=VALUE, [q]uit"


def split_names(values: Sequence[str] | None) -> list[str]:
    """``--break a,b --break c`` as [a, b, c]."""
    return [name.strip() for value in values or () for name in value.split(",") if name.strip()]


class Output:
    """Prints events, pauses and states as text or as JSON lines."""

    def __init__(self, *, as_json: bool, tools: bool = True) -> None:
        self.as_json = as_json
        self.render = TerminalRenderer(show_tools=tools, stream=not as_json)

    def _line(self, data: dict[str, Any]) -> None:
        typer.echo(json.dumps(data, default=str))

    def event(self, event: Event) -> None:
        if self.as_json:
            if event.kind != "token":
                self._line(event_dict(event))
        elif not isinstance(event, StepPaused):  # the pause is printed with its state
            self.render(event)

    def finish(self) -> None:
        if not self.as_json:
            self.render.finish()

    def paused(self, thread: str, before: Sequence[str], found: list[GraphLevel]) -> None:
        if self.as_json:
            self._line({"kind": "paused", "thread": thread, "before": list(before),
                        "graphs": [lvl.as_json() for lvl in found]})
            return
        typer.echo(typer.style(f"  ⏸ paused before {', '.join(before)}", fg="blue"))
        outer: dict[str, Any] = {}
        for lvl in found:
            # A flow starts from a copy of the parent's state: show what differs from it.
            summary = {k: v for k, v in lvl.summary().items() if outer.get(k, object()) != v}
            outer = outer or lvl.summary()
            fields = " ".join(f"{k}={json.dumps(v, default=str)}" for k, v in summary.items())
            typer.echo(f"    [{lvl.graph}] next={','.join(lvl.next_nodes) or '-'} {fields}")
        typer.echo(typer.style(f"    {_PAUSE_HELP}", dim=True))

    def state(self, found: list[GraphLevel]) -> None:
        if self.as_json:
            self._line({"kind": "state", "graphs": [lvl.as_json(full=True) for lvl in found]})
            return
        for lvl in found:
            typer.echo(f"  [{lvl.graph}] {lvl.namespace or '(root)'} next={','.join(lvl.next_nodes) or '-'}")
            typer.echo("    " + json.dumps(lvl.as_json(full=True)["state"], indent=2).replace("\n", "\n    "))

    def edited(self, lvl: GraphLevel, command: str) -> None:
        if self.as_json:
            self._line({"kind": "edited", "command": command, **lvl.as_json()})
        else:
            typer.echo(f"  edited [{lvl.graph}]: {command}")

    def turn_over(self, thread: str, pending: bool) -> None:
        if self.as_json:
            self._line({"kind": "turn_over", "thread": thread, "waiting_for_confirmation": pending})

    def error(self, message: str) -> None:
        if self.as_json:
            self._line({"kind": "error", "message": message})
        else:
            typer.echo(f"error: {message}", err=True)


async def stepping_session(open_runtime: OpenRuntime, thread: str, *, breaks: Sequence[str], as_json: bool,
                           read_line: ReadLine, say: str | None = None, persona: str | None = None,
                           tools: bool = True, existing: bool = False) -> int:
    """Run a stepping session; the exit code (2: unknown node or thread)."""
    out = Output(as_json=as_json, tools=tools)
    async with open_runtime() as rt:
        try:
            breakpoints = check_breakpoints(rt.graph, breaks)
        except UnknownNodeError as exc:
            typer.echo(f"error: {exc}", err=True)
            return 2
        if existing and not (await rt.view(thread)).exists:
            typer.echo(f"error: no thread {thread!r}", err=True)
            return 2
        session = _Session(rt, thread, breakpoints, out, persona)
        if await session.show_pause() is None and existing and not as_json:
            typer.echo(f"Thread {thread} is not paused: type a customer message to step its next turn.")
        if say is not None:
            await session.message(say)
            return 0
        while True:
            paused = await session.paused()
            prompt = "" if as_json else ("step> " if paused else "you> ")
            line = await read_line(prompt)
            if line is None:
                break
            if not await session.command(line.strip(), paused):
                break
    return 0


class _Session:
    def __init__(self, rt: SupportRuntime, thread: str, breakpoints: Sequence[str], out: Output,
                 persona: str | None) -> None:
        self.rt, self.thread, self.breakpoints, self.out, self.persona = rt, thread, breakpoints, out, persona
        # --step alone pauses after every node; with breakpoints a turn runs to the next one.
        self.every_node = not breakpoints

    async def paused(self) -> bool:
        return is_paused(await self._snapshot())

    async def _snapshot(self) -> Any:
        return await self.rt.graph.aget_state(self.rt.config(self.thread), subgraphs=True)

    async def show_pause(self) -> list[GraphLevel] | None:
        snap = await self._snapshot()
        if not is_paused(snap):
            return None
        found = levels(snap)
        self.out.paused(self.thread, next_names(snap), found)
        return found

    async def command(self, line: str, paused: bool) -> bool:
        """Handle one input line; False ends the session."""
        word = line.lstrip("/").split(" ", 1)
        # While paused every line is a command; otherwise a line is the customer's, unless it is a /command or
        # an `edit FIELD=VALUE`.
        is_command = line.startswith("/") or paused or (word[0].lower() == "edit" and "=" in line)
        verb = word[0].lower() if is_command else ""
        if verb in {"quit", "q", "exit"}:
            return False
        if verb in {"state", "s"}:
            self.out.state(levels(await self._snapshot()))
        elif verb == "edit":
            await self._edit(word[1] if len(word) > 1 else "")
        elif paused and verb in {"", "next", "n"}:
            await self._turn(self.rt.step(self.thread, one_node=True, breakpoints=self.breakpoints))
        elif paused and verb in {"continue", "c"}:
            await self._turn(self.rt.step(self.thread, one_node=False, breakpoints=self.breakpoints))
        elif paused:
            self.out.error(f"paused: {_PAUSE_HELP}")
        elif line:
            await self.message(line)
        return True

    async def message(self, text: str) -> None:
        await self._turn(self.rt.send(self.thread, text, persona=self.persona, step=self.every_node,
                                      breakpoints=self.breakpoints))

    async def _edit(self, assignment: str) -> None:
        try:
            self.out.edited(await edit_state(self.rt.graph, self.thread, assignment), assignment)
        except (ValueError, LookupError) as exc:
            self.out.error(str(exc))
        except Exception as exc:  # noqa: BLE001 - LangGraph refuses the update (e.g. a value the field rejects)
            self.out.error(f"{type(exc).__name__}: {exc}")

    async def _turn(self, events: AsyncIterator[Event]) -> None:
        try:
            async for event in events:
                self.out.event(event)
        except TurnRefusedError as exc:
            self.out.finish()
            self.out.error(str(exc))
            return
        self.out.finish()
        if await self.show_pause() is None:
            self.out.turn_over(self.thread, bool((await self.rt.view(self.thread)).pending_confirmation))


async def _stdin_line(prompt: str) -> str | None:
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None


def run_stepping(thread: str, *, breaks: Sequence[str], as_json: bool, say: str | None = None,
                 persona: str | None = None, tools: bool = True, existing: bool = False) -> int:
    """The CLI's entry: a session on the configured model and files, reading commands from stdin."""
    settings = get_settings()
    return asyncio.run(stepping_session(lambda: SupportRuntime.open(settings), thread, breaks=breaks,
                                        as_json=as_json, read_line=_stdin_line, say=say, persona=persona,
                                        tools=tools, existing=existing))


@threads_app.command("step")
def step_thread(
    thread: str = typer.Argument(..., help="Thread id (an existing thread)."),
    break_at: list[str] | None = typer.Option(None, "--break", help="Pause before these nodes: plan, cancel:confirm "
                                              "(subgraph:node), comma-separated or repeated."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per output line, for scripts."),
    say: str | None = typer.Option(None, "--say", help="Send this message, stop at the first pause, exit."),
) -> None:
    """Step an existing thread: show where it is paused, continue it node by node, inspect and edit its state."""
    raise typer.Exit(run_stepping(thread, breaks=split_names(break_at), as_json=as_json, say=say, existing=True))
