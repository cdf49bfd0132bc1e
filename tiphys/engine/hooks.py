"""Which desired objects are hooks, of which types, in which phases, deleted when (spec §2, §3.2, §8.1, §9).

Small functions of one object, as in gitops-engine ``pkg/sync/hook``. The rules that surprise:
an Argo hook type disables ``helm.sh/hook`` entirely while Helm delete policies still merge;
``Skip`` only skips when it is the sole value; an object whose hook annotation names no valid
type is a "garbage hook" and is dropped from the sync altogether (``is_ignored``).
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from . import objects
from ._durations import parse_duration
from .annotations import (
    HELM_HOOK,
    HELM_HOOK_DELETE_POLICY,
    HOOK,
    HOOK_DELETE_POLICY,
    HOOK_FINALIZER,
    HOOK_TIMEOUT,
    csv,
    csv_items,
)
from .objects import KubeObject
from .types import HookDeletePolicy, HookType, SyncPhase, parse_hook_type

__all__ = [
    "DEFAULT_DELETE_POLICIES",
    "HELM_CRD_INSTALL",
    "HELM_DELETE_POLICIES",
    "HELM_DELETION_HOOK_TYPES",
    "HELM_HOOK_TYPES",
    "DesiredObjects",
    "delete_policies",
    "deletion_hook_types",
    "generated_hook_name",
    "has_hook_finalizer",
    "has_sync_phase_hook",
    "hook_manifest",
    "hook_timeout",
    "hook_types",
    "is_hook",
    "is_ignored",
    "is_skip",
    "split_desired",
    "sync_phases",
]

HELM_HOOK_TYPES: Final[Mapping[str, HookType]] = {
    "pre-install": HookType.PRE_SYNC,
    "pre-upgrade": HookType.PRE_SYNC,
    "post-install": HookType.POST_SYNC,
    "post-upgrade": HookType.POST_SYNC,
}
"""The Helm hooks the sync engine maps (`hookTypes` in gitops-engine `hook/helm/type.go`)."""

HELM_DELETION_HOOK_TYPES: Final[Mapping[str, HookType]] = {
    "pre-delete": HookType.PRE_DELETE,
    "post-delete": HookType.POST_DELETE,
}
"""Helm hooks Argo CD runs on Application deletion (controller ``hook.go``), never in a sync."""

HELM_CRD_INSTALL: Final = "crd-install"
"""Helm calls CRDs with this value hooks; as the whole value it makes an ordinary resource."""

HELM_DELETE_POLICIES: Final[Mapping[str, HookDeletePolicy]] = {
    "before-hook-creation": HookDeletePolicy.BEFORE_HOOK_CREATION,
    "hook-succeeded": HookDeletePolicy.HOOK_SUCCEEDED,
    "hook-failed": HookDeletePolicy.HOOK_FAILED,
}

DEFAULT_DELETE_POLICIES: Final = (HookDeletePolicy.BEFORE_HOOK_CREATION,)


def hook_types(obj: KubeObject) -> list[HookType]:
    """Valid sync-engine types from the Argo annotation; only if there are none, the mapped Helm ones.

    Helm mapping can repeat a type (``pre-install,pre-upgrade`` gives PreSync twice).
    """
    annotations = objects.annotations_of(obj)
    argo, helm = annotations.get(HOOK), annotations.get(HELM_HOOK)
    return list(_hook_types(argo, helm)) if argo or helm else []


@functools.lru_cache(maxsize=1024)
def _hook_types(argo: str | None, helm: str | None) -> tuple[HookType, ...]:
    types = [t for item in csv_items(argo or "") if (t := parse_hook_type(item)) is not None and t.known_to_engine]
    if not types:
        types = [HELM_HOOK_TYPES[item] for item in csv_items(helm or "") if item in HELM_HOOK_TYPES]
    return tuple(types)


def is_skip(obj: KubeObject) -> bool:
    """Skip is honoured only as the sole type: ``Skip,PreSync`` is a PreSync hook."""
    types = hook_types(obj)
    return HookType.SKIP in types and len(types) == 1


def is_hook(obj: KubeObject) -> bool:
    """Any Argo hook annotation (even garbage) makes a hook unless it skips; else any Helm hook but crd-install."""
    annotations = objects.annotations_of(obj)
    if HOOK in annotations:
        return not is_skip(obj)
    return HELM_HOOK in annotations and annotations[HELM_HOOK] != HELM_CRD_INSTALL


def is_ignored(obj: KubeObject) -> bool:
    """A hook without a single valid type: Argo CD drops it completely (not applied, no status)."""
    return is_hook(obj) and not hook_types(obj)


def sync_phases(obj: KubeObject) -> list[SyncPhase]:
    """The phases an object gets a task in, in phase order: none for Skip, Sync for every non-hook."""
    if is_skip(obj):
        return []
    if is_hook(obj):
        phases = {t.sync_phase for t in hook_types(obj) if t.sync_phase is not None}
        return sorted(phases, key=lambda phase: phase.rank)
    return [SyncPhase.SYNC]


def delete_policies(obj: KubeObject) -> list[HookDeletePolicy]:
    """Argo and Helm policies merged (both always count); ``[BeforeHookCreation]`` when neither gives one."""
    valid = {p.value for p in HookDeletePolicy}
    policies = [HookDeletePolicy(item) for item in csv(obj, HOOK_DELETE_POLICY) if item in valid]
    policies += [
        HELM_DELETE_POLICIES[item] for item in csv(obj, HELM_HOOK_DELETE_POLICY) if item in HELM_DELETE_POLICIES
    ]
    return policies or list(DEFAULT_DELETE_POLICIES)


def has_hook_finalizer(obj: KubeObject) -> bool:
    return HOOK_FINALIZER in objects.finalizers(obj)


def hook_timeout(obj: KubeObject) -> timedelta | None:
    """Tiphys's ``tiphys.io/hook-timeout`` (``90s``, ``5m``, bare seconds); None when absent or invalid."""
    text = objects.annotations_of(obj).get(HOOK_TIMEOUT)
    if text is None:
        return None
    try:
        timeout = parse_duration(text)
    except ValueError:
        return None
    return timeout if timeout > timedelta(0) else None


def deletion_hook_types(obj: KubeObject) -> list[HookType]:
    """PreDelete/PostDelete named by either annotation, as Argo CD's controller reads them (``hook.go``)."""
    annotations = objects.annotations_of(obj)
    argo = [item.strip() for item in annotations[HOOK].split(",")] if HOOK in annotations else []
    helm = [item.strip() for item in annotations[HELM_HOOK].split(",")] if HELM_HOOK in annotations else []
    found = []
    for hook_type, helm_value in ((HookType.PRE_DELETE, "pre-delete"), (HookType.POST_DELETE, "post-delete")):
        if hook_type.value in argo or helm_value in helm:
            found.append(hook_type)
    return found


def has_sync_phase_hook(obj: KubeObject) -> bool:
    """Whether the engine would run the object in a sync phase (PreSync, Sync, PostSync, SyncFail)."""
    return any(t.sync_phase is not None for t in hook_types(obj))


@dataclass(frozen=True)
class DesiredObjects:
    """The desired objects of a revision, split the way Argo CD feeds them to its engine (§2.3)."""

    resources: tuple[KubeObject, ...]
    """Managed targets: every non-hook, including Skip objects (they get no task)."""
    hooks: tuple[KubeObject, ...]
    ignored: tuple[KubeObject, ...]
    """Garbage hooks, dropped from the sync as Argo CD drops them."""
    deletion_hooks: tuple[KubeObject, ...]
    """PreDelete/PostDelete hooks without a sync-phase type: kept for Application deletion only."""
    has_pre_delete_hooks: bool = False
    """Whether any desired object is a PreDelete hook (it drives the Application's finalizers)."""
    has_post_delete_hooks: bool = False


def split_desired(desired: Iterable[KubeObject | None]) -> DesiredObjects:
    """Deletion hooks out (controller ``partitionTargetObjsForSync``), then garbage out, then hooks apart."""
    resources: list[KubeObject] = []
    hooks: list[KubeObject] = []
    ignored: list[KubeObject] = []
    deletion: list[KubeObject] = []
    deletion_types: set[HookType] = set()
    for obj in desired:
        if obj is None:
            continue
        types = deletion_hook_types(obj)
        deletion_types.update(types)
        if types and not has_sync_phase_hook(obj):
            deletion.append(obj)
        elif is_ignored(obj):
            ignored.append(obj)
        elif is_hook(obj):
            hooks.append(obj)
        else:
            resources.append(obj)
    return DesiredObjects(
        resources=tuple(resources),
        hooks=tuple(hooks),
        ignored=tuple(ignored),
        deletion_hooks=tuple(deletion),
        has_pre_delete_hooks=HookType.PRE_DELETE in deletion_types,
        has_post_delete_hooks=HookType.POST_DELETE in deletion_types,
    )


def generated_hook_name(generate_name: str, *, revision: str, phase: SyncPhase, started_at: datetime) -> str:
    """``generateName`` + ``<rev[:7]>-<phase>-<startedAt unix>``, lowercased: stable for one operation.

    Example: ``migrate-``, ``abcdef1234…``, PreSync, 1700000000 → ``migrate-abcdef1-presync-1700000000``.
    A revision shorter than 8 characters is used whole (an empty one gives ``job--presync-…``).
    """
    if started_at.tzinfo is None:
        raise ValueError("started_at must be timezone-aware")
    rev = revision[:7] if len(revision) >= 8 else revision
    return generate_name + f"{rev}-{phase.value}-{math.floor(started_at.timestamp())}".lower()


def hook_manifest(obj: KubeObject, *, phase: SyncPhase, revision: str, started_at: datetime) -> dict[str, Any]:
    """The object a hook task applies: a copy, named if it only has ``generateName``, with the hook finalizer.

    A hook with ``metadata.name`` keeps it, so a multi-phase named hook is one object in every phase.
    """
    target = copy.deepcopy(dict(obj))
    metadata = target.get("metadata")
    if not isinstance(metadata, dict):
        metadata = target["metadata"] = {}
    if not objects.name(target):
        generate_name = metadata.get("generateName")
        metadata["name"] = generated_hook_name(
            generate_name if isinstance(generate_name, str) else "",
            revision=revision,
            phase=phase,
            started_at=started_at,
        )
    if not has_hook_finalizer(target):
        metadata["finalizers"] = [*objects.finalizers(target), HOOK_FINALIZER]
    return target
