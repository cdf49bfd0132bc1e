"""``tiphys``: the embedded cluster's lifecycle today; sync, apps and workflows join as they land."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from .. import __version__
from ..home import home as tiphys_home
from ..workflows import cli as workflow_commands
from . import app as app_commands
from . import cluster as cluster_commands
from . import controller as controller_command
from . import sync as sync_commands

__all__ = ["app", "main"]

app = typer.Typer(
    name="tiphys",
    help="GitOps continuous delivery for Kubernetes, with Argo CD's sync-hook lifecycle.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)


@app.command()
def up(
    port: Annotated[
        int | None, typer.Option(help="Port for the API server (default: the last one, or a free one).")
    ] = None,
    foreground: Annotated[
        bool, typer.Option("--foreground", help="Stay attached instead of running in the background.")
    ] = False,
    no_controllers: Annotated[
        bool, typer.Option("--no-controllers", help="Run the cluster without the Application controller.")
    ] = False,
) -> None:
    """Start the embedded cluster (idempotent) and return once its API answers."""
    from ..cluster import lifecycle

    h = tiphys_home()
    if foreground:
        from ..cluster.server import main as serve

        serve(
            ["--home", str(h.root)]
            + (["--port", str(port)] if port else [])
            + (["--no-controllers"] if no_controllers else [])
        )
        return
    try:
        state = lifecycle.up(h, port=port, controllers=not no_controllers)
    except lifecycle.StartError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"embedded cluster running at {state.server} (pid {state.pid})")
    console.print(f"kubeconfig: {h.kubeconfig}")


@app.command()
def down() -> None:
    """Stop the embedded cluster; its data stays in $TIPHYS_HOME."""
    from ..cluster import lifecycle

    if lifecycle.down(tiphys_home()):
        console.print("embedded cluster stopped")
    else:
        console.print("embedded cluster is not running")


@app.command()
def status(
    output: Annotated[str, typer.Option("-o", "--output", help="text or json")] = "text",
) -> None:
    """Show whether the embedded cluster runs, where, and whether its API answers."""
    from ..cluster import lifecycle

    h = tiphys_home()
    state = lifecycle.status(h)
    if output == "json":
        typer.echo(
            json.dumps(
                {
                    "running": state.running,
                    "ready": state.ready,
                    "pid": state.pid,
                    "server": state.server,
                    "kubeconfig": str(h.kubeconfig),
                    "home": str(h.root),
                }
            )
        )
    else:
        if state.running:
            console.print(f"running: {state.server} (pid {state.pid}, {'ready' if state.ready else 'not ready'})")
        else:
            console.print("stopped")
        console.print(f"home: {h.root}")
    if not state.running:
        raise typer.Exit(3)


@app.command()
def kubeconfig(
    show: Annotated[bool, typer.Option("--show", help="Print the kubeconfig itself instead of its path.")] = False,
) -> None:
    """Print the path of the embedded cluster's kubeconfig, starting the cluster when needed."""
    from ..cluster import lifecycle

    h = tiphys_home()
    try:
        lifecycle.up(h)
    except lifecycle.StartError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    typer.echo(h.kubeconfig.read_text() if show else str(h.kubeconfig), nl=not show)


@app.command()
def version() -> None:
    """Print the Tiphys version."""
    typer.echo(__version__)


sync_commands.register(app)
workflow_commands.register(app, sync_commands._kube)  # same cluster rules as sync
app_commands.register(app)
cluster_commands.register(app)
controller_command.register(app)


def main() -> None:
    app()
