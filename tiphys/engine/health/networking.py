"""Health of Services and Ingresses: a load balancer is ready once it has an address (spec §12.3)."""

from __future__ import annotations

from ..objects import KubeObject
from ..types import HealthStatus
from ._base import Fields, HealthResult, lenient_list, require_version

__all__ = ["ingress_health", "service_health"]


def service_health(obj: KubeObject) -> HealthResult:
    """Healthy, except a LoadBalancer still without ``status.loadBalancer.ingress`` (Progressing)."""
    require_version(obj, "Service", "v1")
    f = Fields(obj, "Service")
    if f.string("spec", "type") == "LoadBalancer" and not f.items("status", "loadBalancer", "ingress"):
        return HealthResult(HealthStatus.PROGRESSING)
    return HealthResult(HealthStatus.HEALTHY)


def ingress_health(obj: KubeObject) -> HealthResult:
    """Any version of ``extensions`` or ``networking.k8s.io`` Ingress: Healthy once it has an address."""
    if lenient_list(obj, "status", "loadBalancer", "ingress"):
        return HealthResult(HealthStatus.HEALTHY)
    return HealthResult(HealthStatus.PROGRESSING)
