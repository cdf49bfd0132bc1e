"""``tiphys workflow``: submit, get, logs, list, delete and retry Workflows, like the ``argo`` CLI.

Exit codes: 0 success (with ``--wait``: the Workflow Succeeded); 1 the Workflow Failed or
Errored, or the cluster refused (not found, unreachable); 2 bad input (a file that is no
Workflow, a bad ``-p``, a spec that fails validation) — and then nothing was created. Output for
scripts (``-o json``) goes to stdout alone; messages go to stderr. Without ``--kubeconfig`` the
embedded cluster is used, as for ``tiphys sync``; ``-n`` picks the namespace (default: the
context's). The connection is made by the function ``register`` is given, so this module never
touches the embedded cluster's code itself.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final

import typer
import yaml
from rich.console import Console

from tiphys.kube import Kube, KubeError, NotFound
from tiphys.kube.writes import pod_log

from .reconcile import validate
from .runtime import actions, crd, views
from .runtime.retry import RetryError
from .runtime.runner import WORKFLOW_LABEL
from .runtime.tree import node_rows

__all__ = ["register"]

Connect = Callable[[Path | None, str | None], Kube]

console = Console()
err = Console(stderr=True)
_OUTPUTS: Final = ("text", "json", "yaml", "name")

NameArgument = Annotated[str, typer.Argument(help="The Workflow's name.")]
KubeconfigOption = Annotated[Path | None, typer.Option("--kubeconfig", help="The cluster (default: embedded).")]
ContextOption = Annotated[str | None, typer.Option("--context", help="Context of the kubeconfig.")]
NamespaceOption = Annotated[str | None, typer.Option("-n", "--namespace", help="Namespace (default: the context's).")]
OutputOption = Annotated[str, typer.Option("-o", "--output", help="text, json, yaml or name")]
WaitOption = Annotated[bool, typer.Option("--wait", "-w", help="Wait until it finishes; exit 1 unless it Succeeded.")]
ParameterOption = Annotated[list[str] | None, typer.Option("-p", "--parameter", help="NAME=VALUE, repeatable.")]


class _Bad(Exception):
    """Bad input: exit 2, nothing changed."""


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"error: {message}", highlight=False, markup=False)
    return typer.Exit(code)


def _now() -> datetime:
    return datetime.now(UTC)


# -- reading and preparing what is submitted --------------------------------------------------------


def _documents(path: str) -> list[dict[str, Any]]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as e:
        raise _Bad(f"cannot read {path}: {e.strerror or e}") from None
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        raise _Bad(f"{path}: not valid YAML: {e}") from None
    if not docs:
        raise _Bad(f"{path}: no Workflow in the file")
    for index, doc in enumerate(docs, 1):
        where = f"{path}: document {index}" if len(docs) > 1 else path
        if not isinstance(doc, dict):
            raise _Bad(f"{where}: not an object")
        if doc.get("kind") != crd.KIND or doc.get("apiVersion") != crd.API_VERSION:
            raise _Bad(
                f"{where}: kind {doc.get('kind')!r} in {doc.get('apiVersion')!r} is not a Workflow "
                f"({crd.API_VERSION} Workflow)"
            )
        meta = doc.get("metadata")
        if not isinstance(meta, dict) or not (meta.get("name") or meta.get("generateName")):
            raise _Bad(f"{where}: metadata.name or metadata.generateName is required")
    return docs


def _parameters(values: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name.strip():
            raise _Bad(f"-p {value!r} is not NAME=VALUE")
        pairs.append((name.strip(), setting))
    return pairs


def _with_parameters(workflow: dict[str, Any], pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``argo submit -p``: replace the value of a declared global parameter, or add it."""
    if not pairs:
        return workflow
    spec = dict(workflow.get("spec") or {})
    arguments = dict(spec.get("arguments") or {})
    params = [dict(p) for p in arguments.get("parameters") or []]
    for name, value in pairs:
        for param in params:
            if param.get("name") == name:
                param["value"] = value
                param.pop("valueFrom", None)
                break
        else:
            params.append({"name": name, "value": value})
    arguments["parameters"] = params
    spec["arguments"] = arguments
    return {**workflow, "spec": spec}


def _check_output(output: str) -> None:
    if output not in _OUTPUTS:
        raise _fail(f"-o {output!r}: choose text, json, yaml or name", 2)


def _print_objects(objs: list[dict[str, Any]], output: str) -> None:
    if output == "json":
        typer.echo(json.dumps(objs[0] if len(objs) == 1 else objs, indent=2))
    elif output == "yaml":
        typer.echo(yaml.safe_dump_all(objs, sort_keys=False), nl=False)
    elif output == "name":
        for obj in objs:
            typer.echo(obj["metadata"]["name"])


# -- showing one Workflow ---------------------------------------------------------------------------


def _show(workflow: Mapping[str, Any]) -> None:
    typer.echo(views.summary_text(workflow, _now()))
    if (workflow.get("status") or {}).get("nodes"):
        typer.echo()
        typer.echo(views.tree_text(workflow, _now()))


def _emit(workflows: list[dict[str, Any]], output: str) -> None:
    """Workflows as ``-o`` asks: the summary and node tree of each for text, else the objects."""
    if output == "text":
        for workflow in workflows:
            _show(workflow)
    else:
        _print_objects(workflows, output)


def _exit_code(workflow: Mapping[str, Any]) -> int:
    return 0 if (workflow.get("status") or {}).get("phase") == "Succeeded" else 1


# -- talking to the cluster -------------------------------------------------------------------------


def _namespace_of(kube: Kube, namespace: str | None) -> str:
    return namespace or kube.namespace


def _run(
    connect: Connect,
    kubeconfig: Path | None,
    context: str | None,
    work: Callable[[Kube], Any],
    *,
    needs_crd: bool = True,
) -> Any:
    async def main() -> Any:
        async with connect(kubeconfig, context) as kube:
            if needs_crd:  # a clear error when the Workflow CRD is not installed
                await actions.require_crd(kube)
            return await work(kube)

    try:
        return asyncio.run(main())
    except (_Bad, ValueError) as e:
        raise _fail(str(e), 2) from e
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except NotFound as e:
        raise _fail(str(e.status.message or e), 1) from e
    except KubeError as e:
        raise _fail(str(e), 1) from e


def _run_one(
    connect: Connect, kubeconfig: Path | None, context: str | None, output: str, work: Callable[[Kube], Any]
) -> dict[str, Any]:
    """A command on one Workflow: ``-o`` checked before connecting, ``work``'s Workflow printed as it asks."""
    _check_output(output)
    workflow: dict[str, Any] = _run(connect, kubeconfig, context, work)
    _emit([workflow], output)
    return workflow


# -- the commands -----------------------------------------------------------------------------------


def _submit(connect: Connect) -> Callable[..., None]:
    def submit(
        file: Annotated[str, typer.Argument(help="A Workflow manifest (YAML or JSON; '-' for stdin).")],
        wait: WaitOption = False,
        parameter: ParameterOption = None,
        output: OutputOption = "text",
        namespace: NamespaceOption = None,
        kubeconfig: KubeconfigOption = None,
        context: ContextOption = None,
    ) -> None:
        """Submit a Workflow (validated first: an invalid spec is refused and nothing is created)."""
        _check_output(output)
        try:
            pairs = _parameters(parameter or [])
            workflows = [_with_parameters(doc, pairs) for doc in _documents(file)]
        except _Bad as e:
            raise _fail(str(e), 2) from e
        problems = [f"{_label(wf)}: {p}" if len(workflows) > 1 else p for wf in workflows for p in validate(wf)]
        if problems:
            for problem in problems:
                err.print(f"invalid: {problem}", highlight=False, markup=False)
            raise typer.Exit(2)

        async def work(kube: Kube) -> list[dict[str, Any]]:
            created = [
                await kube.create(wf, namespace=namespace or (wf.get("metadata") or {}).get("namespace") or None)
                for wf in workflows
            ]
            if output == "text":
                for wf in created:
                    err.print(f"Workflow {wf['metadata']['name']!r} submitted", highlight=False, markup=False)
            if not wait:
                return created
            return [await actions.wait(kube, wf["metadata"]["namespace"], wf["metadata"]["name"]) for wf in created]

        final = _run(connect, kubeconfig, context, work)
        _emit(final, output)
        raise typer.Exit(max(_exit_code(wf) for wf in final) if wait else 0)

    return submit


def _label(workflow: Mapping[str, Any]) -> str:
    meta = workflow.get("metadata") or {}
    return str(meta.get("name") or meta.get("generateName") or "")


def _get(connect: Connect) -> Callable[..., None]:
    def get(
        name: NameArgument,
        output: OutputOption = "text",
        namespace: NamespaceOption = None,
        kubeconfig: KubeconfigOption = None,
        context: ContextOption = None,
    ) -> None:
        """Show a Workflow: its status and the tree of its nodes with phases and durations."""

        async def work(kube: Kube) -> dict[str, Any]:
            return await kube.get(crd.API_VERSION, crd.KIND, name, namespace=_namespace_of(kube, namespace))

        _run_one(connect, kubeconfig, context, output, work)

    return get


def _list(connect: Connect) -> Callable[..., None]:
    def list_(
        all_namespaces: Annotated[bool, typer.Option("-A", "--all-namespaces", help="Every namespace.")] = False,
        output: OutputOption = "text",
        namespace: NamespaceOption = None,
        kubeconfig: KubeconfigOption = None,
        context: ContextOption = None,
    ) -> None:
        """List Workflows, newest first: name, status, age, duration, progress and message."""
        _check_output(output)

        async def work(kube: Kube) -> list[dict[str, Any]]:
            found = await kube.list(
                crd.API_VERSION, crd.KIND, namespace=_namespace_of(kube, namespace), all_namespaces=all_namespaces
            )
            return found.items

        items = sorted(
            _run(connect, kubeconfig, context, work),
            key=lambda w: str((w.get("metadata") or {}).get("creationTimestamp") or ""),
            reverse=True,
        )
        if output == "json":
            typer.echo(json.dumps(items, indent=2))
            return
        if output != "text":
            _print_objects(items, output)
            return
        typer.echo(views.list_text(items, _now(), namespaces=all_namespaces))

    return list_


def _logs(connect: Connect) -> Callable[..., None]:
    def logs(
        name: NameArgument,
        pod: Annotated[str | None, typer.Argument(help="Only this pod.")] = None,
        namespace: NamespaceOption = None,
        kubeconfig: KubeconfigOption = None,
        context: ContextOption = None,
    ) -> None:
        """Print the main container's output of every pod of a Workflow, each line prefixed by its pod."""

        async def work(kube: Kube) -> list[tuple[str, str]]:
            ns = _namespace_of(kube, namespace)
            found = await kube.list("v1", "Pod", namespace=ns, labels={WORKFLOW_LABEL: name})
            try:
                workflow = await kube.get(crd.API_VERSION, crd.KIND, name, namespace=ns)
            except KubeError:
                workflow = {}
            # In the order of the node tree (timestamps have one-second precision).
            rank = {str(row.node.get("id")): index for index, row in enumerate(node_rows(workflow))}

            def order(pod: Mapping[str, Any]) -> tuple[int, str]:
                meta = pod.get("metadata") or {}
                node_id = (meta.get("annotations") or {}).get("workflows.argoproj.io/node-id")
                return rank.get(str(node_id), len(rank)), str(meta.get("creationTimestamp") or "")

            pods = sorted(found.items, key=order)
            names = [str(p["metadata"]["name"]) for p in pods if pod is None or p["metadata"]["name"] == pod]
            if pod is not None and not names:
                raise _Bad(f"Workflow {name!r} has no pod {pod!r}")
            return [(n, await pod_log(kube, n, namespace=ns, container="main")) for n in names]

        for pod_name, text in _run(connect, kubeconfig, context, work, needs_crd=False):
            for line in text.splitlines():
                typer.echo(f"{pod_name}: {line}")

    return logs


def _delete(connect: Connect) -> Callable[..., None]:
    def delete(
        name: NameArgument,
        namespace: NamespaceOption = None,
        kubeconfig: KubeconfigOption = None,
        context: ContextOption = None,
    ) -> None:
        """Delete a Workflow; its pods go with it (they are owned by it)."""

        async def work(kube: Kube) -> None:
            await kube.delete(crd.API_VERSION, crd.KIND, name, namespace=_namespace_of(kube, namespace))

        _run(connect, kubeconfig, context, work)
        console.print(f"Workflow '{name}' deleted", highlight=False, markup=False)

    return delete


def _retry_command(connect: Connect) -> Callable[..., None]:
    def retry(
        name: NameArgument,
        wait: WaitOption = False,
        output: OutputOption = "text",
        namespace: NamespaceOption = None,
        kubeconfig: KubeconfigOption = None,
        context: ContextOption = None,
    ) -> None:
        """Retry a Failed or Errored Workflow: only its failed nodes (and what follows them) run again."""

        async def work(kube: Kube) -> dict[str, Any]:
            ns = _namespace_of(kube, namespace)
            try:
                written = await actions.retry(kube, ns, name)
            except RetryError as e:
                raise _Bad(str(e)) from e
            if output == "text":
                err.print(f"Workflow '{name}' retried", highlight=False, markup=False)
            if wait:
                return await actions.wait(kube, ns, name)
            return written

        workflow = _run_one(connect, kubeconfig, context, output, work)
        raise typer.Exit(_exit_code(workflow) if wait else 0)

    return retry


def register(app: typer.Typer, connect: Connect) -> None:
    """Add ``workflow`` (alias ``wf``) to ``app``; ``connect(kubeconfig, context)`` makes the client."""
    group = typer.Typer(help="Argo Workflows-compatible Workflows: submit, watch, retry.", no_args_is_help=True)
    group.command("submit")(_submit(connect))
    group.command("get")(_get(connect))
    group.command("list")(_list(connect))
    group.command("logs")(_logs(connect))
    group.command("delete")(_delete(connect))
    group.command("retry")(_retry_command(connect))
    app.add_typer(group, name="workflow")
