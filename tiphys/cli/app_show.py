"""``tiphys app get``, ``list``, ``history`` and ``diff``: Applications as they are, and how they differ from Git.

``get --refresh`` asks the controller for a refresh with Argo CD's annotation and waits until the
controller has removed it; the text views are built by ``app_view`` (and ``app_logs`` for the live
tree below the app's resources); ``diff`` renders the app's source and compares it with its
destination through ``controller.differ``, as ``tiphys diff`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, Final

import typer

from tiphys import sources
from tiphys.controller import application as apps
from tiphys.controller.differ import diff_app
from tiphys.controller.syncer import InvalidInput, SyncRequest
from tiphys.kube import Kube, NotFound, UnknownKind

from . import app_logs, app_spec, app_view, views
from .app_common import (
    ContextOpt,
    KubeconfigOpt,
    OutputOpt,
    app_or_exit,
    check_output,
    console,
    err,
    fail,
    poll,
    print_data,
    run,
)
from .app_spec import Refused
from .cluster import destination_kube

__all__ = ["register", "request_of"]

REFRESH_WAIT: Final = 60.0  # seconds `get --refresh` waits for the controller to pick the request up


def request_of(app: Mapping[str, Any], *, revision: str = "") -> SyncRequest:
    """What a sync of ``app`` would render and compare (for ``app diff``)."""
    spec = app.get("spec") or {}
    source_json = dict(spec.get("source") or {})
    if revision:
        source_json["targetRevision"] = revision
    if not source_json.get("repoURL"):
        raise Refused(f"application '{app['metadata']['name']}' has no spec.source.repoURL")
    return SyncRequest(
        app=str(app["metadata"]["name"]),
        source=sources.SourceSpec.from_dict(source_json),
        source_json=source_json,
        namespace=str((spec.get("destination") or {}).get("namespace") or "default"),
        sync_options=tuple((spec.get("syncPolicy") or {}).get("syncOptions") or ()),
    )


def get(
    name: Annotated[str, typer.Argument(help="The Application's name.")],
    refresh: Annotated[bool, typer.Option("--refresh", help="Refresh from Git first (and wait for it).")] = False,
    hard_refresh: Annotated[bool, typer.Option("--hard-refresh", help="Refresh, regenerating manifests.")] = False,
    output: OutputOpt = "text",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Show an Application: summary, resource tree with sync and health, the last operation's hooks."""
    check_output(output)

    async def body(kube: Kube) -> tuple[dict[str, Any], app_view.ChildObjects | None]:
        app = await app_or_exit(kube, name)
        if refresh or hard_refresh:
            app = await _refresh(kube, name, "hard" if hard_refresh else "normal")
        children = None
        if output in ("text", "wide"):
            children = await app_logs.children_of(kube, app)
        return app, children

    app, children = run(kubeconfig, context, body)
    if output in ("json", "yaml"):
        print_data(app, output)
    else:
        console.print(app_view.app_view(app, children))


async def _refresh(kube: Kube, name: str, kind: str) -> dict[str, Any]:
    """Ask for a refresh (Argo CD's annotation) and wait until the controller has done it."""
    patch = {"metadata": {"annotations": {app_spec.REFRESH_ANNOTATION: kind}}}
    await kube.patch(apps.API_VERSION, apps.KIND, name, patch, namespace=apps.APP_NAMESPACE)

    def refreshed(app: Any) -> bool:
        annotations = ((app or {}).get("metadata") or {}).get("annotations") or {}
        return app is None or app_spec.REFRESH_ANNOTATION not in annotations

    try:
        app = await poll(kube, name, refreshed, timeout=timedelta(seconds=REFRESH_WAIT), interval=0.25)
    except TimeoutError:
        err.print(
            f"warning: no controller refreshed '{name}' within {REFRESH_WAIT:.0f}s; is `tiphys controller` running?"
        )
        return await app_or_exit(kube, name)
    if app is None:
        raise Refused(f"application '{name}' was deleted")
    return dict(app)


def list_apps(
    output: OutputOpt = "text",
    selector: Annotated[str | None, typer.Option("-l", "--selector", help="Labels: KEY=VALUE[,KEY=VALUE].")] = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """List Applications with their sync and health status."""
    check_output(output)
    try:
        labels = app_spec.labels_of(selector.split(",")) if selector else None
    except app_spec.SpecError as e:
        raise fail(f"-l {selector!r}: {e}") from e

    async def body(kube: Kube) -> list[dict[str, Any]]:
        try:
            found = await kube.list(apps.API_VERSION, apps.KIND, namespace=apps.APP_NAMESPACE, labels=labels)
        except (NotFound, UnknownKind):
            return []
        return sorted(found.items, key=lambda a: str(a["metadata"]["name"]))

    items = run(kubeconfig, context, body)
    if output in ("json", "yaml"):
        print_data(items, output)
    else:
        console.print(app_view.list_table(items, wide=output == "wide"))


def diff(
    name: Annotated[str, typer.Argument(help="The Application's name.")],
    revision: Annotated[str, typer.Option("--revision", help="Compare with this revision instead.")] = "",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Show how the live objects differ from Git (Secrets masked); exit 1 when they do."""

    async def body(kube: Kube) -> bool:
        app = await app_or_exit(kube, name)
        request = request_of(app, revision=revision)
        dest, owned = await destination_kube(kube, (app.get("spec") or {}).get("destination") or {})
        try:
            found = await diff_app(dest, request)
        finally:
            if owned:
                await dest.close()
        return views.print_diff(found, console)

    try:
        different = run(kubeconfig, context, body)
    except InvalidInput as e:
        views.print_invalid(e.problems, err)
        raise typer.Exit(2) from e
    raise typer.Exit(1 if different else 0)


def history(
    name: Annotated[str, typer.Argument(help="The Application's name.")],
    output: OutputOpt = "text",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """List the deployments of an Application (the ids `tiphys app rollback` takes)."""
    check_output(output)
    app = run(kubeconfig, context, lambda kube: app_or_exit(kube, name))
    if output in ("json", "yaml"):
        print_data((app.get("status") or {}).get("history") or [], output)
    else:
        console.print(app_view.history_table(app))


def register(app_cli: typer.Typer) -> None:
    app_cli.command()(get)
    app_cli.command("list")(list_apps)
    app_cli.command()(history)
    app_cli.command()(diff)
