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
