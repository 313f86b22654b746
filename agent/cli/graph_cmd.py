"""`deskgraph graph`: the support graph with its task-flow subgraphs, drawn offline, and the node names that
breakpoints can use."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from agent.cli import app
from agent.runtime.graph_view import breakpoint_nodes, drawable, drawing_graph, mermaid
from agent.settings import get_settings


class GraphFormat(StrEnum):
    """What `deskgraph graph` draws."""

    MERMAID = "mermaid"
    PNG = "png"


class Dialogue(StrEnum):
    """Which dialogue's graph (default: the configured one)."""

    FLOWS = "flows"
    AGENT = "agent"


@app.command("graph")
def graph(fmt: GraphFormat = typer.Option(GraphFormat.MERMAID, "--format", "-f", help="mermaid or png."),
          out: Path | None = typer.Option(None, "--out", "-o", help="Write the drawing here (png needs it)."),
          xray: bool = typer.Option(True, "--xray/--no-xray", help="Expand the task-flow subgraphs."),
          dialogue: Dialogue | None = typer.Option(None, help="flows or agent (default: DESKGRAPH_DIALOGUE)."),
          nodes: bool = typer.Option(False, "--nodes", help="Only list the node names, one per line.")) -> None:
    """Draw the compiled support graph (no model, no network) and list the nodes a breakpoint can name."""
    compiled = drawing_graph(get_settings(), dialogue.value if dialogue else None)
    names = breakpoint_nodes(compiled)
    if nodes:
        typer.echo("\n".join(names))
        return
    if fmt is GraphFormat.PNG:
        if out is None:
            typer.echo("error: --format png needs --out FILE", err=True)
            raise typer.Exit(2)
        from agent.runtime.graph_png import render_png

        out.write_bytes(render_png(drawable(compiled, xray=xray)))
    else:
        # Mermaid comments (%%) keep the file a valid diagram while it names the breakpoints.
        text = mermaid(compiled, xray=xray).rstrip("\n") + "\n" + _node_comment(names)
        if out is None:
            typer.echo(text, nl=False)
            return
        out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}\nnodes (for --break): {', '.join(names)}")


def _node_comment(names: list[str]) -> str:
    return "%% nodes (for --break):\n" + "".join(f"%%   {name}\n" for name in names)
