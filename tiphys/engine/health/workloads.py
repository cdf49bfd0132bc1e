"""Health of the apps/v1 workloads: Deployment, StatefulSet, DaemonSet, ReplicaSet (spec §12.3).

The rules are kubectl's ``rollout status``, as gitops-engine borrowed them; the messages are
gitops-engine's, word for word.
"""

from __future__ import annotations

from ..objects import KubeObject
from ..types import HealthStatus
from ._base import Fields, HealthResult, go_quote, require_version

__all__ = ["daemon_set_health", "deployment_health", "replica_set_health", "stateful_set_health"]

_PROGRESSING = HealthStatus.PROGRESSING


def deployment_health(obj: KubeObject) -> HealthResult:
    require_version(obj, "Deployment", "apps/v1")
    f = Fields(obj, "Deployment")
    if f.boolean("spec", "paused"):
        return HealthResult(HealthStatus.SUSPENDED, "Deployment is paused")
    if f.integer("metadata", "generation") > f.integer("status", "observedGeneration"):
        return HealthResult(
            _PROGRESSING, "Waiting for rollout to finish: observed deployment generation less than desired generation"
        )
    progressing = next((c for c in f.each("status", "conditions") if c.string("type") == "Progressing"), None)
    replicas = f.opt_integer("spec", "replicas")
    updated = f.integer("status", "updatedReplicas")
    current = f.integer("status", "replicas")
    available = f.integer("status", "availableReplicas")
    if progressing is not None and progressing.string("reason") == "ProgressDeadlineExceeded":
        name = go_quote(f.string("metadata", "name"))
        return HealthResult(HealthStatus.DEGRADED, f"Deployment {name} exceeded its progress deadline")
    if replicas is not None and updated < replicas:
        return HealthResult(
            _PROGRESSING,
            f"Waiting for rollout to finish: {updated} out of {replicas} new replicas have been updated...",
        )
    if current > updated:
        return HealthResult(
            _PROGRESSING, f"Waiting for rollout to finish: {current - updated} old replicas are pending termination..."
        )
    if available < updated:
        return HealthResult(
            _PROGRESSING, f"Waiting for rollout to finish: {available} of {updated} updated replicas are available..."
        )
    return HealthResult(HealthStatus.HEALTHY)


def stateful_set_health(obj: KubeObject) -> HealthResult:
    require_version(obj, "StatefulSet", "apps/v1")
    f = Fields(obj, "StatefulSet")
    observed = f.integer("status", "observedGeneration")
    if observed == 0 or f.integer("metadata", "generation") > observed:
        return HealthResult(_PROGRESSING, "Waiting for statefulset spec update to be observed...")
    replicas = f.opt_integer("spec", "replicas")
    ready = f.integer("status", "readyReplicas")
    updated = f.integer("status", "updatedReplicas")
    if replicas is not None and ready < replicas:
        return HealthResult(_PROGRESSING, f"Waiting for {replicas - ready} pods to be ready...")
    strategy = f.string("spec", "updateStrategy", "type")
    if strategy == "RollingUpdate" and f.present("spec", "updateStrategy", "rollingUpdate"):
        partition = f.opt_integer("spec", "updateStrategy", "rollingUpdate", "partition")
        if replicas is not None and partition is not None and updated < replicas - partition:
            return HealthResult(
                _PROGRESSING,
                "Waiting for partitioned roll out to finish: "
                f"{updated} out of {replicas - partition} new pods have been updated...",
            )
        return HealthResult(
            HealthStatus.HEALTHY, f"partitioned roll out complete: {updated} new pods have been updated..."
        )
    if strategy == "OnDelete":
        return HealthResult(HealthStatus.HEALTHY, f"statefulset has {ready} ready pods")
    update_revision = f.string("status", "updateRevision")
    current_revision = f.string("status", "currentRevision")
    if update_revision != current_revision:
        return HealthResult(
            _PROGRESSING,
            f"waiting for statefulset rolling update to complete {updated} pods at revision {update_revision}...",
        )
    current = f.integer("status", "currentReplicas")
    return HealthResult(
        HealthStatus.HEALTHY, f"statefulset rolling update complete {current} pods at revision {current_revision}..."
    )


def daemon_set_health(obj: KubeObject) -> HealthResult:
    require_version(obj, "DaemonSet", "apps/v1")
    f = Fields(obj, "DaemonSet")
    if f.integer("metadata", "generation") > f.integer("status", "observedGeneration"):
        return HealthResult(
            _PROGRESSING, "Waiting for rollout to finish: observed daemon set generation less than desired generation"
        )
    updated = f.integer("status", "updatedNumberScheduled")
    desired = f.integer("status", "desiredNumberScheduled")
    available = f.integer("status", "numberAvailable")
    if f.string("spec", "updateStrategy", "type") == "OnDelete":
        return HealthResult(HealthStatus.HEALTHY, f"daemon set {updated} out of {desired} new pods have been updated")
    name = go_quote(f.string("metadata", "name"))
    if updated < desired:
        return HealthResult(
            _PROGRESSING,
            f"Waiting for daemon set {name} rollout to finish: "
            f"{updated} out of {desired} new pods have been updated...",
        )
    if available < desired:
        return HealthResult(
            _PROGRESSING,
            f"Waiting for daemon set {name} rollout to finish: {available} of {desired} updated pods are available...",
        )
    return HealthResult(HealthStatus.HEALTHY)


def replica_set_health(obj: KubeObject) -> HealthResult:
    require_version(obj, "ReplicaSet", "apps/v1")
    f = Fields(obj, "ReplicaSet")
    if f.integer("metadata", "generation") > f.integer("status", "observedGeneration"):
        return HealthResult(
            _PROGRESSING, "Waiting for rollout to finish: observed replica set generation less than desired generation"
        )
    failure = next((c for c in f.each("status", "conditions") if c.string("type") == "ReplicaFailure"), None)
    if failure is not None and failure.string("status") == "True":
        return HealthResult(HealthStatus.DEGRADED, failure.string("message"))
    replicas = f.opt_integer("spec", "replicas")
    available = f.integer("status", "availableReplicas")
    if replicas is not None and available < replicas:
        return HealthResult(
            _PROGRESSING, f"Waiting for rollout to finish: {available} out of {replicas} new replicas are available..."
        )
    return HealthResult(HealthStatus.HEALTHY)
