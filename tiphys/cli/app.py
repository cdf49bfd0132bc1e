"""``tiphys app ...``: Applications from the command line, as ``argocd app`` manages them.

Every command reads or writes the Application objects in namespace ``tiphys`` of the home cluster
(the embedded one unless ``--kubeconfig``/``--context`` name another); the controller does the
rest. Here: ``create``/``set``/``patch`` write the spec, ``delete --cascade`` leaves the deletion
of the resources to the controller through Argo CD's resources finalizer. ``app_show`` reads
(``get``, ``list``, ``history``, ``diff``), ``app_ops`` asks for operations (``sync``,
``rollback``, ``terminate-op``), ``app_wait`` waits, ``app_logs`` prints logs. Exit codes: see
``app_common``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer

from tiphys.controller import application as apps
from tiphys.kube import Conflict, Kube, NotFound, PatchType

from . import app_logs, app_ops, app_requests, app_show, app_spec, app_wait
from .app_common import (
    ContextOpt,
    KubeconfigOpt,
    app_or_exit,
    console,
    fail,
    parse_timeout,
    poll,
    run,
)
from .app_spec import Refused, SpecError

__all__ = ["app_cli", "register"]

app_cli = typer.Typer(name="app", help="Manage Applications (like `argocd app`).", no_args_is_help=True)

SyncPolicyOpt = Annotated[str | None, typer.Option("--sync-policy", help="automated or none")]
AutoPruneOpt = Annotated[
    bool | None, typer.Option("--auto-prune/--no-auto-prune", help="Automated sync prunes (needs automated).")
]
SelfHealOpt = Annotated[
    bool | None, typer.Option("--self-heal/--no-self-heal", help="Automated sync reverts drift (needs automated).")
]
SyncOptionOpt = Annotated[list[str] | None, typer.Option("--sync-option", help="KEY=VALUE, repeatable.")]


def _spec_error(body: Any) -> Any:
    try:
        return body()
    except SpecError as e:
        raise fail(str(e)) from e


@app_cli.command()
def create(
    name: Annotated[str | None, typer.Argument(help="The Application's name (with -f: overrides the file's).")] = None,
    file: Annotated[
        Path | None, typer.Option("-f", "--file", help="An Application manifest (tiphys or argoproj).")
    ] = None,
    repo: Annotated[str | None, typer.Option("--repo", help="Git repository URL (or a local directory).")] = None,
    path: Annotated[str | None, typer.Option("--path", help="The application's directory in the repository.")] = None,
    revision: Annotated[str, typer.Option("--revision", help="Branch, tag or commit (default HEAD).")] = "",
    dest_server: Annotated[str | None, typer.Option("--dest-server", help="Destination cluster URL.")] = None,
    dest_name: Annotated[str | None, typer.Option("--dest-name", help="Destination cluster name.")] = None,
    dest_namespace: Annotated[str | None, typer.Option("--dest-namespace", help="Destination namespace.")] = None,
    sync_policy: SyncPolicyOpt = None,
    auto_prune: AutoPruneOpt = None,
    self_heal: SelfHealOpt = None,
    sync_option: SyncOptionOpt = None,
    project: Annotated[str, typer.Option("--project", help="Argo CD project name (recorded).")] = "default",
    label: Annotated[list[str] | None, typer.Option("--label", help="KEY=VALUE label, repeatable.")] = None,
    directory_recurse: Annotated[
        bool, typer.Option("--directory-recurse", help="Read the directory's subdirectories too.")
    ] = False,
    values: Annotated[list[str] | None, typer.Option("--values", help="Helm values file, repeatable.")] = None,
    helm_set: Annotated[list[str] | None, typer.Option("--helm-set", help="Helm NAME=VALUE, repeatable.")] = None,
    release_name: Annotated[str, typer.Option("--release-name", help="Helm release name.")] = "",
    upsert: Annotated[bool, typer.Option("--upsert", help="Replace the spec of an existing app.")] = False,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Create an Application from flags, or from a manifest with -f."""
    if file is not None:
        flags = (repo, path, revision, dest_server, dest_name, dest_namespace, sync_policy, sync_option, label)
        if any(flags) or directory_recurse or values or helm_set or release_name:
            raise fail("-f takes the Application from the file: give no --repo, --path, --dest-* or policy flags")
        try:
            text = file.read_text() if str(file) != "-" else typer.get_text_stream("stdin").read()
        except OSError as e:
            raise fail(f"{file} cannot be read: {e.strerror}") from e
        manifests = _spec_error(lambda: app_spec.from_manifests(text, str(file), name=name))
    else:
        if name is None:
            raise fail("NAME is required (or -f FILE)")
        if repo is None or path is None:
            raise fail("--repo and --path are required (or -f FILE)")
        manifests = [
            _spec_error(
                lambda: app_spec.application(
                    name,
                    repo=repo,
                    path=path,
                    revision=revision,
                    dest_server=dest_server,
                    dest_name=dest_name,
                    dest_namespace=dest_namespace or "",
                    sync_policy=sync_policy,
                    auto_prune=auto_prune,
                    self_heal=self_heal,
                    sync_options=sync_option or [],
                    project=project,
                    source_flags=app_spec.SourceFlags(
                        directory_recurse, tuple(values or ()), tuple(helm_set or ()), release_name
                    ),
                    labels=label or [],
                )
            )
        ]

    async def body(kube: Kube) -> None:
        await apps.ensure_crd(kube)
        for manifest in manifests:
            await _create_one(kube, manifest, upsert=upsert)

    run(kubeconfig, context, body)


async def _create_one(kube: Kube, manifest: dict[str, Any], *, upsert: bool) -> None:
    name = manifest["metadata"]["name"]
    existing = await apps.get_application(kube, name)
    if existing is None:
        await kube.create(manifest)
        console.print(f"application '{name}' created", highlight=False)
        return
    if existing.get("spec") == manifest["spec"]:
        console.print(f"application '{name}' unchanged", highlight=False)
        return
    if not upsert:
        raise Refused(f"existing application '{name}' spec is different, use --upsert to force update")
    ops = [{"op": "replace", "path": "/spec", "value": manifest["spec"]}]
    await apps.update_app(kube, name, ops, based_on=existing)
    console.print(f"application '{name}' updated", highlight=False)


@app_cli.command("set")
def set_app(
    name: Annotated[str, typer.Argument(help="The Application's name.")],
    sync_policy: SyncPolicyOpt = None,
    auto_prune: AutoPruneOpt = None,
    self_heal: SelfHealOpt = None,
    repo: Annotated[str | None, typer.Option("--repo")] = None,
    path: Annotated[str | None, typer.Option("--path")] = None,
    revision: Annotated[str | None, typer.Option("--revision")] = None,
    dest_server: Annotated[str | None, typer.Option("--dest-server")] = None,
    dest_name: Annotated[str | None, typer.Option("--dest-name")] = None,
    dest_namespace: Annotated[str | None, typer.Option("--dest-namespace")] = None,
    sync_option: SyncOptionOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Change an Application's sync policy, source or destination."""
    if (
        not any(
            v is not None
            for v in (sync_policy, auto_prune, self_heal, repo, path, revision, dest_server, dest_name, dest_namespace)
        )
        and not sync_option
    ):
        raise fail("nothing to set: name at least one option (see `tiphys app set --help`)")

    async def body(kube: Kube) -> None:
        app = await app_or_exit(kube, name)
        patch = app_spec.set_changes(
            app,
            sync_policy=sync_policy,
            auto_prune=auto_prune,
            self_heal=self_heal,
            repo=repo,
            path=path,
            revision=revision,
            dest_server=dest_server,
            dest_name=dest_name,
            dest_namespace=dest_namespace,
            sync_options=sync_option or [],
        )
        await kube.patch(apps.API_VERSION, apps.KIND, name, patch, namespace=apps.APP_NAMESPACE)
        console.print(f"application '{name}' updated", highlight=False)

    run(kubeconfig, context, body)


@app_cli.command()
def patch(
    name: Annotated[str, typer.Argument(help="The Application's name.")],
    patch_text: Annotated[str, typer.Option("--patch", help="The patch, as JSON.")],
    patch_type: Annotated[
        str | None, typer.Option("--type", help="merge or json (default: json for a list, merge for an object)")
    ] = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Patch an Application with a JSON merge patch or a JSON patch."""
    document, chosen = _spec_error(lambda: app_requests.parse_patch(patch_text, patch_type))

    async def body(kube: Kube) -> None:
        await app_or_exit(kube, name)
        kind = PatchType.JSON if chosen == "json" else PatchType.MERGE
        await kube.patch(apps.API_VERSION, apps.KIND, name, document, namespace=apps.APP_NAMESPACE, patch_type=kind)
        console.print(f"application '{name}' patched", highlight=False)

    run(kubeconfig, context, body)


@app_cli.command()
def delete(
    name: Annotated[str, typer.Argument(help="The Application's name.")],
    cascade: Annotated[
        bool, typer.Option("--cascade/--no-cascade", help="Also delete its resources (through the controller).")
    ] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until the Application is gone.")] = False,
    timeout: Annotated[str | None, typer.Option("--timeout", help="With --wait: give up after this.")] = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Delete an Application; with --cascade its resources too (PreDelete/PostDelete hooks run)."""
    limit = parse_timeout(timeout)

    async def body(kube: Kube) -> None:
        for _ in range(10):
            app = await app_or_exit(kube, name)
            finalizers = list((app.get("metadata") or {}).get("finalizers") or [])
            if cascade:
                wanted = (
                    finalizers
                    if any(f in app_spec.RESOURCES_FINALIZERS for f in finalizers)
                    else [
                        *finalizers,
                        app_spec.RESOURCES_FINALIZER,
                    ]
                )
            else:  # Argo CD's --cascade=false: drop the resources finalizer, the resources stay
                wanted = [f for f in finalizers if f not in app_spec.RESOURCES_FINALIZERS]
            if wanted == finalizers:
                break
            try:
                await apps.update_app(
                    kube, name, [{"op": "add", "path": "/metadata/finalizers", "value": wanted}], based_on=app
                )
                break
            except Conflict:
                continue
        else:
            raise Refused(f"application '{name}' kept changing; try again")
        with contextlib.suppress(NotFound):
            await kube.delete(apps.API_VERSION, apps.KIND, name, namespace=apps.APP_NAMESPACE)
        what = "and its resources " if cascade else ""
        console.print(f"application '{name}' {what}deletion requested", highlight=False)
        if wait:
            try:
                await poll(kube, name, lambda a: a is None, timeout=limit)
            except TimeoutError:
                raise Refused(f"application '{name}' still exists after {timeout}") from None
            console.print(f"application '{name}' deleted", highlight=False)

    run(kubeconfig, context, body)


def register(app: typer.Typer) -> None:
    app_show.register(app_cli)
    app_ops.register(app_cli)
    app_wait.register(app_cli)
    app_logs.register(app_cli)
    app.add_typer(app_cli, name="app")
