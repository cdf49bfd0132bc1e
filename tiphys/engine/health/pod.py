"""Health of core/v1 Pods (spec §5, §12.3; gitops-engine ``health_pod.go``).

A Pod with ``restartPolicy: Always`` is long-running: Healthy once Ready, so as a hook it
succeeds as soon as it is Ready (gotcha 16). ``Never``/``OnFailure`` Pods run to completion and
stay Progressing while running. ``argocd.argoproj.io/ignore-restart-policy: "true"`` makes such a
Pod long-running too, except when it is a hook (ACGE).
"""

from __future__ import annotations

from .. import hooks, objects
from ..annotations import IGNORE_RESTART_POLICY
from ..objects import KubeObject
from ..types import HealthStatus
from ._base import Fields, HealthResult, go_quote, require_version

__all__ = ["pod_health"]


def _is_long_running(obj: KubeObject, policy: str) -> bool:
    ignore_policy = objects.annotations_of(obj).get(IGNORE_RESTART_POLICY) == "true"
    return policy == "Always" or (ignore_policy and not hooks.is_hook(obj))


def _failure_message(container: Fields) -> str:
    if not container.present("state", "terminated"):
        return ""
    message = container.string("state", "terminated", "message")
    if message:
        return message
    reason = container.string("state", "terminated", "reason")
    if reason == "OOMKilled":
        return reason
    exit_code = container.integer("state", "terminated", "exitCode")
    if exit_code != 0:
        return f"container {go_quote(container.string('name'))} failed with exit code {exit_code}"
    return ""


def pod_health(obj: KubeObject) -> HealthResult:
    require_version(obj, "Pod", "v1")
    f = Fields(obj, "Pod")
    policy = f.string("spec", "restartPolicy")
    long_running = _is_long_running(obj, policy)
    containers = f.each("status", "containerStatuses")
    message = f.string("status", "message")
    if long_running:
        waiting_errors = [
            c.string("state", "waiting", "message")
            for c in containers
            if c.present("state", "waiting")
            and (
                (reason := c.string("state", "waiting", "reason")).startswith("Err")
                or reason.endswith("Error")
                or reason.endswith("BackOff")
            )
        ]
        if waiting_errors:
            return HealthResult(HealthStatus.DEGRADED, ", ".join(waiting_errors))

    match f.string("status", "phase"):
        case "Pending":
            return HealthResult(HealthStatus.PROGRESSING, message)
        case "Succeeded":
            return HealthResult(HealthStatus.HEALTHY, message)
        case "Failed":
            if message:
                return HealthResult(HealthStatus.DEGRADED, message)
            for container in [*f.each("status", "initContainerStatuses"), *containers]:
                failure = _failure_message(container)
                if failure:
                    return HealthResult(HealthStatus.DEGRADED, failure)
            return HealthResult(HealthStatus.DEGRADED, "")
        case "Running" if long_running:
            ready = any(
                c.string("type") == "Ready" and c.string("status") == "True" for c in f.each("status", "conditions")
            )
            if ready:
                return HealthResult(HealthStatus.HEALTHY, message)
            if any(c.present("lastState", "terminated") for c in containers):
                return HealthResult(HealthStatus.DEGRADED, message)
            return HealthResult(HealthStatus.PROGRESSING, message)
        case "Running" if policy in ("OnFailure", "Never"):
            return HealthResult(HealthStatus.PROGRESSING, message)
    return HealthResult(HealthStatus.UNKNOWN, message)
