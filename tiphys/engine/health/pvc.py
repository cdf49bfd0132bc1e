"""Health of PersistentVolumeClaims: by ``status.phase``, without a message (spec §12.3)."""

from __future__ import annotations

from ..objects import KubeObject
from ..types import HealthStatus
from ._base import Fields, HealthResult, require_version

__all__ = ["pvc_health"]

_BY_PHASE = {"Bound": HealthStatus.HEALTHY, "Pending": HealthStatus.PROGRESSING, "Lost": HealthStatus.DEGRADED}


def pvc_health(obj: KubeObject) -> HealthResult:
    require_version(obj, "PersistentVolumeClaim", "v1")
    phase = Fields(obj, "PersistentVolumeClaim").string("status", "phase")
    return HealthResult(_BY_PHASE.get(phase, HealthStatus.UNKNOWN))
