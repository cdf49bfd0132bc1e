"""The order of a sync: one key function, dependency hoisting, and prune waves (spec §3.7, §3.8, §10).

Tasks run by ``task_key`` = (phase rank, wave, kind rank, name), as gitops-engine's
``syncTasks.Less``. Kinds are ranked by Helm's install order; unknown kinds (custom resources)
rank 0, after every known kind. Go's sort is unstable and compares nothing else, so Argo CD
leaves ties unordered; Tiphys breaks them by group then namespace, so no rule depends on it.

After sorting, a Namespace or CRD that comes after the first task needing it moves in front of
that task and takes its phase and wave. Prune tasks reuse the prune waves in reverse, and
PruneLast moves them after the last Sync wave. A step is the set of tasks sharing the first
(phase, wave) of what is left.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Final

from . import objects
from .annotations import SYNC_OPTIONS, has_option
from .objects import KubeObject
from .tasks import SyncTask
from .types import SyncOption, SyncPhase

__all__ = [
    "KIND_ORDER",
    "first_step",
    "is_multi_step",
    "kind_rank",
    "order_prunes",
    "phase_wave",
    "sort_tasks",
    "task_key",
]

KIND_ORDER: Final = (
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
)
"""gitops-engine's ``kindOrder`` (from Helm's ``kind_sorter.go``), compared by kind name only."""

_KIND_RANK: Final = {kind: index - len(KIND_ORDER) for index, kind in enumerate(KIND_ORDER)}
_CRD_GROUP: Final = "apiextensions.k8s.io"


def kind_rank(kind: str) -> int:
    """-35 for Namespace up to -1 for APIService; 0 for any other kind, so those sort last."""
    return _KIND_RANK.get(kind, 0)


def task_key(task: SyncTask) -> tuple[int, int, int, str, str, str]:
    """The sort key: phase, wave, kind rank, name; then group and namespace only to break ties."""
    key = task.key
    return (task.phase.rank, task.wave, kind_rank(key.kind), key.name, key.group, key.namespace)


def phase_wave(task: SyncTask) -> tuple[SyncPhase, int]:
    return task.phase, task.wave


DependencyKey = Callable[[KubeObject], str | None]


def _namespace_provided(obj: KubeObject) -> str | None:
    return objects.name(obj) if objects.kind(obj) == "Namespace" and objects.api_group(obj) == "" else None


def _namespace_needed(obj: KubeObject) -> str | None:
    return objects.namespace(obj) or None


def _crd_provided(obj: KubeObject) -> str | None:
    if objects.kind(obj) != "CustomResourceDefinition" or objects.api_group(obj) != _CRD_GROUP:
        return None
    spec = obj.get("spec")
    names = spec.get("names") if isinstance(spec, Mapping) else None
    group = spec.get("group") if isinstance(spec, Mapping) else None
    kind = names.get("kind") if isinstance(names, Mapping) else None
    return f"{group}/{kind}" if isinstance(group, str) and isinstance(kind, str) else None


def _crd_needed(obj: KubeObject) -> str | None:
    return f"{objects.api_group(obj)}/{objects.kind(obj)}"


def _hoist(tasks: list[SyncTask], provides: DependencyKey, needs: DependencyKey) -> list[SyncTask]:
    """``adjustDeps``: move each dependency in front of its first dependent, in that one's phase and wave."""
    tasks = list(tasks)
    first_dependent: dict[str, int] = {}
    for index in range(len(tasks)):  # moving a task back leaves the one after it at index + 1
        task = tasks[index]
        if task.target is None:
            continue
        provided = provides(task.target)
        if provided is not None:
            at = first_dependent.get(provided)
            if at is not None:
                moved = replace(task, phase=tasks[at].phase, wave_override=tasks[at].wave)
                del tasks[index]
                tasks.insert(at, moved)
                first_dependent = {key: i + 1 if i >= at else i for key, i in first_dependent.items()}
        else:
            needed = needs(task.target)
            if needed is not None:
                first_dependent.setdefault(needed, index)
    return tasks


def sort_tasks(tasks: Iterable[SyncTask]) -> list[SyncTask]:
    """Sort by ``task_key``, then hoist Namespaces before their objects and CRDs before their resources."""
    ordered = sorted(tasks, key=task_key)
    ordered = _hoist(ordered, _namespace_provided, _namespace_needed)
    return _hoist(ordered, _crd_provided, _crd_needed)


def order_prunes(tasks: Sequence[SyncTask], *, prune_last: bool = False) -> list[SyncTask]:
    """Prune waves reversed onto the same wave numbers, then PruneLast prunes after the last Sync wave.

    Prune waves ``[w0 < … < wn-1]`` swap symmetrically (``w0↔wn-1``, ``w1↔wn-2``; the middle one
    stays). A prune is "last" when ``prune_last`` (the app option) is set or its live object has
    ``PruneLast=true``; it moves to ``max(0, highest Sync wave) + 1``, prunes included.
    """
    prune_waves = sorted({task.wave for task in tasks if task.is_prune})
    mirror = dict(zip(prune_waves, reversed(prune_waves), strict=True))
    reordered = [replace(task, wave_override=mirror[task.wave]) if task.is_prune else task for task in tasks]

    last_wave = max([0, *(task.wave for task in reordered if task.phase is SyncPhase.SYNC)]) + 1
    prune_last_option = SyncOption.PRUNE_LAST.option("true")
    return [
        replace(task, wave_override=last_wave)
        if task.is_prune and (prune_last or has_option(task.obj, SYNC_OPTIONS, prune_last_option))
        else task
        for task in reordered
    ]


def is_multi_step(tasks: Sequence[SyncTask]) -> bool:
    """Whether sorted tasks span more than one (phase, wave): only then do resources gate on health."""
    return bool(tasks) and phase_wave(tasks[0]) != phase_wave(tasks[-1])


def first_step(tasks: Sequence[SyncTask]) -> tuple[list[SyncTask], list[SyncTask]]:
    """Sorted tasks split into the first (phase, wave) and the rest; the step is final when the rest is empty."""
    if not tasks:
        return [], []
    current = phase_wave(tasks[0])
    step = [task for task in tasks if phase_wave(task) == current]
    return step, [task for task in tasks if phase_wave(task) != current]
