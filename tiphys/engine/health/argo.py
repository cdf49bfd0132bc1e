"""Health of Argo resources: Workflows built in; Applications only by opt-in (spec §12.3).

Argo CD has no built-in health for ``Application`` since 1.8, so child Applications pass a wave
instantly. ``application_health`` is the customization Argo CD's docs give to restore it for
app-of-apps wave ordering; pass it in ``overrides`` to opt in.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..objects import KubeObject
from ..types import HealthStatus
from ._base import HealthResult, lenient_str

__all__ = ["application_health", "workflow_health"]

_CODES = {status.value for status in HealthStatus}

_WORKFLOW = {
    "": HealthStatus.PROGRESSING,
    "Pending": HealthStatus.PROGRESSING,
    "Running": HealthStatus.PROGRESSING,
    "Succeeded": HealthStatus.HEALTHY,
    "Failed": HealthStatus.DEGRADED,
    "Error": HealthStatus.DEGRADED,
}


def workflow_health(obj: KubeObject) -> HealthResult:
    """Any version of ``argoproj.io/Workflow``, by ``status.phase``; message is ``status.message``."""
    phase = lenient_str(obj, "status", "phase")
    return HealthResult(_WORKFLOW.get(phase, HealthStatus.UNKNOWN), lenient_str(obj, "status", "message"))


def application_health(obj: KubeObject) -> HealthResult:
    """The documented Lua customization: the child's ``status.health``, Progressing until it has one."""
    status = obj.get("status")
    health = status.get("health") if isinstance(status, Mapping) else None
    if not isinstance(health, Mapping):
        return HealthResult(HealthStatus.PROGRESSING)
    code = health.get("status")
    if code not in _CODES:
        return HealthResult(HealthStatus.UNKNOWN, "Lua returned an invalid health status")
    return HealthResult(HealthStatus(code), lenient_str(health, "message"))
