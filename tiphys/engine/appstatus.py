"""An Application's comparison: per-resource sync status, what needs pruning, and the app's health.

Argo CD's ``CompareAppState`` (controller/state.go) as a pure function of one ``World``: the
desired objects get exactly what a sync gives them (tracking id, destination namespace) through
the same plan a sync builds, each is compared with its live object by the three-way diff, live
objects the app tracks but Git no longer has require pruning, and the health is aggregated as
§12.4. Hooks are listed (``hook: true``, no sync status) but never make an app OutOfSync; an
extraneous object annotated ``argocd.argoproj.io/compare-options: IgnoreExtraneous`` shows
OutOfSync itself without making the app so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from . import health, hooks, objects, tracking
from .annotations import has_option
from .diff import compare
from .health import AppHealth, HealthResult
from .objects import KubeObject
from .operation import Operation, SyncOperation
from .plan import build_plan
from .results import OperationState
from .types import HealthStatus, SyncPhase
from .waves import wave_of
from .world import World

__all__ = ["COMPARE_OPTIONS", "AppComparison", "ResourceStatus", "SyncStatusCode", "compare_app"]

COMPARE_OPTIONS: Final = "argocd.argoproj.io/compare-options"
_IGNORE_EXTRANEOUS: Final = "IgnoreExtraneous"
_EPOCH: Final = datetime(2000, 1, 1, tzinfo=UTC)  # hook names don't matter here: hooks are not compared


class SyncStatusCode(StrEnum):
    """``status.sync.status`` (Argo CD's ``SyncStatusCode``)."""

    SYNCED = "Synced"  # every managed resource matches the target revision
    OUT_OF_SYNC = "OutOfSync"  # something differs, is missing, or would be pruned
    UNKNOWN = "Unknown"  # the comparison could not be made (a ComparisonError condition says why)


@dataclass(frozen=True)
class ResourceStatus:
    """One entry of ``status.resources`` (Argo CD's ``ResourceStatus``); hooks have no sync ``status``."""

    group: str
    version: str
    kind: str
    namespace: str
    name: str
    status: SyncStatusCode | None
    health: HealthStatus | None = None  # None for kinds without health
    health_message: str = ""
    hook: bool = False
    requires_pruning: bool = False
    sync_wave: int = 0

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "group": self.group,
            "version": self.version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
        }
        if self.status is not None:
            entry["status"] = self.status.value
        if self.health is not None:
            entry["health"] = {"status": self.health.value}
            if self.health_message:
                entry["health"]["message"] = self.health_message
        if self.hook:
            entry["hook"] = True
        if self.requires_pruning:
            entry["requiresPruning"] = True
        if self.sync_wave:
            entry["syncWave"] = self.sync_wave  # omitempty, as in Argo CD
        return entry


@dataclass(frozen=True)
class AppComparison:
    status: SyncStatusCode
    resources: tuple[ResourceStatus, ...]  # managed resources, in sync order (no hooks)
    hooks: tuple[ResourceStatus, ...]  # live hooks the app tracks
    health: AppHealth
    pairs: tuple[tuple[KubeObject | None, KubeObject | None], ...]  # (target, live) of each of ``resources``
    invalid: tuple[str, ...] = ()  # why some targets cannot be synced (kinds the server does not serve)


def _entry(
    obj: KubeObject,
    *,
    namespace: str,
    status: SyncStatusCode | None,
    result: HealthResult | None,
    hook: bool = False,
    requires_pruning: bool = False,
) -> ResourceStatus:
    return ResourceStatus(
        group=objects.api_group(obj),
        version=objects.version(obj),
        kind=objects.kind(obj),
        namespace=namespace,
        name=objects.name(obj),
        status=status,
        health=result.status if result is not None else None,
        health_message=result.message if result is not None else "",
        hook=hook,
        requires_pruning=requires_pruning,
        sync_wave=wave_of(obj),
    )


def compare_app(world: World, *, app: Mapping[str, Any] | None = None) -> AppComparison:
    """Compare ``world.desired`` with ``world.live`` as Argo CD's controller does on a refresh."""
    state = OperationState.start(Operation(sync=SyncOperation(revision=world.revision)), now=_EPOCH)
    plan = build_plan(state, world)
    tasks = [t for t in plan.tasks if not t.is_hook and t.phase is SyncPhase.SYNC]
    pairs = tuple((t.target, t.live) for t in tasks)
    aggregated = health.app_health(pairs, app=app, overrides=world.health_overrides)
    code = SyncStatusCode.SYNCED
    resources: list[ResourceStatus] = []
    for task, result in zip(tasks, aggregated.resources, strict=True):
        target, live = task.target, task.live
        obj = live if live is not None else target
        assert obj is not None
        namespace = objects.namespace(obj) if live is not None else task.namespace
        if world.is_namespaced(task.group, task.kind) is False:
            namespace = ""
        prune = target is None and live is not None
        differs = prune or live is None or (target is not None and compare(target, live).modified)
        if differs and not (prune and has_option(obj, COMPARE_OPTIONS, _IGNORE_EXTRANEOUS)):
            code = SyncStatusCode.OUT_OF_SYNC
        status = SyncStatusCode.OUT_OF_SYNC if differs else SyncStatusCode.SYNCED
        resources.append(_entry(obj, namespace=namespace, status=status, result=result, requires_pruning=prune))
    live_hooks = [
        _entry(obj, namespace=objects.namespace(obj), status=None, result=health.assess(obj), hook=True)
        for obj in world.live
        if hooks.is_hook(obj) and tracking.is_tracked_by(obj, world.app)
    ]
    return AppComparison(code, tuple(resources), tuple(live_hooks), aggregated, pairs, plan.invalid)
