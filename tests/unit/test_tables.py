"""Server-side Tables: upstream's columns and cells, kind by kind, and the Table envelope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tiphys.cluster.apiserver import crds, tables
from tiphys.cluster.apiserver.errors import StatusError
from tiphys.cluster.apiserver.resources import BUILTINS, ResourceType
from tiphys.cluster.apiserver.tables._custom import _go_text

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def rt_of(group: str, kind: str) -> ResourceType:
    found = next(rt for rt in BUILTINS if rt.group == group and rt.kind == kind)
    return found


def render(group: str, kind: str, obj: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return tables.table(rt_of(group, kind), [obj], now=NOW, resource_version="9", **kw)


def cells(group: str, kind: str, obj: dict[str, Any]) -> list[Any]:
    row: list[Any] = render(group, kind, obj)["rows"][0]["cells"]
    return row


def columns(group: str, kind: str) -> list[tuple[str, int]]:
    return [(c["name"], c["priority"]) for c in render(group, kind, {"metadata": {"name": "x"}})["columnDefinitions"]]


def meta(name: str = "x", **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "default", "creationTimestamp": ago(seconds=5), **extra}


# --- ages -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "delta, expected",
    [
        pytest.param(timedelta(0), "0s", id="now"),
        pytest.param(timedelta(seconds=-1.5), "0s", id="small-skew-is-now"),
        pytest.param(timedelta(seconds=-2), "<invalid>", id="future"),
        pytest.param(timedelta(seconds=5), "5s", id="seconds"),
        pytest.param(timedelta(seconds=119), "119s", id="seconds-below-two-minutes"),
        pytest.param(timedelta(minutes=2), "2m", id="two-minutes"),
        pytest.param(timedelta(minutes=3, seconds=2), "3m2s", id="minutes-seconds"),
        pytest.param(timedelta(minutes=10, seconds=30), "10m", id="ten-minutes-drops-seconds"),
        pytest.param(timedelta(minutes=179), "179m", id="minutes-below-three-hours"),
        pytest.param(timedelta(hours=5), "5h", id="hours"),
        pytest.param(timedelta(hours=5, minutes=30), "5h30m", id="hours-minutes"),
        pytest.param(timedelta(hours=8, minutes=30), "8h", id="eight-hours-drops-minutes"),
        pytest.param(timedelta(hours=47), "47h", id="hours-below-two-days"),
        pytest.param(timedelta(days=2), "2d", id="days"),
        pytest.param(timedelta(days=2, hours=5), "2d5h", id="days-hours"),
        pytest.param(timedelta(days=45, hours=5), "45d", id="many-days"),
        pytest.param(timedelta(days=729), "729d", id="days-below-two-years"),
        pytest.param(timedelta(days=730), "2y", id="two-years"),
        pytest.param(timedelta(days=830), "2y100d", id="years-days"),
        pytest.param(timedelta(days=365 * 9), "9y", id="years"),
    ],
)
def test_human_duration_matches_upstream(delta: timedelta, expected: str) -> None:
    assert tables.human_duration(delta) == expected


# --- pods -------------------------------------------------------------------------------------------


def container(name: str = "c", *, ready: bool = False, restarts: int = 0, **state: Any) -> dict[str, Any]:
    return {"name": name, "ready": ready, "restartCount": restarts, "state": state}


def pod(
    *,
    phase: str = "Running",
    statuses: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    containers: int = 1,
    **metadata: Any,
) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase, "conditions": conditions or []}
    if statuses is not None:
        status["containerStatuses"] = statuses
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}", "image": "nginx"} for i in range(containers)]}
    if init is not None:
        spec["initContainers"] = init
    return {"metadata": meta("p", **metadata), "spec": spec, "status": status}


RUNNING = {"running": {"startedAt": ago(minutes=1)}}
READY = [{"type": "Ready", "status": "True"}]


@pytest.mark.parametrize(
    "obj, ready, status",
    [
        pytest.param(
            pod(statuses=[container(ready=True, running={})], conditions=READY), "1/1", "Running", id="running"
        ),
        pytest.param(pod(phase="Pending"), "0/1", "Pending", id="pending-without-statuses"),
        pytest.param(
            pod(phase="Succeeded", statuses=[container(terminated={"exitCode": 0, "reason": "Completed"})]),
            "0/1",
            "Completed",
            id="succeeded-shows-completed",
        ),
        pytest.param(
            pod(phase="Failed", statuses=[container(terminated={"exitCode": 1, "reason": "Error"})]),
            "0/1",
            "Error",
            id="failed-shows-error",
        ),
        pytest.param(
            pod(statuses=[container(waiting={"reason": "CrashLoopBackOff"})]),
            "0/1",
            "CrashLoopBackOff",
            id="waiting-reason",
        ),
        pytest.param(pod(statuses=[container(terminated={"exitCode": 2})]), "0/1", "ExitCode:2", id="exit-code"),
        pytest.param(
            pod(statuses=[container(terminated={"exitCode": 137, "signal": 9})]), "0/1", "Signal:9", id="signal"
        ),
        pytest.param(
            pod(
                containers=2,
                statuses=[
                    container("c0", waiting={"reason": "ImagePullBackOff"}),
                    container("c1", waiting={"reason": "X"}),
                ],
            ),
            "0/2",
            "ImagePullBackOff",
            id="first-container-reason-wins",
        ),
        pytest.param(
            pod(
                containers=2,
                statuses=[
                    container("c0", terminated={"exitCode": 0, "reason": "Completed"}),
                    container("c1", ready=True, running={}),
                ],
                conditions=READY,
            ),
            "1/2",
            "Running",
            id="completed-with-running-container-and-ready",
        ),
        pytest.param(
            pod(
                containers=2,
                statuses=[
                    container("c0", terminated={"exitCode": 0, "reason": "Completed"}),
                    container("c1", ready=True, running={}),
                ],
            ),
            "1/2",
            "NotReady",
            id="completed-with-running-container-not-ready",
        ),
        pytest.param(
            pod(statuses=[container(ready=True, running={})], deletionTimestamp=ago(seconds=1)),
            "1/1",
            "Terminating",
            id="terminating",
        ),
        pytest.param(
            pod(
                phase="Succeeded",
                statuses=[container(terminated={"exitCode": 0, "reason": "Completed"})],
                deletionTimestamp=ago(seconds=1),
            ),
            "0/1",
            "Completed",
            id="terminal-pod-is-not-terminating",
        ),
        pytest.param(
            {**pod(deletionTimestamp=ago(seconds=1)), "status": {"phase": "Running", "reason": "NodeLost"}},
            "0/1",
            "Unknown",
            id="node-lost",
        ),
        pytest.param(
            pod(
                phase="Pending",
                init=[{"name": "i0"}, {"name": "i1"}],
                init_statuses=[container("i0", terminated={"exitCode": 0}), container("i1", running={})],
                statuses=[container(waiting={"reason": "PodInitializing"})],
            ),
            "0/1",
            "Init:1/2",
            id="init-progress",
        ),
        pytest.param(
            pod(
                phase="Pending",
                init=[{"name": "i0"}],
                init_statuses=[container("i0", waiting={"reason": "CrashLoopBackOff"})],
            ),
            "0/1",
            "Init:CrashLoopBackOff",
            id="init-waiting-reason",
        ),
        pytest.param(
            pod(
                phase="Pending",
                init=[{"name": "i0"}],
                init_statuses=[container("i0", terminated={"exitCode": 3})],
            ),
            "0/1",
            "Init:ExitCode:3",
            id="init-failed-exit-code",
        ),
        pytest.param(
            pod(
                init=[{"name": "proxy", "restartPolicy": "Always"}],
                init_statuses=[{**container("proxy", ready=True, running={}), "started": True}],
                statuses=[container(ready=True, running={})],
                conditions=[*READY, {"type": "Initialized", "status": "True"}],
            ),
            "2/2",
            "Running",
            id="sidecar-counts-in-ready",
        ),
        pytest.param(
            pod(phase="Pending", conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]),
            "0/1",
            "SchedulingGated",
            id="scheduling-gated",
        ),
    ],
)
def test_pod_ready_and_status(obj: dict[str, Any], ready: str, status: str) -> None:
    row = cells("", "Pod", obj)
    assert (row[1], row[2]) == (ready, status)


@pytest.mark.parametrize(
    "statuses, expected",
    [
        pytest.param([container(running={})], "0", id="never-restarted"),
        pytest.param([container(restarts=3, running={})], "3", id="restarted-without-last-state"),
        pytest.param(
            [
                {**container("a", restarts=1, running={}), "lastState": {"terminated": {"finishedAt": ago(minutes=5)}}},
                {
                    **container("b", restarts=2, running={}),
                    "lastState": {"terminated": {"finishedAt": ago(seconds=30)}},
                },
            ],
            "3 (30s ago)",
            id="sum-with-latest-restart",
        ),
    ],
)
def test_pod_restarts(statuses: list[dict[str, Any]], expected: str) -> None:
    assert cells("", "Pod", pod(statuses=statuses, containers=len(statuses)))[3] == expected


def test_pod_wide_cells() -> None:
    obj = pod(statuses=[container(ready=True, running={})], conditions=[*READY, {"type": "g1", "status": "True"}])
    obj["spec"].update(nodeName="node-1", readinessGates=[{"conditionType": "g1"}, {"conditionType": "g2"}])
    obj["status"].update(podIPs=[{"ip": "10.0.0.7"}], nominatedNodeName="node-2")
    assert cells("", "Pod", obj) == ["p", "1/1", "Running", "0", "5s", "10.0.0.7", "node-1", "node-2", "1/2"]
    assert cells("", "Pod", pod())[5:] == ["<none>", "<none>", "<none>", "<none>"]


def test_pod_rows_carry_completed_condition() -> None:
    done = render("", "Pod", pod(phase="Succeeded"))["rows"][0]
    running = render("", "Pod", pod())["rows"][0]
    assert done["conditions"] == [
        {"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}
    ]
    assert "conditions" not in running


# --- other built-in kinds ---------------------------------------------------------------------------


SELECTOR = {
    "matchLabels": {"app": "web"},
    "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["b", "a"]},
        {"key": "env", "operator": "Exists"},
        {"key": "zz", "operator": "DoesNotExist"},
    ],
}
TEMPLATE = {"spec": {"containers": [{"name": "web", "image": "nginx:1"}, {"name": "log", "image": "busybox"}]}}


@pytest.mark.parametrize(
    "group, kind, obj, expected",
    [
        pytest.param(
            "",
            "Namespace",
            {"metadata": meta("ns"), "status": {"phase": "Active"}},
            ["ns", "Active", "5s"],
            id="namespace",
        ),
        pytest.param(
            "",
            "ConfigMap",
            {"metadata": meta("cm"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}},
            ["cm", 3, "5s"],
            id="configmap-counts-data-and-binary-data",
        ),
        pytest.param("", "ConfigMap", {"metadata": meta("cm")}, ["cm", 0, "5s"], id="configmap-empty"),
        pytest.param(
            "",
            "Secret",
            {"metadata": meta("s"), "type": "Opaque", "data": {"a": "eA=="}},
            ["s", "Opaque", 1, "5s"],
            id="secret",
        ),
        pytest.param(
            "",
            "Service",
            {
                "metadata": meta("svc"),
                "spec": {
                    "type": "NodePort",
                    "clusterIP": "10.96.0.10",
                    "clusterIPs": ["10.96.0.10"],
                    "ports": [{"port": 80, "protocol": "TCP"}, {"port": 443, "nodePort": 30001, "protocol": "TCP"}],
                    "selector": {"b": "2", "a": "1"},
                },
            },
            ["svc", "NodePort", "10.96.0.10", "<none>", "80/TCP,443:30001/TCP", "5s", "a=1,b=2"],
            id="service-node-port",
        ),
        pytest.param(
            "",
            "Service",
            {"metadata": meta("lb"), "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.11"}, "status": {}},
            ["lb", "LoadBalancer", "10.96.0.11", "<pending>", "<none>", "5s", "<none>"],
            id="service-load-balancer-pending",
        ),
        pytest.param(
            "",
            "Service",
            {
                "metadata": meta("lb"),
                "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.0.11"], "externalIPs": ["1.2.3.4"]},
                "status": {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "lb.example.com"}]}},
            },
            ["lb", "LoadBalancer", "10.96.0.11", "5.6.7.8,lb.example.com,1.2.3.4", "<none>", "5s", "<none>"],
            id="service-load-balancer-with-ingress",
        ),
        pytest.param(
            "",
            "Service",
            {"metadata": meta("ext"), "spec": {"type": "ExternalName", "externalName": "db.example.com"}},
            ["ext", "ExternalName", "<none>", "db.example.com", "<none>", "5s", "<none>"],
            id="service-external-name",
        ),
        pytest.param(
            "",
            "ServiceAccount",
            {"metadata": meta("default"), "secrets": [{"name": "t"}]},
            ["default", 1, "5s"],
            id="serviceaccount",
        ),
        pytest.param(
            "apps",
            "Deployment",
            {
                "metadata": meta("web"),
                "spec": {"replicas": 3, "selector": SELECTOR, "template": TEMPLATE},
                "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
            },
            ["web", "2/3", 3, 2, "5s", "web,log", "nginx:1,busybox", "app=web,env,tier in (a,b),!zz"],
            id="deployment",
        ),
        pytest.param(
            "apps",
            "Deployment",
            {"metadata": meta("new"), "spec": {"replicas": 1, "template": TEMPLATE}},
            ["new", "0/1", 0, 0, "5s", "web,log", "nginx:1,busybox", ""],
            id="deployment-without-status",
        ),
        pytest.param(
            "apps",
            "ReplicaSet",
            {
                "metadata": meta("web-1"),
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE},
                "status": {"replicas": 2, "readyReplicas": 1},
            },
            ["web-1", 2, 2, 1, "5s", "web,log", "nginx:1,busybox", "app=web"],
            id="replicaset",
        ),
        pytest.param(
            "apps",
            "StatefulSet",
            {"metadata": meta("db"), "spec": {"replicas": 3, "template": TEMPLATE}, "status": {"readyReplicas": 3}},
            ["db", "3/3", "5s", "web,log", "nginx:1,busybox"],
            id="statefulset",
        ),
        pytest.param(
            "apps",
            "DaemonSet",
            {
                "metadata": meta("agent"),
                "spec": {"selector": {}, "template": {"spec": {**TEMPLATE["spec"], "nodeSelector": {"os": "linux"}}}},
                "status": {
                    "desiredNumberScheduled": 2,
                    "currentNumberScheduled": 2,
                    "numberReady": 1,
                    "updatedNumberScheduled": 2,
                    "numberAvailable": 1,
                },
            },
            ["agent", 2, 2, 1, 2, 1, "os=linux", "5s", "web,log", "nginx:1,busybox", "<none>"],
            id="daemonset",
        ),
        pytest.param(
            "batch",
            "CronJob",
            {
                "metadata": meta("nightly"),
                "spec": {"schedule": "0 1 * * *", "suspend": False, "jobTemplate": {"spec": {"template": TEMPLATE}}},
                "status": {"active": [{"name": "j"}], "lastScheduleTime": ago(hours=3)},
            },
            ["nightly", "0 1 * * *", "<none>", "False", 1, "3h", "5s", "web,log", "nginx:1,busybox", "<none>"],
            id="cronjob",
        ),
        pytest.param(
            "",
            "Event",
            {
                "metadata": meta("web.1"),
                "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{web}"},
                "type": "Normal",
                "reason": "Pulled",
                "message": " Pulled image \n",
                "source": {"component": "kubelet", "host": "node-1"},
                "firstTimestamp": ago(minutes=10),
                "lastTimestamp": ago(minutes=3, seconds=2),
                "count": 4,
            },
            [
                "3m2s",
                "Normal",
                "Pulled",
                "pod/web",
                "spec.containers{web}",
                "kubelet, node-1",
                "Pulled image",
                "10m",
                4,
                "web.1",
            ],
            id="event",
        ),
        pytest.param(
            "",
            "Event",
            {
                "metadata": meta("e"),
                "involvedObject": {"kind": "Node"},
                "eventTime": "2024-06-01T11:59:00.000000Z",
                "reportingComponent": "scheduler",
            },
            ["60s", "", "", "node", "", "scheduler", "", "60s", 1, "e"],
            id="event-from-events-api",
        ),
        pytest.param(
            "",
            "Node",
            {
                "metadata": {
                    **meta("n1"),
                    "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "edge"},
                },
                "spec": {"unschedulable": True},
                "status": {
                    "conditions": [{"type": "Ready", "status": "False"}],
                    "nodeInfo": {"kubeletVersion": "v1.31.9", "osImage": "Debian"},
                    "addresses": [{"type": "InternalIP", "address": "192.168.1.2"}],
                },
            },
            [
                "n1",
                "NotReady,SchedulingDisabled",
                "control-plane,edge",
                "5s",
                "v1.31.9",
                "192.168.1.2",
                "<none>",
                "Debian",
                "<unknown>",
                "<unknown>",
            ],
            id="node",
        ),
        pytest.param(
            "",
            "PersistentVolumeClaim",
            {
                "metadata": meta("data"),
                "spec": {"volumeName": "pv-1", "storageClassName": "standard", "volumeMode": "Filesystem"},
                "status": {
                    "phase": "Bound",
                    "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                    "capacity": {"storage": "1Gi"},
                },
            },
            ["data", "Bound", "pv-1", "1Gi", "RWO,RWX", "standard", "<unset>", "5s", "Filesystem"],
            id="pvc-bound",
        ),
        pytest.param(
            "",
            "PersistentVolumeClaim",
            {"metadata": meta("data"), "spec": {}, "status": {"phase": "Pending"}},
            ["data", "Pending", "", "", "", "", "<unset>", "5s", "<unset>"],
            id="pvc-pending",
        ),
        pytest.param(
            "",
            "PersistentVolume",
            {
                "metadata": meta("pv-1"),
                "spec": {
                    "capacity": {"storage": "5Gi"},
                    "accessModes": ["ReadWriteOnce"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "claimRef": {"namespace": "default", "name": "data"},
                    "storageClassName": "standard",
                },
                "status": {"phase": "Bound"},
            },
            ["pv-1", "5Gi", "RWO", "Retain", "Bound", "default/data", "standard", "<unset>", "", "5s", "<unset>"],
            id="pv",
        ),
        pytest.param("", "Endpoints", {"metadata": meta("svc")}, ["svc", "<none>", "5s"], id="endpoints-empty"),
        pytest.param(
            "",
            "Endpoints",
            {
                "metadata": meta("svc"),
                "subsets": [
                    {"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 5)], "ports": [{"port": 80}]},
                    {"addresses": [{"ip": "fd00::1"}]},
                ],
            },
            ["svc", "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...", "5s"],
            id="endpoints-more",
        ),
        pytest.param(
            "networking.k8s.io",
            "Ingress",
            {
                "metadata": meta("web"),
                "spec": {
                    "ingressClassName": "nginx",
                    "rules": [{"host": "a.example.com"}, {}, {"host": "b.example.com"}],
                    "tls": [{"hosts": ["a.example.com"]}],
                },
                "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}},
            },
            ["web", "nginx", "a.example.com,b.example.com", "1.2.3.4", "80, 443", "5s"],
            id="ingress",
        ),
        pytest.param(
            "networking.k8s.io",
            "Ingress",
            {"metadata": meta("any"), "spec": {"rules": [{"host": h} for h in "abcde"]}},
            ["any", "<none>", "a,b,c + 2 more...", "", "80", "5s"],
            id="ingress-many-hosts",
        ),
        pytest.param(
            "rbac.authorization.k8s.io",
            "RoleBinding",
            {
                "metadata": meta("rb"),
                "roleRef": {"kind": "ClusterRole", "name": "view"},
                "subjects": [
                    {"kind": "User", "name": "alice"},
                    {"kind": "Group", "name": "devs"},
                    {"kind": "ServiceAccount", "name": "ci", "namespace": "tools"},
                    {"kind": "User", "name": "bob"},
                ],
            },
            ["rb", "ClusterRole/view", "5s", "alice, bob", "devs", "tools/ci"],
            id="rolebinding",
        ),
        pytest.param(
            "rbac.authorization.k8s.io",
            "ClusterRole",
            {"metadata": {"name": "view", "creationTimestamp": "2024-05-01T10:00:00Z"}},
            ["view", "2024-05-01T10:00:00Z"],
            id="clusterrole-created-at",
        ),
        pytest.param(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            {"metadata": {"name": "widgets.example.com", "creationTimestamp": "2024-05-01T10:00:00+02:00"}},
            ["widgets.example.com", "2024-05-01T08:00:00Z"],
            id="crd-created-at-in-utc",
        ),
        pytest.param(
            "coordination.k8s.io",
            "Lease",
            {"metadata": meta("leader"), "spec": {"holderIdentity": "ctrl-1"}},
            ["leader", "ctrl-1", "5s"],
            id="lease",
        ),
        pytest.param(
            "autoscaling",
            "HorizontalPodAutoscaler",
            {"metadata": meta("hpa")},
            ["hpa", "5s"],
            id="anything-else-is-name-and-age",
        ),
    ],
)
def test_builtin_cells(group: str, kind: str, obj: dict[str, Any], expected: list[Any]) -> None:
    assert cells(group, kind, obj) == expected


def job(conditions: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    metadata = meta("migrate", **extra.pop("metadata", {}))
    spec = {"completions": 1, "template": TEMPLATE, "selector": {"matchLabels": {"job": "m"}}, **extra.pop("spec", {})}
    return {"metadata": metadata, "spec": spec, "status": {"conditions": conditions or [], **extra}}


def cond(kind: str, status: str = "True") -> dict[str, Any]:
    return {"type": kind, "status": status}


@pytest.mark.parametrize(
    "obj, status, completions, duration",
    [
        pytest.param(job(), "Running", "0/1", "", id="running-not-started"),
        pytest.param(job(startTime=ago(minutes=3)), "Running", "0/1", "3m", id="running-duration-until-now"),
        pytest.param(
            job([cond("Complete")], succeeded=1, startTime=ago(seconds=20), completionTime=ago(seconds=13)),
            "Complete",
            "1/1",
            "7s",
            id="complete",
        ),
        pytest.param(job([cond("Failed")]), "Failed", "0/1", "", id="failed"),
        pytest.param(job([cond("Complete", "False"), cond("Suspended")]), "Suspended", "0/1", "", id="suspended"),
        pytest.param(job([cond("FailureTarget")]), "FailureTarget", "0/1", "", id="failure-target"),
        pytest.param(job(metadata={"deletionTimestamp": ago(seconds=1)}), "Terminating", "0/1", "", id="terminating"),
        pytest.param(job(spec={"completions": None, "parallelism": 3}), "Running", "0/1 of 3", "", id="parallel"),
        pytest.param(job(spec={"completions": 5}, succeeded=2), "Running", "2/5", "", id="completions"),
    ],
)
def test_job_cells(obj: dict[str, Any], status: str, completions: str, duration: str) -> None:
    assert cells("batch", "Job", obj) == [
        "migrate",
        status,
        completions,
        duration,
        "5s",
        "web,log",
        "nginx:1,busybox",
        "job=m",
    ]


@pytest.mark.parametrize(
    "group, kind, expected",
    [
        pytest.param(
            "",
            "Pod",
            [
                ("Name", 0),
                ("Ready", 0),
                ("Status", 0),
                ("Restarts", 0),
                ("Age", 0),
                ("IP", 1),
                ("Node", 1),
                ("Nominated Node", 1),
                ("Readiness Gates", 1),
            ],
            id="pod",
        ),
        pytest.param(
            "",
            "Service",
            [
                ("Name", 0),
                ("Type", 0),
                ("Cluster-IP", 0),
                ("External-IP", 0),
                ("Port(s)", 0),
                ("Age", 0),
                ("Selector", 1),
            ],
            id="service",
        ),
        pytest.param(
            "batch",
            "Job",
            [
                ("Name", 0),
                ("Status", 0),
                ("Completions", 0),
                ("Duration", 0),
                ("Age", 0),
                ("Containers", 1),
                ("Images", 1),
                ("Selector", 1),
            ],
            id="job",
        ),
        pytest.param(
            "apps",
            "Deployment",
            [
                ("Name", 0),
                ("Ready", 0),
                ("Up-to-date", 0),
                ("Available", 0),
                ("Age", 0),
                ("Containers", 1),
                ("Images", 1),
                ("Selector", 1),
            ],
            id="deployment",
        ),
        pytest.param("", "ConfigMap", [("Name", 0), ("Data", 0), ("Age", 0)], id="configmap"),
        pytest.param(
            "",
            "Event",
            [
                ("Last Seen", 0),
                ("Type", 0),
                ("Reason", 0),
                ("Object", 0),
                ("Subobject", 1),
                ("Source", 1),
                ("Message", 0),
                ("First Seen", 1),
                ("Count", 1),
                ("Name", 1),
            ],
            id="event",
        ),
        pytest.param("apiextensions.k8s.io", "CustomResourceDefinition", [("Name", 0), ("Created At", 0)], id="crd"),
    ],
)
def test_column_names_and_priorities(group: str, kind: str, expected: list[tuple[str, int]]) -> None:
    assert columns(group, kind) == expected


def test_column_definitions_are_complete_with_descriptions() -> None:
    for rt in BUILTINS:
        definitions = render(rt.group, rt.kind, {"metadata": {"name": "x"}})["columnDefinitions"]
        for column in definitions:
            assert set(column) == {"name", "type", "format", "description", "priority"}, rt.kind
            assert column["description"], f"{rt.kind} {column['name']}"
        assert [c["format"] for c in definitions].count("name") == 1, rt.kind


def test_every_builtin_row_matches_its_columns() -> None:
    for rt in BUILTINS:
        table = render(rt.group, rt.kind, {"metadata": meta()})
        assert len(table["rows"][0]["cells"]) == len(table["columnDefinitions"]), rt.kind


# --- custom resources -------------------------------------------------------------------------------

WIDGET_CRD: dict[str, Any] = {
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"kind": "Widget", "plural": "widgets"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {"name": "Ratio", "type": "number", "jsonPath": ".spec.ratio"},
                    {"name": "First", "type": "string", "jsonPath": ".spec.items[0].name", "description": "first"},
                    {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
                    {"name": "Owner", "type": "string", "jsonPath": ".metadata.annotations.example\\.com/owner"},
                    {"name": "Labels", "type": "string", "jsonPath": ".metadata.labels", "priority": 1},
                    {"name": "On", "type": "boolean", "jsonPath": ".spec.enabled"},
                    {"name": "Started", "type": "date", "jsonPath": ".status.startedAt"},
                    {"name": "Missing", "type": "string", "jsonPath": ".spec.nothing.here"},
                    {"name": "Wrong", "type": "integer", "jsonPath": ".spec.items[0].name"},
                ],
            },
            {"name": "v2", "served": True, "storage": False},
        ],
    },
}
WIDGET_V1, WIDGET_V2 = crds.crd_types(WIDGET_CRD)
WIDGET = {
    "metadata": {
        "name": "w1",
        "creationTimestamp": ago(hours=2),
        "labels": {"b": "2", "a": "1"},
        "annotations": {"example.com/owner": "team-a"},
    },
    "spec": {"size": 3.0, "ratio": 2, "items": [{"name": "first"}, {"name": "second"}], "enabled": True},
    "status": {
        "conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}],
        "startedAt": ago(minutes=3, seconds=2),
    },
}


def test_custom_resource_printer_columns() -> None:
    result = tables.table(WIDGET_V1, [WIDGET], now=NOW, resource_version="3")
    assert [(c["name"], c["type"], c["priority"]) for c in result["columnDefinitions"]] == [
        ("Name", "string", 0),
        ("Size", "integer", 0),
        ("Ratio", "number", 0),
        ("First", "string", 0),
        ("Ready", "string", 0),
        ("Owner", "string", 0),
        ("Labels", "string", 1),
        ("On", "boolean", 0),
        ("Started", "date", 0),
        ("Missing", "string", 0),
        ("Wrong", "integer", 0),
    ]
    descriptions = {c["name"]: c["description"] for c in result["columnDefinitions"]}
    assert descriptions["First"] == "first"
    assert descriptions["Size"] == "Custom resource definition column (in JSONPath format): .spec.size"
    assert result["rows"][0]["cells"] == [
        "w1",
        3,
        2.0,
        "first",
        "True",
        "team-a",
        '{"a":"1","b":"2"}',
        True,
        "3m2s",
        None,
        None,
    ]


def test_custom_resource_without_columns_gets_name_and_age() -> None:
    result = tables.table(WIDGET_V2, [WIDGET], now=NOW, resource_version="3")
    assert [(c["name"], c["type"]) for c in result["columnDefinitions"]] == [("Name", "string"), ("Age", "date")]
    assert result["rows"][0]["cells"] == ["w1", "120m"]  # HumanDuration keeps minutes below 3h


@pytest.mark.parametrize(
    "path, expected",
    [
        pytest.param(".spec.size", 3.0, id="nested"),
        pytest.param("{.spec.size}", 3.0, id="braces"),
        pytest.param(".spec.items[1].name", "second", id="index"),
        pytest.param(".spec.items[-1].name", "second", id="negative-index"),
        pytest.param(".spec.items[*].name", "first", id="wildcard-takes-first"),
        pytest.param(".spec['size']", 3.0, id="bracket-key"),
        pytest.param(".metadata.annotations.example\\.com/owner", "team-a", id="escaped-dot"),
        pytest.param('.status.conditions[?(@.type=="Synced")].status', "False", id="filter"),
        pytest.param(".status.conditions[?(@.type=='Ready')].status", "True", id="filter-single-quotes"),
        pytest.param(".spec.items[5].name", None, id="index-out-of-range"),
        pytest.param("spec.size", None, id="not-a-path"),
    ],
)
def test_custom_column_json_paths(path: str, expected: Any) -> None:
    column = {"name": "C", "type": "string", "jsonPath": path}
    rt = crds.crd_types(
        {
            **WIDGET_CRD,
            "spec": {**WIDGET_CRD["spec"], "versions": [{"name": "v1", "additionalPrinterColumns": [column]}]},
        }
    )[0]
    cell = tables.table(rt, [WIDGET], now=NOW, resource_version="1")["rows"][0]["cells"][1]
    assert cell == (None if expected is None else _go_text(expected))


# --- the Table envelope -----------------------------------------------------------------------------


def test_table_envelope_with_partial_object_metadata() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("cm", labels={"a": "b"}), "data": {"k": "v"}}
    result = render("", "ConfigMap", obj, continue_token="next")
    assert result["kind"] == "Table"
    assert result["apiVersion"] == "meta.k8s.io/v1"
    assert result["metadata"] == {"resourceVersion": "9", "continue": "next"}
    assert result["rows"] == [
        {
            "cells": ["cm", 1, "5s"],
            "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]},
        }
    ]


@pytest.mark.parametrize(
    "include, has_object, is_full",
    [
        pytest.param("Object", True, True, id="object"),
        pytest.param("Metadata", True, False, id="metadata"),
        pytest.param("", True, False, id="default-is-metadata"),
        pytest.param("None", False, False, id="none"),
    ],
)
def test_include_object(include: str, has_object: bool, is_full: bool) -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("cm")}
    row = render("", "ConfigMap", obj, include_object=include)["rows"][0]
    assert ("object" in row) is has_object
    if is_full:
        assert row["object"] is obj


def test_unknown_include_object_is_a_bad_request() -> None:
    with pytest.raises(StatusError) as caught:
        render("", "ConfigMap", {"metadata": meta()}, include_object="Everything")
    assert (caught.value.code, caught.value.reason) == (400, "BadRequest")


def test_watch_events_after_the_first_omit_column_definitions() -> None:
    result = render("", "ConfigMap", {"metadata": meta()}, with_columns=False)
    assert "columnDefinitions" not in result
    assert result["metadata"] == {"resourceVersion": "9"}


def test_empty_list_still_has_columns() -> None:
    result = tables.table(rt_of("", "Pod"), [], now=NOW, resource_version="1")
    assert result["rows"] == []
    assert result["columnDefinitions"][0]["name"] == "Name"


def test_ten_thousand_configmaps_render_every_row() -> None:
    objs = [
        {
            "metadata": {"name": f"cm-{i}", "namespace": "default", "creationTimestamp": ago(seconds=i % 500)},
            "data": {"a": "b"},
        }
        for i in range(10_000)
    ]
    result = tables.table(rt_of("", "ConfigMap"), objs, now=NOW, resource_version="1")
    assert len(result["rows"]) == 10_000
    assert result["rows"][-1]["cells"][0] == "cm-9999"
