"""Health of live objects, one module per kind family, and of an Application (spec §5, §12).

``assess(obj)`` returns a ``HealthResult`` or None for kinds without health, exactly as
gitops-engine's ``GetResourceHealth``; ``app_health`` aggregates an Application's resources.
"""

from ._base import HealthCheck, HealthResult
from .aggregate import APPLICATION_GROUPS, AppHealth, app_health, caused_by
from .apiservice import api_service_health
from .argo import application_health, workflow_health
from .batch import cron_job_health, job_health
from .checks import BUILT_IN_CHECKS, GroupKind, assess, health_check_for
from .hpa import hpa_health
from .networking import ingress_health, service_health
from .pod import pod_health
from .pvc import pvc_health
from .workloads import daemon_set_health, deployment_health, replica_set_health, stateful_set_health

__all__ = [
    "APPLICATION_GROUPS",
    "BUILT_IN_CHECKS",
    "AppHealth",
    "GroupKind",
    "HealthCheck",
    "HealthResult",
    "api_service_health",
    "app_health",
    "application_health",
    "assess",
    "caused_by",
    "cron_job_health",
    "daemon_set_health",
    "deployment_health",
    "health_check_for",
    "hpa_health",
    "ingress_health",
    "job_health",
    "pod_health",
    "pvc_health",
    "replica_set_health",
    "service_health",
    "stateful_set_health",
    "workflow_health",
]
