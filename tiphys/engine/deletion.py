"""Deleting an Application: its finalizers, PreDelete/PostDelete hooks and the cascade (spec §14).

Argo CD's controller (``finalizeApplicationDeletion``, ``hook.go``, ``sort_delete.go``) works through
the Application's finalizers one at a time, each pass doing one stage and returning:

1. ``pre-delete-finalizer.argocd.argoproj.io``: create the PreDelete hooks from Git that are not
   live yet (then wait); when all exist, a Progressing one means wait, Degraded ones are deleted
   and block the deletion with ``PreDelete hook(s) failed: ns/name, …``; otherwise remove it.
2. ``resources-finalizer.argocd.argoproj.io`` (or ``/foreground``, ``/background``): delete the
   app's live objects, highest sync wave first, one wave per pass; wait while any is terminating.
3. ``post-delete-finalizer.argocd.argoproj.io``: like 1, with the PostDelete hooks.
4. The ``/cleanup`` finalizers: delete the hooks whose policy matches the worst health of their
   type (``HookSucceeded`` and Healthy, ``HookFailed`` and Degraded) and wait until they are gone.

Everything here is pure: objects in, decisions out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from . import objects
from .annotations import HELM_RESOURCE_POLICY, SYNC_OPTIONS, csv, option_value
from .health import GroupKind, HealthCheck, assess
from .hooks import delete_policies, deletion_hook_types
from .objects import KubeObject
from .types import HealthStatus, HookDeletePolicy, HookType, is_worse
from .waves import wave_of

__all__ = [
    "BACKGROUND_FINALIZER",
    "FOREGROUND_FINALIZER",
    "POST_DELETE_CLEANUP_FINALIZER",
    "POST_DELETE_FINALIZER",
    "PRE_DELETE_CLEANUP_FINALIZER",
    "PRE_DELETE_FINALIZER",
    "RESOURCES_FINALIZER",
    "HookRun",
    "Stage",
    "cascaded",
    "cleanup_targets",
    "deletion_batch",
    "finalizer_of",
    "hook_finalizers",
    "hooks_failed",
    "hooks_of_type",
    "hooks_to_create",
    "judge_hooks",
    "next_stage",
    "propagation",
    "should_be_deleted",
]

RESOURCES_FINALIZER: Final = "resources-finalizer.argocd.argoproj.io"
FOREGROUND_FINALIZER: Final = "resources-finalizer.argocd.argoproj.io/foreground"
BACKGROUND_FINALIZER: Final = "resources-finalizer.argocd.argoproj.io/background"
PRE_DELETE_FINALIZER: Final = "pre-delete-finalizer.argocd.argoproj.io"
PRE_DELETE_CLEANUP_FINALIZER: Final = "pre-delete-finalizer.argocd.argoproj.io/cleanup"
POST_DELETE_FINALIZER: Final = "post-delete-finalizer.argocd.argoproj.io"
POST_DELETE_CLEANUP_FINALIZER: Final = "post-delete-finalizer.argocd.argoproj.io/cleanup"

_CASCADE: Final = (RESOURCES_FINALIZER, FOREGROUND_FINALIZER, BACKGROUND_FINALIZER)
_HELM_KEEP: Final = "keep"


class Stage(StrEnum):
    """What an Application being deleted does next, in Argo CD's order."""

    PRE_DELETE = "PreDelete"  # run the PreDelete hooks
    CASCADE = "Cascade"  # delete the app's resources, highest wave first
    POST_DELETE = "PostDelete"  # run the PostDelete hooks
    PRE_DELETE_CLEANUP = "PreDeleteCleanup"  # delete finished PreDelete hooks as their policies say
    POST_DELETE_CLEANUP = "PostDeleteCleanup"
    DONE = "Done"  # no finalizer of ours left: the API server removes the Application


def cascaded(finalizers: Iterable[str]) -> bool:
    """Whether the resources finalizer (any propagation variant) asks for a cascading delete."""
    return any(f in _CASCADE for f in finalizers)


def propagation(finalizers: Iterable[str]) -> str:
    """Foreground, unless the ``/background`` variant of the resources finalizer is set."""
    return "Background" if BACKGROUND_FINALIZER in finalizers else "Foreground"


def next_stage(finalizers: Sequence[str]) -> Stage:
    """The stage the Application's finalizers call for (``finalizeApplicationDeletion``'s order)."""
    if PRE_DELETE_FINALIZER in finalizers:
        return Stage.PRE_DELETE
    if cascaded(finalizers):
        return Stage.CASCADE
    if POST_DELETE_FINALIZER in finalizers:
        return Stage.POST_DELETE
    if PRE_DELETE_CLEANUP_FINALIZER in finalizers:
        return Stage.PRE_DELETE_CLEANUP
    if POST_DELETE_CLEANUP_FINALIZER in finalizers:
        return Stage.POST_DELETE_CLEANUP
    return Stage.DONE


def finalizer_of(stage: Stage) -> tuple[str, ...]:
    """The finalizers a finished stage removes."""
    return {
        Stage.PRE_DELETE: (PRE_DELETE_FINALIZER,),
        Stage.CASCADE: _CASCADE,
        Stage.POST_DELETE: (POST_DELETE_FINALIZER,),
        Stage.PRE_DELETE_CLEANUP: (PRE_DELETE_CLEANUP_FINALIZER,),
        Stage.POST_DELETE_CLEANUP: (POST_DELETE_CLEANUP_FINALIZER,),
        Stage.DONE: (),
    }[stage]


def hook_finalizers(finalizers: Sequence[str], *, has_pre_delete: bool, has_post_delete: bool) -> list[str] | None:
    """The finalizers an Application should carry for the deletion hooks its manifests have; None if unchanged.

    Argo CD adds the hook finalizer and its ``/cleanup`` twin when the manifests have hooks of
    that type, and removes both when they no longer do (never while the app is being deleted).
    """
    wanted = list(finalizers)
    for present, pair in (
        (has_pre_delete, (PRE_DELETE_FINALIZER, PRE_DELETE_CLEANUP_FINALIZER)),
        (has_post_delete, (POST_DELETE_FINALIZER, POST_DELETE_CLEANUP_FINALIZER)),
    ):
        for name in pair:
            if present and name not in wanted:
                wanted.append(name)
            elif not present and name in wanted:
                wanted.remove(name)
    return None if wanted == list(finalizers) else wanted


def should_be_deleted(obj: KubeObject, *, app_sync_options: Sequence[str] = ()) -> bool:
    """Whether a cascading delete removes ``obj``: not a CRD, not ``Delete=false``, not Helm ``keep``."""
    if objects.kind(obj) == "CustomResourceDefinition" and objects.api_group(obj) == "apiextensions.k8s.io":
        return False
    option = option_value(obj, SYNC_OPTIONS, "Delete")
    if option is None:
        option = next((o.partition("=")[2] for o in app_sync_options if o.startswith("Delete=")), None)
    if option == "false":
        return False
    return _HELM_KEEP not in csv(obj, HELM_RESOURCE_POLICY)


def deletion_batch(live: Sequence[KubeObject]) -> tuple[KubeObject, ...]:
    """The objects of the highest sync wave among ``live`` (``FilterObjectsForDeletion``)."""
    if not live:
        return ()
    top = max(wave_of(obj) for obj in live)
    return tuple(obj for obj in live if wave_of(obj) == top)


def hooks_of_type(hook_type: HookType, objs: Iterable[KubeObject]) -> tuple[KubeObject, ...]:
    return tuple(obj for obj in objs if hook_type in deletion_hook_types(obj))


def hooks_to_create(
    hook_type: HookType, desired: Iterable[KubeObject], live: Iterable[KubeObject], *, namespace: str
) -> tuple[KubeObject, ...]:
    """The hooks of ``hook_type`` in Git whose key is not live yet (put in ``namespace`` when they name none)."""
    present = {objects.resource_key(obj) for obj in hooks_of_type(hook_type, live)}
    wanted: list[KubeObject] = []
    for obj in hooks_of_type(hook_type, desired):
        placed = obj if objects.namespace(obj) else _with_namespace(obj, namespace)
        if objects.resource_key(placed) not in present:
            wanted.append(placed)
    return tuple(wanted)


def _with_namespace(obj: KubeObject, namespace: str) -> dict[str, object]:
    metadata = dict(obj.get("metadata") or {})
    metadata["namespace"] = namespace
    return {**obj, "metadata": metadata}


def _health(obj: KubeObject, overrides: Mapping[GroupKind, HealthCheck] | None) -> HealthStatus:
    result = assess(obj, overrides=overrides)
    return HealthStatus.HEALTHY if result is None else result.status  # no health check: healthy


@dataclass(frozen=True)
class HookRun:
    """How the live hooks of one type are doing: all done, some still running, or some failed."""

    progressing: int = 0
    failed: tuple[KubeObject, ...] = ()

    @property
    def done(self) -> bool:
        return not self.progressing and not self.failed


def judge_hooks(
    hook_type: HookType, live: Iterable[KubeObject], *, overrides: Mapping[GroupKind, HealthCheck] | None = None
) -> HookRun:
    """Progressing hooks are waited for, Degraded ones failed; Healthy, Suspended, Unknown, Missing count as done."""
    progressing = 0
    failed: list[KubeObject] = []
    for obj in hooks_of_type(hook_type, live):
        status = _health(obj, overrides)
        if status is HealthStatus.PROGRESSING:
            progressing += 1
        elif status is HealthStatus.DEGRADED:
            failed.append(obj)
    return HookRun(progressing, tuple(failed))


def hooks_failed(hook_type: HookType, failed: Iterable[KubeObject]) -> str:
    """``PreDelete hook(s) failed: ns/name, ns/other`` (the ``DeletionError`` condition)."""
    names = ", ".join(f"{objects.namespace(obj)}/{objects.name(obj)}" for obj in failed)
    return f"{hook_type.value} hook(s) failed: {names}"


def cleanup_targets(
    hook_type: HookType, live: Iterable[KubeObject], *, overrides: Mapping[GroupKind, HealthCheck] | None = None
) -> tuple[tuple[KubeObject, ...], int]:
    """The hooks to delete now and how many deletions are still pending (``cleanupHooks``).

    The worst health of all hooks of the type decides: ``HookSucceeded`` hooks go when it is
    Healthy, ``HookFailed`` hooks when it is Degraded. With the default policy
    (BeforeHookCreation) nothing is deleted, so such hooks outlive the Application.
    """
    hooks = hooks_of_type(hook_type, live)
    worst = HealthStatus.HEALTHY
    for obj in hooks:
        status = _health(obj, overrides)
        if is_worse(worst, status):
            worst = status
    delete: list[KubeObject] = []
    pending = 0
    for obj in hooks:
        policies = delete_policies(obj)
        if (HookDeletePolicy.HOOK_SUCCEEDED in policies and worst is HealthStatus.HEALTHY) or (
            HookDeletePolicy.HOOK_FAILED in policies and worst is HealthStatus.DEGRADED
        ):
            pending += 1
            if not objects.meta(obj).get("deletionTimestamp"):
                delete.append(obj)
    return tuple(delete), pending
