"""Column definitions per built-in kind, as upstream's ``AddHandlers`` declares them, and the dispatch."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from .. import schema
from ._cells import (
    _binding,
    _configmap,
    _created_at,
    _cronjob,
    _daemonset,
    _deployment,
    _endpoints,
    _event,
    _ingress,
    _job,
    _lease,
    _name_age,
    _namespace,
    _node,
    _pod,
    _pv,
    _pvc,
    _replicaset,
    _secret,
    _service,
    _serviceaccount,
    _statefulset,
)
from ._format import Cells, Obj, _Clock, _Col

# --- column definitions and dispatch ---------------------------------------------------------------

_NAME = _Col("Name", doc="@meta.ObjectMeta.name", format="name")
_AGE = _Col("Age", doc="@meta.ObjectMeta.creationTimestamp")
_CONTAINERS = _Col("Containers", doc="Names of each container in the template.", priority=1)
_IMAGES = _Col("Images", doc="Images referenced by each container in the template.", priority=1)


def _wide_workload(selector_doc: str) -> tuple[_Col, ...]:
    return (_CONTAINERS, _IMAGES, _Col("Selector", doc=selector_doc, priority=1))


CellsFn = Callable[[Obj, _Clock], Cells]

# Keyed by (group, kind); column names, types and order as upstream's AddHandlers declares them.
_PRINTERS: dict[tuple[str, str], tuple[tuple[_Col, ...], CellsFn]] = {
    ("", "Pod"): (
        (
            _NAME,
            _Col("Ready", doc="The aggregate readiness state of this pod for accepting traffic."),
            _Col("Status", doc="The aggregate status of the containers in this pod."),
            _Col(
                "Restarts",
                doc="The number of times the containers in this pod have been restarted and when the last "
                "container in this pod has restarted.",
            ),
            _AGE,
            _Col("IP", doc="@core.v1.PodStatus.podIP", priority=1),
            _Col("Node", doc="@core.v1.PodSpec.nodeName", priority=1),
            _Col("Nominated Node", doc="@core.v1.PodStatus.nominatedNodeName", priority=1),
            _Col("Readiness Gates", doc="@core.v1.PodSpec.readinessGates", priority=1),
        ),
        _pod,
    ),
    ("", "Namespace"): ((_NAME, _Col("Status", doc="The status of the namespace"), _AGE), _namespace),
    ("", "ConfigMap"): ((_NAME, _Col("Data", doc="@core.v1.ConfigMap.data"), _AGE), _configmap),
    ("", "Secret"): (
        (_NAME, _Col("Type", doc="@core.v1.Secret.type"), _Col("Data", doc="@core.v1.Secret.data"), _AGE),
        _secret,
    ),
    ("", "Service"): (
        (
            _NAME,
            _Col("Type", doc="@core.v1.ServiceSpec.type"),
            _Col("Cluster-IP", doc="@core.v1.ServiceSpec.clusterIP"),
            _Col("External-IP", doc="@core.v1.ServiceSpec.externalIPs"),
            _Col("Port(s)", doc="@core.v1.ServiceSpec.ports"),
            _AGE,
            _Col("Selector", doc="@core.v1.ServiceSpec.selector", priority=1),
        ),
        _service,
    ),
    ("", "ServiceAccount"): (
        (_NAME, _Col("Secrets", doc="@core.v1.ServiceAccount.secrets"), _AGE),
        _serviceaccount,
    ),
    ("", "Event"): (
        (
            _Col("Last Seen", doc="@core.v1.Event.lastTimestamp"),
            _Col("Type", doc="@core.v1.Event.type"),
            _Col("Reason", doc="@core.v1.Event.reason"),
            _Col("Object", doc="@core.v1.Event.involvedObject"),
            _Col("Subobject", doc="@core.v1.ObjectReference.fieldPath", priority=1),
            _Col("Source", doc="@core.v1.Event.source", priority=1),
            _Col("Message", doc="@core.v1.Event.message"),
            _Col("First Seen", doc="@core.v1.Event.firstTimestamp", priority=1),
            _Col("Count", doc="@core.v1.Event.count", priority=1),
            _Col("Name", doc="@meta.ObjectMeta.name", priority=1, format="name"),
        ),
        _event,
    ),
    ("", "Node"): (
        (
            _NAME,
            _Col("Status", doc="The status of the node"),
            _Col("Roles", doc="The roles of the node"),
            _AGE,
            _Col("Version", doc="@core.v1.NodeSystemInfo.kubeletVersion"),
            _Col("Internal-IP", doc="@core.v1.NodeStatus.addresses", priority=1),
            _Col("External-IP", doc="@core.v1.NodeStatus.addresses", priority=1),
            _Col("OS-Image", doc="@core.v1.NodeSystemInfo.osImage", priority=1),
            _Col("Kernel-Version", doc="@core.v1.NodeSystemInfo.kernelVersion", priority=1),
            _Col("Container-Runtime", doc="@core.v1.NodeSystemInfo.containerRuntimeVersion", priority=1),
        ),
        _node,
    ),
    ("", "PersistentVolumeClaim"): (
        (
            _NAME,
            _Col("Status", doc="@core.v1.PersistentVolumeClaimStatus.phase"),
            _Col("Volume", doc="@core.v1.PersistentVolumeClaimSpec.volumeName"),
            _Col("Capacity", doc="@core.v1.PersistentVolumeClaimStatus.capacity"),
            _Col("Access Modes", doc="@core.v1.PersistentVolumeClaimStatus.accessModes"),
            _Col("StorageClass", doc="StorageClass of the pvc"),
            _Col("VolumeAttributesClass", doc="VolumeAttributesClass of the pvc"),
            _AGE,
            _Col("VolumeMode", doc="@core.v1.PersistentVolumeClaimSpec.volumeMode", priority=1),
        ),
        _pvc,
    ),
    ("", "PersistentVolume"): (
        (
            _NAME,
            _Col("Capacity", doc="@core.v1.PersistentVolumeSpec.capacity"),
            _Col("Access Modes", doc="@core.v1.PersistentVolumeSpec.accessModes"),
            _Col("Reclaim Policy", doc="@core.v1.PersistentVolumeSpec.persistentVolumeReclaimPolicy"),
            _Col("Status", doc="@core.v1.PersistentVolumeStatus.phase"),
            _Col("Claim", doc="@core.v1.PersistentVolumeSpec.claimRef"),
            _Col("StorageClass", doc="StorageClass of the pv"),
            _Col("VolumeAttributesClass", doc="VolumeAttributesClass of the pv"),
            _Col("Reason", doc="@core.v1.PersistentVolumeStatus.reason"),
            _AGE,
            _Col("VolumeMode", doc="@core.v1.PersistentVolumeSpec.volumeMode", priority=1),
        ),
        _pv,
    ),
    ("", "Endpoints"): ((_NAME, _Col("Endpoints", doc="@core.v1.Endpoints.subsets"), _AGE), _endpoints),
    ("apps", "Deployment"): (
        (
            _NAME,
            _Col("Ready", doc="Number of the pod with ready state"),
            _Col("Up-to-date", doc="@apps.v1.DeploymentStatus.updatedReplicas"),
            _Col("Available", doc="@apps.v1.DeploymentStatus.availableReplicas"),
            _AGE,
            *_wide_workload("@apps.v1.DeploymentSpec.selector"),
        ),
        _deployment,
    ),
    ("apps", "ReplicaSet"): (
        (
            _NAME,
            _Col("Desired", "integer", "@apps.v1.ReplicaSetSpec.replicas"),
            _Col("Current", "integer", "@apps.v1.ReplicaSetStatus.replicas"),
            _Col("Ready", "integer", "@apps.v1.ReplicaSetStatus.readyReplicas"),
            _AGE,
            *_wide_workload("@apps.v1.ReplicaSetSpec.selector"),
        ),
        _replicaset,
    ),
    ("apps", "StatefulSet"): (
        (_NAME, _Col("Ready", doc="Number of the pod with ready state"), _AGE, _CONTAINERS, _IMAGES),
        _statefulset,
    ),
    ("apps", "DaemonSet"): (
        (
            _NAME,
            _Col("Desired", "integer", "@apps.v1.DaemonSetStatus.desiredNumberScheduled"),
            _Col("Current", "integer", "@apps.v1.DaemonSetStatus.currentNumberScheduled"),
            _Col("Ready", "integer", "@apps.v1.DaemonSetStatus.numberReady"),
            _Col("Up-to-date", "integer", "@apps.v1.DaemonSetStatus.updatedNumberScheduled"),
            _Col("Available", "integer", "@apps.v1.DaemonSetStatus.numberAvailable"),
            _Col("Node Selector", doc="@core.v1.PodSpec.nodeSelector"),
            _AGE,
            *_wide_workload("@apps.v1.DaemonSetSpec.selector"),
        ),
        _daemonset,
    ),
    ("batch", "Job"): (
        (
            _NAME,
            _Col("Status", doc="Status of the job."),
            _Col("Completions", doc="@batch.v1.JobStatus.succeeded"),
            _Col("Duration", doc="Time required to complete the job."),
            _AGE,
            *_wide_workload("@batch.v1.JobSpec.selector"),
        ),
        _job,
    ),
    ("batch", "CronJob"): (
        (
            _NAME,
            _Col("Schedule", doc="@batch.v1.CronJobSpec.schedule"),
            _Col("Timezone", doc="@batch.v1.CronJobSpec.timeZone"),
            _Col("Suspend", "boolean", "@batch.v1.CronJobSpec.suspend"),
            _Col("Active", "integer", "@batch.v1.CronJobStatus.active"),
            _Col("Last Schedule", doc="@batch.v1.CronJobStatus.lastScheduleTime"),
            _AGE,
            *_wide_workload("@batch.v1.JobSpec.selector"),
        ),
        _cronjob,
    ),
    ("networking.k8s.io", "Ingress"): (
        (
            _NAME,
            _Col(
                "Class",
                doc="The name of the IngressClass resource that should be used for additional configuration",
            ),
            _Col("Hosts", doc="Hosts that incoming requests are matched against before the ingress rule"),
            _Col("Address", doc="Address is a list containing ingress points for the load-balancer"),
            _Col("Ports", doc="Ports of TLS configurations that open"),
            _AGE,
        ),
        _ingress,
    ),
    ("coordination.k8s.io", "Lease"): (
        (_NAME, _Col("Holder", doc="@coordination.v1.LeaseSpec.holderIdentity"), _AGE),
        _lease,
    ),
}


def _binding_columns(kind: str) -> tuple[_Col, ...]:
    noun = kind[0].lower() + kind[1:]
    return (
        _NAME,
        _Col("Role", doc=f"@rbac.v1.{kind}.roleRef"),
        _AGE,
        _Col("Users", doc=f"Users in the {noun}", priority=1),
        _Col("Groups", doc=f"Groups in the {noun}", priority=1),
        _Col("ServiceAccounts", doc=f"ServiceAccounts in the {noun}", priority=1),
    )


_CREATED_AT_COLUMNS = (_NAME, _Col("Created At", "date", "@meta.ObjectMeta.creationTimestamp"))
_RBAC = "rbac.authorization.k8s.io"
_PRINTERS.update(
    {
        (_RBAC, "RoleBinding"): (_binding_columns("RoleBinding"), _binding),
        (_RBAC, "ClusterRoleBinding"): (_binding_columns("ClusterRoleBinding"), _binding),
        # Upstream has no printer for these and serves its default convertor's columns.
        (_RBAC, "Role"): (_CREATED_AT_COLUMNS, _created_at),
        (_RBAC, "ClusterRole"): (_CREATED_AT_COLUMNS, _created_at),
        ("apiextensions.k8s.io", "CustomResourceDefinition"): (_CREATED_AT_COLUMNS, _created_at),
        ("", "LimitRange"): (_CREATED_AT_COLUMNS, _created_at),
    }
)
_DEFAULT = ((_NAME, _AGE), _name_age)

_DEFINITION_PREFIX = {"meta": "io.k8s.apimachinery.pkg.apis.meta.v1."}


def _describe(doc: str) -> str:
    """Resolve an ``@<definition>.<field>`` reference to the field's schema description."""
    if not doc.startswith("@"):
        return doc
    definition, _, field = doc[1:].rpartition(".")
    group, _, rest = definition.partition(".")
    name = _DEFINITION_PREFIX.get(group, f"io.k8s.api.{group}.") + rest
    node = schema.definitions().get(name) or {}
    return str(((node.get("properties") or {}).get(field) or {}).get("description", ""))


@cache
def _column_definitions(columns: tuple[_Col, ...]) -> list[dict[str, Any]]:
    return [
        {
            "name": c.name,
            "type": c.type,
            "format": c.format,
            "description": _describe(c.doc),
            "priority": c.priority,
        }
        for c in columns
    ]
