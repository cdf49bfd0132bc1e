"""How a running task moves on, judged from its live object's health (spec §4.3, §5).

A hook runs until its health says it finished: Healthy succeeds, Degraded or Unknown fails, and
a kind without health succeeds as soon as it is seen. A resource only waits for Healthy, fails
on Degraded, and otherwise stays Running; a failed assessment leaves it as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from . import messages, objects
from .health import GroupKind, HealthCheck, assess
from .objects import KubeObject
from .tasks import SyncTask
from .types import HealthStatus, OperationPhase

__all__ = ["TaskProgress", "hook_progress", "resource_progress"]


@dataclass(frozen=True)
class TaskProgress:
    state: OperationPhase
    message: str = ""  # empty keeps the recorded message (§4.10)


def hook_progress(live: KubeObject, *, overrides: Mapping[GroupKind, HealthCheck] | None = None) -> TaskProgress:
    """``getOperationPhase`` and its caller: the state of a running hook's live object.

    A failed assessment is an ``Error``; gitops-engine wraps that error twice, so the message
    reads ``failed to get resource health: failed to get resource health: <err>``.
    """
    health = assess(live, overrides=overrides)
    if health is None:
        return TaskProgress(OperationPhase.SUCCEEDED, messages.hook_created(objects.name(live)))
    if health.assessment_error:
        wrapped = messages.failed_to_get_health(health.message)
        return TaskProgress(OperationPhase.ERROR, messages.failed_to_get_health(wrapped))
    match health.status:
        case HealthStatus.UNKNOWN | HealthStatus.DEGRADED:
            return TaskProgress(OperationPhase.FAILED, health.message)
        case HealthStatus.PROGRESSING | HealthStatus.SUSPENDED:
            return TaskProgress(OperationPhase.RUNNING, health.message)
        case HealthStatus.HEALTHY:
            return TaskProgress(OperationPhase.SUCCEEDED, health.message)
    return TaskProgress(OperationPhase.SUCCEEDED, messages.hook_created(objects.name(live)))  # Missing


def resource_progress(
    live: KubeObject, *, overrides: Mapping[GroupKind, HealthCheck] | None = None
) -> TaskProgress | None:
    """A running resource: done when Healthy or without health, failed when Degraded, else None (unchanged)."""
    health = assess(live, overrides=overrides)
    if health is None:
        return TaskProgress(OperationPhase.SUCCEEDED)
    if health.assessment_error:
        return None
    if health.status is HealthStatus.HEALTHY:
        return TaskProgress(OperationPhase.SUCCEEDED, health.message)
    if health.status is HealthStatus.DEGRADED:
        return TaskProgress(OperationPhase.FAILED, health.message)
    return None


def may_progress(
    task: SyncTask, live: KubeObject | None, *, overrides: Mapping[GroupKind, HealthCheck] | None = None
) -> bool:
    """Whether a change of ``live`` can move on a task a step waits for.

    A running resource (not a hook, not a prune) moves on only when ``resource_progress`` says so:
    while it stays Progressing, a new version of it changes nothing in the next step, and the
    driver need not compute one.
    """
    if task.is_hook or task.is_prune or live is None or not task.running:
        return True
    return resource_progress(live, overrides=overrides) is not None


def failing(task: SyncTask, live: KubeObject, *, overrides: Mapping[GroupKind, HealthCheck] | None = None) -> bool:
    """Whether a running resource's live object fails it (Degraded): the step must see that at once."""
    progress = resource_progress(live, overrides=overrides)
    return task.running and progress is not None and progress.state is not OperationPhase.SUCCEEDED
