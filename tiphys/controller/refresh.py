"""Refresh one Application: resolve, render, compare with the destination, and the status that follows.

``compare(...)`` is Argo CD's ``CompareAppState`` with its I/O: the revision comes from the repo
cache, the live objects from the destination's shared watch cache (the kinds and namespaces of
the desired objects and of the resources recorded before, so objects removed from Git are
found), and the comparison itself is ``engine.appstatus``. Nothing here raises for a broken app:
a bad spec, an unknown cluster, an unreachable repository, a missing path or invalid YAML becomes
a condition (``InvalidSpecError`` / ``ComparisonError``, Argo CD's types) and sync status
``Unknown``. ``status_fields`` turns the comparison into the status fields a refresh owns.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from tiphys import sources
from tiphys.engine import HealthStatus, KubeObject, ResourceKey, objects
from tiphys.engine import appstatus as rules
from tiphys.engine.tracking import TRACKING_ID
from tiphys.kube import KubeError

from ._world import WorldReader
from .clusters import Cluster
from .context import Comparison, RepoCache, SyncStatusCode
from .syncer import SyncRequest

__all__ = [
    "COMPARISON_ERROR",
    "INVALID_SPEC_ERROR",
    "OWNED_CONDITIONS",
    "Refreshed",
    "compare",
    "merge_conditions",
    "status_fields",
]

log = logging.getLogger(__name__)

COMPARISON_ERROR: Final = "ComparisonError"
INVALID_SPEC_ERROR: Final = "InvalidSpecError"
OWNED_CONDITIONS: Final = (COMPARISON_ERROR, INVALID_SPEC_ERROR)
"""Condition types a refresh sets and clears; the others (SyncError…) belong to operations."""

_LOAD_FAILED: Final = (
    "Failed to load target state: failed to generate manifest for source 1 of 1: rpc error: code = Unknown desc = "
)


@dataclass(frozen=True)
class Refreshed:
    comparison: Comparison
    conditions: tuple[tuple[str, str], ...]  # (type, message) of the owned conditions that hold now
    keys: frozenset[ResourceKey]  # what a watch event must touch to make this comparison stale


def _spec(app: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = app.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def destination_namespace(app: Mapping[str, Any]) -> str:
    destination = _spec(app).get("destination")
    namespace = destination.get("namespace") if isinstance(destination, Mapping) else None
    return str(namespace or "default")


def spec_problem(app: Mapping[str, Any]) -> str:
    """Why the spec cannot be compared at all (Argo CD's ``InvalidSpecError`` messages), or ""."""
    spec = _spec(app)
    source = spec.get("source")
    if spec.get("sources"):
        return "multiple sources (spec.sources) are not supported: use spec.source"
    if not isinstance(source, Mapping) or not source.get("repoURL"):
        return "spec.source.repoURL and either spec.source.path, spec.source.chart, or spec.source.ref are required"
    if not isinstance(spec.get("destination"), Mapping):
        return "spec.destination is required"
    try:
        sources.SourceSpec.from_dict(source).explicit_type()
    except sources.SourceError as e:
        return str(e)
    return ""


def _compared_to(app: Mapping[str, Any]) -> dict[str, Any]:
    spec = _spec(app)
    return {"source": dict(spec.get("source") or {}), "destination": dict(spec.get("destination") or {})}


def _failed(app: Mapping[str, Any], revision: str, problem: tuple[str, str]) -> Refreshed:
    comparison = Comparison(
        revision=revision, rendered=None, status=SyncStatusCode.UNKNOWN, error=problem[1], compared_to=_compared_to(app)
    )
    return Refreshed(comparison, (problem,), frozenset())


async def compare(
    app: Mapping[str, Any], *, cluster: Cluster | None, destination_error: str, repos: RepoCache
) -> Refreshed:
    """Compare the Application's target revision with its destination; never raises for a broken app."""
    name = str(app["metadata"]["name"])
    problem = spec_problem(app)
    if problem:
        return _failed(app, "", (INVALID_SPEC_ERROR, problem))
    if cluster is None:
        return _failed(app, "", (INVALID_SPEC_ERROR, destination_error or "the destination cluster is not known"))
    source = dict(_spec(app)["source"])
    namespace = destination_namespace(app)
    spec = sources.SourceSpec.from_dict(source)
    revision = ""
    try:
        if not sources.is_local(spec):
            revision = await repos.resolve(spec.repoURL, spec.targetRevision)
        rendered = await repos.render(source, revision, app_name=name, namespace=namespace)
    except sources.SourceError as e:
        return _failed(app, revision, (COMPARISON_ERROR, _LOAD_FAILED + str(e)))
    except (OSError, TimeoutError, ValueError) as e:  # the environment failed in an unforeseen way
        log.warning("%s: rendering failed: %r", name, e)
        return _failed(app, revision, (COMPARISON_ERROR, _LOAD_FAILED + f"{type(e).__name__}: {e}"))
    request = SyncRequest(app=name, source=spec, source_json=source, namespace=namespace)
    reader = WorldReader(cluster.kube, cluster.cache, request, rendered, rendered.revision, app)
    try:
        await reader.prepare()
        world = await reader.read()
    except KubeError as e:
        return _failed(app, rendered.revision, (COMPARISON_ERROR, f"failed to read the destination cluster: {e}"))
    found = rules.compare_app(replace(world, live=_relevant(world.live, name, rendered.objects, namespace)), app=app)
    conditions: list[tuple[str, str]] = []
    unknown = reader.unknown_kinds()
    if unknown:
        conditions.append((COMPARISON_ERROR, "; ".join(unknown)))
    comparison = Comparison(
        revision=rendered.revision,
        rendered=rendered,
        status=found.status,
        resources=found.resources,
        hooks=found.hooks,
        health=found.health.status,
        health_message=found.health.message,
        error=conditions[0][1] if conditions else "",
        compared_to=_compared_to(app),
        pairs=found.pairs,
    )
    keys = {objects.resource_key(obj) for pair in found.pairs for obj in pair if obj is not None}
    keys |= {ResourceKey(r.group, r.kind, r.namespace, r.name) for r in found.hooks}
    return Refreshed(comparison, tuple(conditions), frozenset(keys))


def _relevant(
    live: Sequence[KubeObject], app: str, desired: Sequence[KubeObject], namespace: str
) -> tuple[KubeObject, ...]:
    """The live objects the comparison can use: those ``app`` tracks, and those named like a desired one.

    The shared cache holds every app's objects, and the plan would scan them all for each app.
    """
    prefix = f"{app}:"
    names = set()
    for obj in desired:
        names.add((objects.kind(obj), objects.namespace(obj) or namespace, objects.name(obj)))
        names.add((objects.kind(obj), "", objects.name(obj)))  # cluster-scoped
    kept = []
    for obj in live:
        metadata = obj.get("metadata") or {}
        tracked = str((metadata.get("annotations") or {}).get(TRACKING_ID, ""))
        if (
            tracked.startswith(prefix)
            or (obj.get("kind"), metadata.get("namespace", ""), metadata.get("name")) in names
        ):
            kept.append(obj)
    return tuple(kept)


def merge_conditions(
    current: Sequence[Mapping[str, Any]], owned: Sequence[tuple[str, str]], *, now: datetime
) -> list[dict[str, Any]]:
    """The conditions after a refresh: others' kept as they are, ours replaced (keeping the time of unchanged ones)."""
    kept = [dict(c) for c in current if isinstance(c, Mapping) and c.get("type") not in OWNED_CONDITIONS]
    before = {(c.get("type"), c.get("message")): c for c in current if isinstance(c, Mapping)}
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    for kind, message in owned:
        previous = before.get((kind, message))
        at = previous.get("lastTransitionTime", stamp) if previous is not None else stamp
        kept.append({"type": kind, "message": message, "lastTransitionTime": at})
    return kept


def _dig(obj: Any, *path: str) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, Mapping) else None
    return obj


def _images(rendered: sources.Rendered | None) -> list[str]:
    """The container images of the desired workloads (Argo CD's ``summary.images``)."""
    found: set[str] = set()
    for obj in rendered.objects if rendered is not None else ():
        pods = [
            _dig(obj, "spec") if objects.kind(obj) == "Pod" else None,
            _dig(obj, "spec", "template", "spec"),
            _dig(obj, "spec", "jobTemplate", "spec", "template", "spec"),
        ]
        for pod in pods:
            for key in ("containers", "initContainers"):
                for container in _dig(pod, key) or ():
                    image = _dig(container, "image")
                    if isinstance(image, str):
                        found.add(image)
    return sorted(found)


def status_fields(app: Mapping[str, Any], refreshed: Refreshed, *, now: datetime) -> dict[str, Any]:
    """The ``status`` fields a refresh writes; resources and health stay as they were when it failed."""
    status = app.get("status") if isinstance(app.get("status"), Mapping) else {}
    assert isinstance(status, Mapping)
    comparison = refreshed.comparison
    sync: dict[str, Any] = {"status": comparison.status.value, "comparedTo": dict(comparison.compared_to)}
    if comparison.revision:
        sync["revision"] = comparison.revision
    fields: dict[str, Any] = {
        "sync": sync,
        "conditions": merge_conditions(status.get("conditions") or [], refreshed.conditions, now=now),
        "reconciledAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if comparison.rendered is not None:
        fields["resources"] = [r.to_json() for r in (*comparison.resources, *comparison.hooks)]
        health: dict[str, Any] = {"status": comparison.health.value}
        if comparison.health_message:
            health["message"] = comparison.health_message
        fields["health"] = health
        fields["sourceType"] = comparison.rendered.source_type.value
        images = _images(comparison.rendered)
        fields["summary"] = {"images": images} if images else {}
    elif not isinstance(status.get("health"), Mapping):
        fields["health"] = {"status": HealthStatus.UNKNOWN.value}
    return fields
