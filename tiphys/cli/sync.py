"""``tiphys sync`` and ``tiphys diff``: one operation from the command line, against any cluster.

Exit codes: 0 the operation succeeded (or, for diff, nothing differs); 1 it failed or errored (a
difference, for diff); 2 a bad invocation or an invalid revision — and then nothing in the
cluster changed. Without ``--kubeconfig`` the embedded cluster of ``$TIPHYS_HOME`` is used,
started when needed; ``$KUBECONFIG`` is never read implicitly. The first Ctrl-C terminates the
operation as ``argocd app terminate-op`` would; a second one leaves it running in the
Application, to be resumed by the next ``tiphys sync`` of the same app.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.live import Live

from tiphys import engine, sources
from tiphys.controller import InvalidInput, Syncer, SyncRequest, application_name
from tiphys.controller.differ import diff_app
from tiphys.kube import Kube, KubeConfigError, KubeError

from . import views

__all__ = ["register"]

console = Console()
err = Console(stderr=True)
_OUTPUTS = ("text", "json", "yaml")
_NO_FULL_COLLECTIONS = 1_000_000  # young-generation collections before a full one


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def _parse_timeout(text: str | None) -> timedelta | None:
    if text is None:
        return None
    try:
        value = engine.parse_duration(text)
    except ValueError:
        raise _fail(f"--timeout {text!r} is not a duration (like 90s, 5m or 1h)") from None
    if value.total_seconds() <= 0:
        raise _fail("--timeout must be positive")
    return value


def _kube(kubeconfig: Path | None, context: str | None) -> Kube:
    """The named cluster, or the embedded one (started when needed)."""
    if kubeconfig is None:
        from tiphys.cluster import lifecycle
        from tiphys.home import home

        try:
            lifecycle.up(home())
        except lifecycle.StartError as e:
            raise _fail(str(e), 1) from e
    try:
        return Kube.from_kubeconfig(kubeconfig, context=context)
    except KubeConfigError as e:
        raise _fail(str(e)) from e


def _source(source: str, path: str, revision: str) -> tuple[sources.SourceSpec, dict[str, Any]]:
    for label, value in (("SOURCE", source), ("--revision", revision)):
        if value.startswith("-"):
            raise _fail(f"{label} {value!r} starts with '-': refused, it would be read as an option")
    url = source
    if not sources.git.is_git_url(source):
        local = Path(source).expanduser()
        if not local.is_dir():
            raise _fail(f"{source!r} is neither a directory nor a Git URL (https, ssh, git, file)")
        url = str(local.resolve())
    spec = sources.SourceSpec(repoURL=url, path=path, targetRevision=revision)
    data = {"repoURL": url, "path": path, "targetRevision": revision}
    return spec, {k: v for k, v in data.items() if v}


def _options(values: list[str]) -> tuple[str, ...]:
    for value in values:
        key, sep, setting = value.partition("=")
        if not sep or not key or not setting:
            raise _fail(f"--sync-option {value!r} is not KEY=VALUE (e.g. CreateNamespace=true)")
    return tuple(values)


def _print_state(state: engine.OperationState, output: str) -> None:
    if output == "json":
        typer.echo(json.dumps(state.to_json(), indent=2))
    elif output == "yaml":
        typer.echo(yaml.safe_dump(state.to_json(), sort_keys=False))


async def _run_sync(kube: Kube, request: SyncRequest, output: str) -> engine.OperationState:
    view = views.ProgressView()
    interactive = output == "text" and sys.stdout.isatty()
    last_message = [""]

    def on_step(step: engine.Step) -> None:
        view.update(step)
        if output == "text" and not interactive and step.state.message != last_message[0]:
            last_message[0] = step.state.message
            console.print(views.state_line(step.state), highlight=False)

    syncer = Syncer(kube, request, on_step=on_step)
    loop = asyncio.get_running_loop()
    interrupts = [0]
    task = asyncio.current_task()

    def interrupted() -> None:
        interrupts[0] += 1
        if interrupts[0] == 1 and not request.dry_run:
            err.print("terminating the operation (Ctrl-C again to leave it running and exit)")
            syncer.request_termination()
        elif task is not None:
            task.cancel()

    loop.add_signal_handler(signal.SIGINT, interrupted)
    try:
        if interactive:
            with Live(view, console=console, refresh_per_second=8, transient=False):
                state = await syncer.run()
        else:
            state = await syncer.run()
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        await syncer.close()
    for note in syncer.notes:
        err.print(f"note: {note}", highlight=False)
    _write_timings(syncer)
    if syncer.resumed and output == "text":
        console.print(f"resumed the operation started at {state.started_at:%Y-%m-%d %H:%M:%S}Z")
    if output == "text":
        if request.dry_run and view.step is not None:
            console.print(views.plan_table(view.step.tasks, state))
        elif not interactive:  # a terminal already shows the live table
            console.print(views.results_table(state))
        if syncer.warnings:
            console.print(views.warnings_text(syncer.warnings))
        console.print(views.state_line(state), highlight=False)
    return state


def _write_timings(syncer: Syncer) -> None:
    """``TIPHYS_SYNC_TIMINGS=FILE``: where the driver's time went, as JSON (for ``make bench``)."""
    target = os.environ.get("TIPHYS_SYNC_TIMINGS")
    if target:
        gaps = [round(gap * 1000, 2) for gap in syncer.timings.wave_gaps]
        Path(target).write_text(json.dumps({"event_to_next_write_ms": gaps}))


def sync(
    source: Annotated[str, typer.Argument(help="A directory, or a Git URL.")],
    path: Annotated[str, typer.Option("--path", help="The application's directory inside SOURCE.")] = "",
    revision: Annotated[str, typer.Option("--revision", help="Branch, tag or commit (Git).")] = "",
    app_name: Annotated[str | None, typer.Option("--app", help="Application name (default: from the path).")] = None,
    dest_namespace: Annotated[str, typer.Option("--dest-namespace", help="Destination namespace.")] = "default",
    prune: Annotated[bool, typer.Option("--prune", help="Delete what is no longer in the source.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; change nothing.")] = False,
    sync_option: Annotated[list[str] | None, typer.Option("--sync-option", help="KEY=VALUE, repeatable.")] = None,
    timeout: Annotated[str | None, typer.Option("--timeout", help="Terminate the operation after this.")] = None,
    output: Annotated[str, typer.Option("-o", "--output", help="text, json or yaml")] = "text",
    kubeconfig: Annotated[Path | None, typer.Option("--kubeconfig", help="Sync into this cluster.")] = None,
    context: Annotated[str | None, typer.Option("--context", help="Context of the kubeconfig.")] = None,
) -> None:
    """Sync SOURCE into a cluster, running its hooks the way Argo CD does."""
    if output not in _OUTPUTS:
        raise _fail(f"-o {output!r}: choose text, json or yaml")
    spec, source_json = _source(source, path, revision)
    name = app_name or application_name(path or source)
    if application_name(name) != name:
        raise _fail(f"--app {name!r} is not a valid name (lowercase letters, digits and '-')")
    request = SyncRequest(
        app=name,
        source=spec,
        source_json=source_json,
        namespace=dest_namespace,
        prune=prune,
        dry_run=dry_run,
        sync_options=_options(sync_option or []),
        timeout=_parse_timeout(timeout),
    )

    async def main() -> engine.OperationState:
        async with _kube(kubeconfig, context) as kube:
            return await _run_sync(kube, request, output)

    # One process, one operation: a full collection walks every desired and live object again
    # (pauses of 50-100 ms mid-wave at 1,000 objects, make bench) and finds next to nothing to
    # free. The young generations still reclaim short-lived cycles.
    gc.set_threshold(*gc.get_threshold()[:2], _NO_FULL_COLLECTIONS)
    try:
        state = asyncio.run(main())
    except InvalidInput as e:
        views.print_invalid(e.problems, err)
        raise typer.Exit(2) from e
    except asyncio.CancelledError:
        err.print(f"left the operation of {name!r} running; `tiphys sync` again resumes it")
        raise typer.Exit(1) from None
    except (KubeError, sources.SourceError) as e:
        raise _fail(str(e), 1) from e
    _print_state(state, output)
    raise typer.Exit(0 if state.phase is engine.OperationPhase.SUCCEEDED else 1)


def diff(
    source: Annotated[str, typer.Argument(help="A directory, or a Git URL.")],
    path: Annotated[str, typer.Option("--path")] = "",
    revision: Annotated[str, typer.Option("--revision")] = "",
    app_name: Annotated[str | None, typer.Option("--app")] = None,
    dest_namespace: Annotated[str, typer.Option("--dest-namespace")] = "default",
    kubeconfig: Annotated[Path | None, typer.Option("--kubeconfig")] = None,
    context: Annotated[str | None, typer.Option("--context")] = None,
) -> None:
    """Show how the live objects differ from SOURCE (Secrets masked); exit 1 when they do."""
    spec, source_json = _source(source, path, revision)
    request = SyncRequest(
        app=app_name or application_name(path or source), source=spec, source_json=source_json, namespace=dest_namespace
    )

    async def main() -> bool:
        async with _kube(kubeconfig, context) as kube:
            found = await diff_app(kube, request)
        return views.print_diff(found, console)

    try:
        different = asyncio.run(main())
    except InvalidInput as e:
        views.print_invalid(e.problems, err)
        raise typer.Exit(2) from e
    except (KubeError, sources.SourceError) as e:
        raise _fail(str(e), 1) from e
    raise typer.Exit(1 if different else 0)


def register(app: typer.Typer) -> None:
    app.command()(sync)
    app.command()(diff)
