"""What runs below an Application's resources: the live tree for ``app get``, and ``app logs``.

The app's resources are ``status.resources`` (what the controller compared). Below them, the
objects the workload controllers made — ReplicaSets and Pods under a Deployment, Jobs and Pods
under a CronJob, Pods under a Job, StatefulSet or DaemonSet — are found by their
``ownerReferences`` in the destination cluster. ``app logs`` prints the logs of the Pods found
that way (filtered like ``argocd app logs``: ``--group``, ``--kind``, ``--name``, ``--namespace``,
``--container``), with the values of the Secrets each Pod reads masked as ``++++++++``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Final

import typer

from tiphys import engine
from tiphys.controller.hooklogs import mask, pod_secrets
from tiphys.kube import Kube, KubeError
from tiphys.kube.writes import pod_log

from .app_common import ContextOpt, KubeconfigOpt, app_or_exit, console, run
from .app_spec import Refused
from .app_view import ChildNode, ChildObjects
from .cluster import destination_kube

__all__ = ["children_of", "register"]

_CHILD_KINDS: Final = (("apps/v1", "ReplicaSet"), ("batch/v1", "Job"), ("v1", "Pod"))
_OWNERS: Final = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob"}
_TREE_WAIT: Final = 10.0  # seconds `app get` spends at most on the live tree
_DEPTH: Final = 3

Key = tuple[str, str, str]  # (kind, namespace, name)


def _resources(app: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [r for r in (app.get("status") or {}).get("resources") or [] if isinstance(r, Mapping)]


async def _owned(kube: Kube, namespaces: Iterable[str]) -> dict[Key, list[dict[str, Any]]]:
    """The ReplicaSets, Jobs and Pods of ``namespaces``, by the (kind, namespace, name) of their owner."""
    index: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for namespace in sorted(set(namespaces)):
        for api_version, kind in _CHILD_KINDS:
            try:
                found = await kube.list(api_version, kind, namespace=namespace)
            except KubeError:
                continue
            for obj in found.items:
                for owner in (obj.get("metadata") or {}).get("ownerReferences") or []:
                    index[(str(owner.get("kind")), namespace, str(owner.get("name")))].append({**obj, "kind": kind})
    return index


def _node(obj: Mapping[str, Any], index: Mapping[Key, list[dict[str, Any]]], depth: int) -> ChildNode:
    meta = obj.get("metadata") or {}
    health = engine.assess(obj)
    node = ChildNode(
        str(obj.get("kind")),
        str(meta.get("name")),
        health.status.value if health is not None else "",
        health.message if health is not None else "",
    )
    if depth < _DEPTH:
        key = (str(obj.get("kind")), str(meta.get("namespace", "")), str(meta.get("name")))
        node.children = [_node(child, index, depth + 1) for child in _sorted(index.get(key, []))]
    return node


def _sorted(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(objs, key=lambda o: str((o.get("metadata") or {}).get("name")))


async def _tree(home: Kube, app: Mapping[str, Any]) -> ChildObjects:
    parents = [r for r in _resources(app) if r.get("kind") in _OWNERS and r.get("namespace")]
    if not parents:
        return {}
    dest, owned = await destination_kube(home, (app.get("spec") or {}).get("destination") or {})
    try:
        index = await _owned(dest, (str(r["namespace"]) for r in parents))
    finally:
        if owned:
            await dest.close()
    tree: dict[tuple[str, str, str, str], list[ChildNode]] = {}
    for res in parents:
        key = (str(res.get("kind")), str(res.get("namespace")), str(res.get("name")))
        children = [_node(child, index, 1) for child in _sorted(index.get(key, []))]
        if children:
            tree[(str(res.get("group", "")), *key)] = children
    return tree


async def children_of(home: Kube, app: Mapping[str, Any]) -> ChildObjects | None:
    """The live objects below the app's resources; None when the destination cannot be read in time."""
    try:
        return await asyncio.wait_for(_tree(home, app), _TREE_WAIT)
    except (TimeoutError, KubeError, Refused):
        return None


def _pods_below(obj_key: Key, index: Mapping[Key, list[dict[str, Any]]], depth: int = 0) -> list[dict[str, Any]]:
    pods: list[dict[str, Any]] = []
    for child in index.get(obj_key, []):
        if child.get("kind") == "Pod":
            pods.append(child)
        elif depth < _DEPTH:
            meta = child.get("metadata") or {}
            pods += _pods_below((str(child.get("kind")), obj_key[1], str(meta.get("name"))), index, depth + 1)
    return pods


def logs(
    name: Annotated[str, typer.Argument(help="The Application's name.")],
    group: Annotated[str | None, typer.Option("--group", help="Only resources of this API group.")] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only resources of this kind (Deployment, Job, Pod…).")
    ] = None,
    resource_name: Annotated[str | None, typer.Option("--name", help="Only the resource of this name.")] = None,
    namespace: Annotated[str | None, typer.Option("--namespace", help="Only resources in this namespace.")] = None,
    container: Annotated[str | None, typer.Option("-c", "--container", help="Only this container.")] = None,
    tail: Annotated[int | None, typer.Option("--tail", help="The last N lines of each container.")] = None,
    filter_text: Annotated[str | None, typer.Option("--filter", help="Only lines containing this text.")] = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Print the logs of the Application's pods (Secrets masked)."""

    def wanted(res: Mapping[str, Any]) -> bool:
        return (
            (group is None or str(res.get("group", "")) == group)
            and (kind is None or res.get("kind") == kind)
            and (resource_name is None or res.get("name") == resource_name)
            and (namespace is None or res.get("namespace") == namespace)
        )

    async def body(home: Kube) -> list[tuple[str, str]]:
        app = await app_or_exit(home, name)
        selected = [r for r in _resources(app) if wanted(r) and r.get("namespace")]
        dest, owned = await destination_kube(home, (app.get("spec") or {}).get("destination") or {})
        try:
            index = await _owned(dest, (str(r["namespace"]) for r in selected))
            pods: dict[tuple[str, str], dict[str, Any]] = {}
            for res in selected:
                key = (str(res.get("kind")), str(res.get("namespace")), str(res.get("name")))
                if res.get("kind") == "Pod" and not res.get("group"):
                    try:
                        found = [await dest.get("v1", "Pod", key[2], namespace=key[1])]
                    except KubeError:
                        found = []
                else:
                    found = _pods_below(key, index)
                for pod in found:
                    meta = pod.get("metadata") or {}
                    pods[(str(meta.get("namespace")), str(meta.get("name")))] = pod
            return await _collect(dest, sorted(pods.items()))
        finally:
            if owned:
                await dest.close()

    async def _collect(dest: Kube, pods: list[tuple[tuple[str, str], dict[str, Any]]]) -> list[tuple[str, str]]:
        streams: list[tuple[str, str]] = []
        for (pod_namespace, pod_name), pod in pods:
            secrets = await pod_secrets(dest, pod_namespace, pod)
            names = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
            for container_name in [c for c in names if container is None or c == container]:
                try:
                    text = await pod_log(
                        dest, pod_name, namespace=pod_namespace, container=container_name, tail_lines=tail
                    )
                except KubeError as e:
                    text = f"(no log: {e})\n"
                streams.append((f"{pod_name}/{container_name}", mask(text, secrets)))
        return streams

    streams = run(kubeconfig, context, body)
    if not streams:
        raise typer.Exit(_no_pods(name))
    prefix = len(streams) > 1
    for label, text in streams:
        for line in text.splitlines():
            if filter_text is None or filter_text in line:
                typer.echo(f"{label}: {line}" if prefix else line)


def _no_pods(name: str) -> int:
    console.print(f"no pods found for application '{name}' (with these filters)", highlight=False)
    return 1


def register(app_cli: typer.Typer) -> None:
    app_cli.command()(logs)
