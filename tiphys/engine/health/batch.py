"""Health of batch Jobs (Go built-in) and CronJobs (Argo CD's built-in Lua script), spec §12.3.

A Job is judged by the *types* of its conditions, their status mattering only for Suspended:
so a resumed Job (``Suspended`` with status False) counts as complete and Healthy (gotcha 17),
and a Job with ``spec.suspend`` blocks a hook forever as Suspended.
"""

from __future__ import annotations

from ..objects import KubeObject
from ..types import HealthStatus
from ._base import Fields, HealthResult, lenient_list, require_version

__all__ = ["cron_job_health", "job_health"]


def job_health(obj: KubeObject) -> HealthResult:
    require_version(obj, "Job", "batch/v1")
    f = Fields(obj, "Job")
    failed = complete = suspended = False
    fail_message = message = ""
    for condition in f.each("status", "conditions"):
        match condition.string("type"):
            case "Failed":
                failed = complete = True
                fail_message = condition.string("message")
            case "Complete":
                complete = True
                message = condition.string("message")
            case "Suspended":
                complete = True
                message = condition.string("message")
                suspended = suspended or condition.string("status") == "True"
    if not complete:
        return HealthResult(HealthStatus.PROGRESSING, message)
    if failed:
        return HealthResult(HealthStatus.DEGRADED, fail_message)
    if suspended:
        return HealthResult(HealthStatus.SUSPENDED, message)
    return HealthResult(HealthStatus.HEALTHY, message)


def cron_job_health(obj: KubeObject) -> HealthResult:
    """``resource_customizations/batch/CronJob/health.lua``, any version; times compare as strings, as in Lua."""
    spec = obj.get("spec")
    if isinstance(spec, dict) and spec.get("suspend") is True:
        # Healthy rather than Suspended on purpose upstream (argo-cd#24428).
        return HealthResult(HealthStatus.HEALTHY, "CronJob is Suspended")
    status = obj.get("status")
    if status is None:
        return HealthResult(HealthStatus.PROGRESSING, "Waiting for CronJob")
    if not isinstance(status, dict) or status.get("lastScheduleTime") is None:
        return HealthResult(HealthStatus.HEALTHY, "CronJob has not been scheduled yet")
    last_success = status.get("lastSuccessfulTime")
    if last_success is None:
        return HealthResult(HealthStatus.HEALTHY, "The CronJob never completed successfully. It may not be healthy")
    if lenient_list(status, "active"):
        return HealthResult(HealthStatus.HEALTHY, "The job is running. Its last execution may not have been successful")
    if str(last_success) < str(status["lastScheduleTime"]):
        return HealthResult(HealthStatus.DEGRADED, "CronJob has not completed its last execution successfully")
    return HealthResult(HealthStatus.HEALTHY, "CronJob has completed its last execution successfully")
