"""Printing runtime events in a terminal (shared by `chat` and `threads replay`)."""

from __future__ import annotations

import json

import typer

from agent.runtime import (
    ConfirmationRequested,
    ErrorEvent,
    Event,
    HandedOver,
    Reply,
    StageChanged,
    StepPaused,
    Token,
    ToolCalled,
    ToolResult,
)

_STAGE_NAMES = {"intake": "intake", "order_desk": "order desk", "escalation": "escalation"}


def stage_name(stage: str) -> str:
    """How a stage is called on screen."""
    return _STAGE_NAMES.get(stage, stage)


class TerminalRenderer:
    """Streams tokens inline and prints everything else on its own line."""

    def __init__(self, *, show_tools: bool = True, stream: bool = True) -> None:
        self.show_tools = show_tools
        self.stream = stream
        self._open_line = False

    def _close(self) -> None:
        if self._open_line:
            typer.echo("")
            self._open_line = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, Token):
            if self.stream:
                if not self._open_line:
                    typer.echo(typer.style(f"[{stage_name(event.stage)}] ", fg="cyan"), nl=False)
                typer.echo(event.text, nl=False)
                self._open_line = True
            return
        self._close()
        if isinstance(event, Reply):
            if not (event.streamed and self.stream):
                typer.echo(typer.style(f"[{stage_name(event.stage)}] ", fg="cyan") + event.text)
        elif isinstance(event, ToolCalled) and self.show_tools:
            typer.echo(typer.style(f"  · {event.name}({json.dumps(event.arguments)})", dim=True))
        elif isinstance(event, ToolResult) and self.show_tools:
            text = event.result if len(event.result) <= 160 else event.result[:160] + "…"
            typer.echo(typer.style(f"    ↳ {text}", dim=True, fg=None if event.ok else "red"))
        elif isinstance(event, StageChanged):
            typer.echo(typer.style(f"  ⇢ moved to {stage_name(event.target)} ({event.reason})", fg="yellow"))
        elif isinstance(event, ConfirmationRequested):
            typer.echo(typer.style(f"  ? {event.summary}", fg="magenta", bold=True))
        elif isinstance(event, HandedOver):
            typer.echo(typer.style(f"  ⇢ handed over to a human: ticket #{event.ticket_id}", fg="yellow"))
        elif isinstance(event, StepPaused):
            typer.echo(typer.style(f"  ⏸ after {event.node}; next: {', '.join(event.next_nodes)}", fg="blue"))
        elif isinstance(event, ErrorEvent):
            hint = " (type /retry to try again)" if event.retryable else ""
            typer.echo(typer.style(f"  ! {event.message}{hint}", fg="red"), err=True)

    def finish(self) -> None:
        """End an open streamed line."""
        self._close()
