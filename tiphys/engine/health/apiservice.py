"""Health of aggregated APIServices: their ``Available`` condition (spec §12.3)."""

from __future__ import annotations

from ..objects import KubeObject
from ..types import HealthStatus
from ._base import Fields, HealthResult, require_version

__all__ = ["api_service_health"]


def api_service_health(obj: KubeObject) -> HealthResult:
    require_version(obj, "APIService", "apiregistration.k8s.io/v1", "apiregistration.k8s.io/v1beta1")
    for condition in Fields(obj, "APIService").each("status", "conditions"):
        if condition.string("type") == "Available":
            message = f"{condition.string('reason')}: {condition.string('message')}"
            available = condition.string("status") == "True"
            return HealthResult(HealthStatus.HEALTHY if available else HealthStatus.PROGRESSING, message)
    return HealthResult(HealthStatus.PROGRESSING, "Waiting to be processed")
