"""Which health check applies to an object, and the assessment chain (spec §12.2).

Pending deletion first (unless the hook finalizer holds the object), then overrides (Argo CD's
Lua customizations; Tiphys takes Python functions), then the built-in check for the object's
group and kind, like gitops-engine's ``GetHealthCheckFunc``. No check means no health: the
object counts as done as soon as it exists (ConfigMaps, Secrets, most custom resources).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .. import hooks, objects
from ..objects import KubeObject
from ..types import HealthStatus
from ._base import AssessmentError, HealthCheck, HealthResult
from .apiservice import api_service_health
from .argo import workflow_health
from .batch import cron_job_health, job_health
from .hpa import hpa_health
from .networking import ingress_health, service_health
from .pod import pod_health
from .pvc import pvc_health
from .workloads import daemon_set_health, deployment_health, replica_set_health, stateful_set_health

__all__ = ["BUILT_IN_CHECKS", "GroupKind", "assess", "health_check_for"]

GroupKind = tuple[str, str]

BUILT_IN_CHECKS: Final[Mapping[GroupKind, HealthCheck]] = {
    ("apps", "Deployment"): deployment_health,
    ("apps", "StatefulSet"): stateful_set_health,
    ("apps", "ReplicaSet"): replica_set_health,
    ("apps", "DaemonSet"): daemon_set_health,
    ("extensions", "Ingress"): ingress_health,
    ("networking.k8s.io", "Ingress"): ingress_health,
    ("argoproj.io", "Workflow"): workflow_health,
    ("apiregistration.k8s.io", "APIService"): api_service_health,
    ("", "Service"): service_health,
    ("", "PersistentVolumeClaim"): pvc_health,
    ("", "Pod"): pod_health,
    ("batch", "Job"): job_health,
    ("batch", "CronJob"): cron_job_health,  # Argo CD's built-in Lua script
    ("autoscaling", "HorizontalPodAutoscaler"): hpa_health,
}
"""Every kind with built-in health; everything else has none."""

_PENDING_DELETION: Final = HealthResult(HealthStatus.PROGRESSING, "Pending deletion")


def health_check_for(group: str, kind: str) -> HealthCheck | None:
    return BUILT_IN_CHECKS.get((group, kind))


def _run(check: HealthCheck, obj: KubeObject) -> HealthResult | None:
    try:
        return check(obj)
    except AssessmentError as e:
        return HealthResult(HealthStatus.UNKNOWN, str(e), assessment_error=True)


def assess(obj: KubeObject, *, overrides: Mapping[GroupKind, HealthCheck] | None = None) -> HealthResult | None:
    """The health of a live object, or None when its kind has no health check.

    An override returning None falls through to the built-in check.
    """
    if objects.meta(obj).get("deletionTimestamp") and not hooks.has_hook_finalizer(obj):
        return _PENDING_DELETION
    group_kind = (objects.api_group(obj), objects.kind(obj))
    override = (overrides or {}).get(group_kind)
    if override is not None:
        result = _run(override, obj)
        if result is not None:
            return result
    check = health_check_for(*group_kind)
    return _run(check, obj) if check is not None else None
