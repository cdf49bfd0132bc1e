"""``tiphys app sync``, ``rollback`` and ``terminate-op``: ask the controller for an operation, watch it end.

A request is the Application's ``operation`` field, written only if no operation is requested or
running (Argo CD's "another operation is already in progress") and only on the version read (a
JSON patch ``test``), so two clients never overwrite each other. Without ``--async`` the command
then reads the Application until the controller has cleared ``operation`` and recorded a completed
operation that started after the request, and prints its result as ``tiphys sync`` does: exit 0
when it Succeeded, 1 otherwise. ``terminate-op`` sets ``status.operationState.phase`` to
``Terminating``, as ``argocd app terminate-op`` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from tiphys import engine
from tiphys.controller import application as apps
from tiphys.kube import Conflict, Kube

from . import app_requests, app_spec, views
from .app_common import (
    ContextOpt,
    KubeconfigOpt,
    TimeoutOpt,
    app_or_exit,
    check_output,
    console,
    err,
    fail,
    parse_timeout,
    poll,
    print_data,
    run,
)
from .app_spec import Refused

__all__ = ["register", "request_operation", "wait_operation"]

NO_CONTROLLER_HINT: Final = 15.0  # seconds before saying that no controller seems to pick the request up

_OutputOpt = Annotated[str, typer.Option("-o", "--output", help="text, json or yaml")]


def _busy(app: Mapping[str, Any]) -> bool:
    state = apps.operation_state(app)
    return bool(app.get("operation")) or (state is not None and not state.completed)


async def request_operation(
    kube: Kube, name: str, build: Callable[[dict[str, Any]], dict[str, Any]]
) -> datetime | None:
    """Write the ``operation`` ``build(app)`` returns; the start time of the operation before it (or None)."""
    for _ in range(10):
        app = await app_or_exit(kube, name)
        if (app.get("metadata") or {}).get("deletionTimestamp"):
            raise Refused(f"application '{name}' is being deleted")
        if _busy(app):
            raise Refused("another operation is already in progress (`tiphys app terminate-op` stops it)")
        operation = build(app)
        previous = apps.operation_state(app)
        try:
            await apps.update_app(kube, name, [{"op": "add", "path": "/operation", "value": operation}], based_on=app)
        except Conflict:
            await asyncio.sleep(0.1)
            continue
        return previous.started_at if previous is not None else None
    raise Refused(f"application '{name}' kept changing; try again")


async def wait_operation(
    kube: Kube, name: str, previous: datetime | None, *, timeout: timedelta | None, output: str
) -> engine.OperationState:
    """Read the app until the requested operation has ended; print its messages as they change (text)."""
    loop = asyncio.get_running_loop()
    asked = loop.time()
    seen = {"message": "", "hinted": False}

    def ended(app: Mapping[str, Any] | None) -> bool:
        if app is None:
            raise Refused(f"application '{name}' was deleted while its operation ran")
        state = apps.operation_state(app)
        ours = state is not None and state.started_at != previous
        running = ours and state is not None and not state.completed  # the final line comes with the results
        if running and state is not None and output == "text" and state.message and state.message != seen["message"]:
            seen["message"] = state.message
            console.print(views.state_line(state), highlight=False)
        if not ours and not seen["hinted"] and loop.time() - asked > NO_CONTROLLER_HINT:
            seen["hinted"] = True
            err.print("waiting for the controller to start the operation (is `tiphys controller` running?)")
        return ours and state is not None and state.completed and not app.get("operation")

    try:
        app = await poll(kube, name, ended, timeout=timeout)
    except TimeoutError:
        raise Refused(f"the operation of '{name}' did not end within the timeout; it goes on") from None
    state = apps.operation_state(app)
    assert state is not None
    return state


def _finish(state: engine.OperationState, output: str) -> None:
    if output in ("json", "yaml"):
        print_data(state.to_json(), output)
    else:
        console.print(views.results_table(state))
        console.print(views.state_line(state), highlight=False)
    raise typer.Exit(0 if state.phase is engine.OperationPhase.SUCCEEDED else 1)


def _operate(
    what: str,
    name: str,
    checked: Callable[[], Callable[[dict[str, Any]], dict[str, Any]]],
    *,
    async_: bool,
    timeout: str | None,
    output: str,
    kubeconfig: Path | None,
    context: str | None,
) -> None:
    """Check ``--output``, ``--timeout``, then the command's own flags (``checked()``, which returns what builds
    the operation); request the operation; unless ``async_``, wait for it to end and print its result."""
    check_output(output, ("text", "json", "yaml"))
    limit = parse_timeout(timeout)
    build = checked()

    async def body(kube: Kube) -> engine.OperationState | None:
        previous = await request_operation(kube, name, build)
        if async_:
            console.print(f"{what} of '{name}' requested", highlight=False)
            return None
        return await wait_operation(kube, name, previous, timeout=limit, output=output)

    state = run(kubeconfig, context, body)
    if state is not None:
        _finish(state, output)


def _resources(values: list[str]) -> tuple[engine.SyncOperationResource, ...]:
    found = []
    for value in values:
        parts = value.split(":")
        if len(parts) not in (3, 4) or not parts[-1] or not parts[-2]:
            raise fail(f"--resource {value!r} is not GROUP:KIND:NAME or GROUP:KIND:NAMESPACE:NAME")
        group, kind, *rest = parts
        namespace, name = (rest[0], rest[1]) if len(rest) == 2 else ("", rest[0])
        found.append(engine.SyncOperationResource(group=group, kind=kind, name=name, namespace=namespace))
    return tuple(found)


def sync(
    name: Annotated[str, typer.Argument(help="The Application's name.")],
    prune: Annotated[bool, typer.Option("--prune", help="Delete what is no longer in Git.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only; change nothing.")] = False,
    revision: Annotated[str, typer.Option("--revision", help="Sync this revision instead of the target.")] = "",
    async_: Annotated[bool, typer.Option("--async", help="Request the sync and return at once.")] = False,
    sync_option: Annotated[list[str] | None, typer.Option("--sync-option", help="KEY=VALUE, repeatable.")] = None,
    resource: Annotated[
        list[str] | None, typer.Option("--resource", help="Sync only GROUP:KIND[:NAMESPACE]:NAME, repeatable.")
    ] = None,
    timeout: TimeoutOpt = None,
    output: _OutputOpt = "text",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Sync an Application through the controller; exit 0 when the operation Succeeded, 1 otherwise."""

    def checked() -> Callable[[dict[str, Any]], dict[str, Any]]:
        selected = _resources(resource or [])

        def build(app: dict[str, Any]) -> dict[str, Any]:
            return app_requests.sync_operation(
                app, revision=revision, prune=prune, dry_run=dry_run, sync_options=sync_option or [], resources=selected
            )

        return build

    _operate(
        "sync", name, checked, async_=async_, timeout=timeout, output=output, kubeconfig=kubeconfig, context=context
    )


def rollback(
    name: Annotated[str, typer.Argument(help="The Application's name.")],
    deployment_id: Annotated[int | None, typer.Argument(help="History id (default: the previous one).")] = None,
    prune: Annotated[bool, typer.Option("--prune", help="Delete what the old revision lacks.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only; change nothing.")] = False,
    async_: Annotated[bool, typer.Option("--async", help="Request the rollback and return at once.")] = False,
    timeout: TimeoutOpt = None,
    output: _OutputOpt = "text",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Roll back to a deployment of `tiphys app history`: sync its revision and source again."""

    def build(app: dict[str, Any]) -> dict[str, Any]:
        chosen = app_requests.history_id(app, deployment_id)
        try:
            return apps.rollback_operation(app, chosen, prune=prune, dry_run=dry_run, username=app_spec.CLI_USER)
        except apps.RollbackRefused as e:
            raise Refused(str(e)) from e

    _operate(
        "rollback",
        name,
        lambda: build,
        async_=async_,
        timeout=timeout,
        output=output,
        kubeconfig=kubeconfig,
        context=context,
    )


def terminate_op(
    name: Annotated[str, typer.Argument(help="The Application's name.")],
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Terminate the running operation (its running hooks are stopped), as `argocd app terminate-op`."""

    async def body(kube: Kube) -> str:
        for _ in range(10):
            app = await app_or_exit(kube, name)
            state = apps.operation_state(app)
            if state is not None and not state.completed:
                ops: list[dict[str, Any]] = [
                    {"op": "replace", "path": "/status/operationState/phase", "value": "Terminating"}
                ]
                message = f"Application '{name}' operation terminating"
            elif app.get("operation"):  # requested but not started: withdraw the request
                ops = [{"op": "remove", "path": "/operation"}]
                message = f"Application '{name}' operation cancelled before it started"
            else:
                raise Refused("Unable to terminate operation. No operation is in progress")
            try:
                await apps.update_app(kube, name, ops, based_on=app)
                return message
            except Conflict:
                await asyncio.sleep(0.1)
        raise Refused(f"application '{name}' kept changing; try again")

    console.print(run(kubeconfig, context, body), highlight=False)


def register(app_cli: typer.Typer) -> None:
    app_cli.command()(sync)
    app_cli.command()(rollback)
    app_cli.command("terminate-op")(terminate_op)
