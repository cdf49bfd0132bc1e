"""Server-side printing: the ``meta.k8s.io/v1`` Table that ``kubectl get`` asks for.

One small cell function per kind, reproducing upstream's printers (``pkg/printers/internalversion``)
as the 1.31 API server runs them, that is always with ``Wide`` on: kubectl hides the priority-1
columns itself unless ``-o wide``. Custom resources get ``Name`` plus the CRD's
``additionalPrinterColumns`` (or ``Age``), kinds upstream prints with its default convertor get
``Name``/``Created At``, and anything else ``Name``/``Age``. Ages are upstream's ``HumanDuration``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any, NamedTuple

import orjson

from . import errors, schema
from .resources import ResourceType

__all__ = ["human_duration", "table"]

Obj = Mapping[str, Any]
Cells = list[Any]


class _Col(NamedTuple):
    name: str
    type: str = "string"
    doc: str = ""  # literal text, or "@<definition>.<field>" to borrow the schema's description
    priority: int = 0
    format: str = ""


def human_duration(d: timedelta) -> str:
    """k8s.io/apimachinery's ``duration.HumanDuration``: ~2-3 significant figures."""
    us = (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds
    seconds = us // 1_000_000 if us >= 0 else -(-us // 1_000_000)  # Go truncates towards zero
    if seconds < -1:
        return "<invalid>"  # more than the 2 s of clock skew upstream tolerates
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class _Clock:
    """``now`` plus a per-table cache: a list of 10,000 objects shares few distinct timestamps."""

    __slots__ = ("_ages", "now")

    def __init__(self, now: datetime) -> None:
        self.now = now if now.tzinfo else now.replace(tzinfo=UTC)
        self._ages: dict[str, str] = {}

    def since(self, value: Any) -> str:
        """Upstream's ``translateTimestampSince``: ``<unknown>`` for a zero time."""
        if not isinstance(value, str) or not value:
            return "<unknown>"
        age = self._ages.get(value)
        if age is None:
            t = _parse_time(value)
            age = "<unknown>" if t is None else human_duration(self.now - t)
            self._ages[value] = age
        return age


# --- shared formatting helpers (upstream's printers.go names in comments) --------------------------


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _name(obj: Obj) -> str:
    return str(_meta(obj).get("name", ""))


def _age(obj: Obj, clock: _Clock) -> str:
    return clock.since(_meta(obj).get("creationTimestamp"))


def _path(obj: Obj, *keys: str) -> Any:
    node: Any = obj
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _format_labels(labels: Mapping[str, str] | None) -> str:
    """labels.FormatLabels."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) if labels else "<none>"


def _selector_string(selector: Obj | None) -> str:
    """metav1.LabelSelectorAsSelector(...).String(): requirements sorted by key."""
    if not selector:
        return ""
    reqs = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key", ""), expr.get("operator", ""), sorted(set(expr.get("values") or ()))
        text = {
            "In": f"{key} in ({','.join(values)})",
            "NotIn": f"{key} notin ({','.join(values)})",
            "Exists": key,
            "DoesNotExist": f"!{key}",
        }.get(op)
        if text is None:
            return "<error>"
        reqs.append((key, text))
    return ",".join(text for _, text in sorted(reqs, key=lambda r: r[0]))


def _format_selector(selector: Obj | None) -> str:
    """metav1.FormatLabelSelector."""
    return _selector_string(selector) or "<none>"


def _containers(pod_spec: Obj | None) -> tuple[str, str]:
    """layoutContainerCells: names and images, comma-joined."""
    containers = (pod_spec or {}).get("containers") or ()
    return ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)


def _template_spec(obj: Obj) -> Obj | None:
    spec: Obj | None = _path(obj, "spec", "template", "spec")
    return spec


def _lb_status(status: Obj | None) -> str:
    """loadBalancerStatusStringer with wide on: sorted unique IPs or hostnames."""
    seen = {i.get("ip") or i.get("hostname") for i in (status or {}).get("ingress") or ()}
    return ",".join(sorted(s for s in seen if s))


def _bool(value: Any) -> str:
    """printBoolPtr."""
    return "<unset>" if value is None else ("True" if value else "False")


def _more(items: list[str], total: int, limit: int) -> str:
    text = ",".join(items[:limit])
    return f"{text} + {total - limit} more..." if total > limit else text


def _has_condition(conditions: Iterable[Obj] | None, kind: str) -> bool:
    """hasPodReadyCondition: any condition of ``kind`` is True."""
    return any(c.get("status") == "True" for c in conditions or () if c.get("type") == kind)


def _first_condition_true(conditions: Iterable[Obj] | None, kind: str) -> bool:
    """hasJobCondition, isPodInitializedConditionTrue: the first condition of ``kind`` decides."""
    for c in conditions or ():
        if c.get("type") == kind:
            return bool(c.get("status") == "True")
    return False


# --- one cell function per kind --------------------------------------------------------------------


def _exit_reason(terminated: Obj, prefix: str) -> str:
    if terminated.get("reason"):
        return prefix + str(terminated["reason"])
    signal = terminated.get("signal") or 0
    return f"{prefix}Signal:{signal}" if signal else f"{prefix}ExitCode:{terminated.get('exitCode') or 0}"


def _later(current: datetime | None, status: Obj) -> datetime | None:
    finished = _parse_time(_path(status, "lastState", "terminated", "finishedAt"))
    if finished is None or (current is not None and current >= finished):
        return current
    return finished


def _pod(pod: Obj, clock: _Clock) -> Cells:
    """printPod: READY, STATUS (reason logic), RESTARTS with the last restart's age."""
    spec, status, meta = pod.get("spec") or {}, pod.get("status") or {}, _meta(pod)
    init_specs = spec.get("initContainers") or ()
    sidecars = {c.get("name") for c in init_specs if c.get("restartPolicy") == "Always"}  # names are unique
    total = len(spec.get("containers") or ()) + len(sidecars)
    phase = status.get("phase") or ""
    conditions = status.get("conditions") or ()
    reason = status.get("reason") or phase
    if any(c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated" for c in conditions):
        reason = "SchedulingGated"

    ready = restarts = sidecar_restarts = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None
    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or ()):
        restarts += cs.get("restartCount") or 0
        last_restart = _later(last_restart, cs)
        sidecar = cs.get("name") in sidecars
        if sidecar:
            sidecar_restarts += cs.get("restartCount") or 0
            last_sidecar_restart = _later(last_sidecar_restart, cs)
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and not terminated.get("exitCode"):
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if terminated is not None:
            reason = _exit_reason(terminated, "Init:")
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _first_condition_true(conditions, "Initialized"):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        running = False
        # Upstream walks the statuses backwards, so the first container's reason wins.
        for cs in reversed(status.get("containerStatuses") or ()):
            restarts += cs.get("restartCount") or 0
            last_restart = _later(last_restart, cs)
            state = cs.get("state") or {}
            terminated, waiting = state.get("terminated"), state.get("waiting")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None:
                reason = _exit_reason(terminated, "")
            elif cs.get("ready") and state.get("running") is not None:
                running = True
                ready += 1
        if reason == "Completed" and running:
            reason = "Running" if _has_condition(conditions, "Ready") else "NotReady"

    if meta.get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({human_duration(clock.now - last_restart)} ago)"

    pod_ips = status.get("podIPs") or ()
    ip = (pod_ips[0].get("ip") if pod_ips else status.get("podIP")) or "<none>"
    gates = spec.get("readinessGates") or ()
    readiness = "<none>"
    if gates:
        by_type: dict[Any, Any] = {}
        for c in conditions:
            by_type.setdefault(c.get("type"), c.get("status"))
        passed = sum(1 for g in gates if by_type.get(g.get("conditionType")) == "True")
        readiness = f"{passed}/{len(gates)}"
    return [
        meta.get("name", ""),
        f"{ready}/{total}",
        reason,
        restarts_text,
        clock.since(meta.get("creationTimestamp")),
        ip,
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        readiness,
    ]


_POD_DONE = {
    phase: [{"type": "Completed", "status": "True", "reason": phase, "message": message}]
    for phase, message in (("Succeeded", "The pod has completed successfully."), ("Failed", "The pod failed."))
}


def _pod_conditions(pod: Obj) -> list[dict[str, str]] | None:
    return _POD_DONE.get(_path(pod, "status", "phase") or "")


def _namespace(obj: Obj, clock: _Clock) -> Cells:
    return [_name(obj), _path(obj, "status", "phase") or "", _age(obj, clock)]


def _configmap(obj: Obj, clock: _Clock) -> Cells:
    return [_name(obj), len(obj.get("data") or ()) + len(obj.get("binaryData") or ()), _age(obj, clock)]


def _secret(obj: Obj, clock: _Clock) -> Cells:
    return [_name(obj), obj.get("type") or "", len(obj.get("data") or ()), _age(obj, clock)]


def _service_external_ip(spec: Obj, status: Obj) -> str:
    kind, external = spec.get("type"), spec.get("externalIPs") or []
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        lb = _lb_status(status.get("loadBalancer"))
        if external:
            return ",".join([*(lb.split(",") if lb else []), *external])
        return lb or "<pending>"
    if kind == "ExternalName":
        return str(spec.get("externalName") or "")
    return "<unknown>"


def _service(obj: Obj, clock: _Clock) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    ports = ",".join(
        f"{p.get('port')}:{p['nodePort']}/{p.get('protocol', 'TCP')}"
        if p.get("nodePort")
        else f"{p.get('port')}/{p.get('protocol', 'TCP')}"
        for p in spec.get("ports") or ()
    )
    return [
        _name(obj),
        spec.get("type") or "",
        cluster_ips[0] if cluster_ips else "<none>",
        _service_external_ip(spec, status),
        ports or "<none>",
        _age(obj, clock),
        _format_labels(spec.get("selector")),
    ]


def _serviceaccount(obj: Obj, clock: _Clock) -> Cells:
    return [_name(obj), len(obj.get("secrets") or ()), _age(obj, clock)]


def _deployment(obj: Obj, clock: _Clock) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(_template_spec(obj))
    return [
        _name(obj),
        f"{status.get('readyReplicas') or 0}/{spec.get('replicas', 1)}",
        status.get("updatedReplicas") or 0,
        status.get("availableReplicas") or 0,
        _age(obj, clock),
        names,
        images,
        _selector_string(spec.get("selector")),
    ]


def _replicaset(obj: Obj, clock: _Clock) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(_template_spec(obj))
    return [
        _name(obj),
        spec.get("replicas", 1),
        status.get("replicas") or 0,
        status.get("readyReplicas") or 0,
        _age(obj, clock),
        names,
        images,
        _format_selector(spec.get("selector")),
    ]


def _statefulset(obj: Obj, clock: _Clock) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(_template_spec(obj))
    return [
        _name(obj),
        f"{status.get('readyReplicas') or 0}/{spec.get('replicas', 1)}",
        _age(obj, clock),
        names,
        images,
    ]


_DAEMONSET_COUNTS = (
    "desiredNumberScheduled",
    "currentNumberScheduled",
    "numberReady",
    "updatedNumberScheduled",
    "numberAvailable",
)


def _daemonset(obj: Obj, clock: _Clock) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(_template_spec(obj))
    return [
        _name(obj),
        *(status.get(c) or 0 for c in _DAEMONSET_COUNTS),
        _format_labels(_path(obj, "spec", "template", "spec", "nodeSelector")),
        _age(obj, clock),
        names,
        images,
        _format_selector(spec.get("selector")),
    ]


def _job_status(obj: Obj) -> str:
    conditions = _path(obj, "status", "conditions")
    if _first_condition_true(conditions, "Complete"):
        return "Complete"
    if _first_condition_true(conditions, "Failed"):
        return "Failed"
    if _meta(obj).get("deletionTimestamp"):
        return "Terminating"
    if _first_condition_true(conditions, "Suspended"):
        return "Suspended"
    if _first_condition_true(conditions, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def _job(obj: Obj, clock: _Clock) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    succeeded = status.get("succeeded") or 0
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif (spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    started, finished = _parse_time(status.get("startTime")), _parse_time(status.get("completionTime"))
    duration = ""
    if started is not None:
        duration = human_duration((finished or clock.now) - started)
    names, images = _containers(_template_spec(obj))
    return [
        _name(obj),
        _job_status(obj),
        completions,
        duration,
        _age(obj, clock),
        names,
        images,
        _format_selector(spec.get("selector")),
    ]


def _cronjob(obj: Obj, clock: _Clock) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    last = status.get("lastScheduleTime")
    job_spec = _path(obj, "spec", "jobTemplate", "spec") or {}
    names, images = _containers(_path(job_spec, "template", "spec"))
    return [
        _name(obj),
        spec.get("schedule") or "",
        spec.get("timeZone") or "<none>",
        _bool(spec.get("suspend")),
        len(status.get("active") or ()),
        clock.since(last) if last else "<none>",
        _age(obj, clock),
        names,
        images,
        _format_selector(job_spec.get("selector")),
    ]


def _event(obj: Obj, clock: _Clock) -> Cells:
    first = obj.get("firstTimestamp")
    first_seen = clock.since(first) if first else clock.since(obj.get("eventTime"))
    last = obj.get("lastTimestamp")
    last_seen = clock.since(last) if last else first_seen
    count = obj.get("count") or 0
    series = obj.get("series")
    if series is not None:
        last_seen, count = clock.since(series.get("lastObservedTime")), series.get("count") or 0
    elif count == 0:
        count = 1  # singleton events from the events.k8s.io API carry no count
    involved = obj.get("involvedObject") or {}
    kind = str(involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = obj.get("source") or {}
    component = source.get("component") or obj.get("reportingComponent") or ""
    instance = source.get("host") or obj.get("reportingInstance") or ""
    return [
        last_seen,
        obj.get("type") or "",
        obj.get("reason") or "",
        target,
        involved.get("fieldPath") or "",
        f"{component}, {instance}" if instance else component,
        str(obj.get("message") or "").strip(),
        first_seen,
        count,
        _name(obj),
    ]


_ROLE_PREFIX = "node-role.kubernetes.io/"


def _node(obj: Obj, clock: _Clock) -> Cells:
    status = obj.get("status") or {}
    ready = None
    for c in status.get("conditions") or ():
        if c.get("type") == "Ready":
            ready = c  # upstream indexes conditions by type, so the last one wins
    states = ["Unknown" if ready is None else ("Ready" if ready.get("status") == "True" else "NotReady")]
    if _path(obj, "spec", "unschedulable"):
        states.append("SchedulingDisabled")
    roles = set()
    for key, value in (_meta(obj).get("labels") or {}).items():
        if key.startswith(_ROLE_PREFIX) and len(key) > len(_ROLE_PREFIX):
            roles.add(key[len(_ROLE_PREFIX) :])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    info = status.get("nodeInfo") or {}
    addresses = status.get("addresses") or ()

    def address(kind: str) -> str:
        return next((a.get("address", "") for a in addresses if a.get("type") == kind), "<none>")

    return [
        _name(obj),
        ",".join(states),
        ",".join(sorted(roles)) or "<none>",
        _age(obj, clock),
        info.get("kubeletVersion") or "",
        address("InternalIP"),
        address("ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


_ACCESS_MODES = (
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)


def _access_modes(modes: Iterable[str] | None) -> str:
    """helper.GetAccessModesAsString: fixed order, duplicates dropped."""
    present = set(modes or ())
    return ",".join(short for mode, short in _ACCESS_MODES if mode in present)


def _storage_class(obj: Obj) -> str:
    """GetPersistentVolumeClass and GetPersistentVolumeClaimClass: the beta annotation wins when present."""
    annotations = _meta(obj).get("annotations") or {}
    if "volume.beta.kubernetes.io/storage-class" in annotations:
        return str(annotations["volume.beta.kubernetes.io/storage-class"])
    return str(_path(obj, "spec", "storageClassName") or "")


def _pvc(obj: Obj, clock: _Clock) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    phase = "Terminating" if _meta(obj).get("deletionTimestamp") else status.get("phase") or ""
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = _access_modes(status.get("accessModes"))
        capacity = str((status.get("capacity") or {}).get("storage") or "0")
    return [
        _name(obj),
        phase,
        spec.get("volumeName") or "",
        capacity,
        modes,
        _storage_class(obj),
        spec.get("volumeAttributesClassName") or "<unset>",
        _age(obj, clock),
        spec.get("volumeMode") or "<unset>",
    ]


def _pv(obj: Obj, clock: _Clock) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    claim = spec.get("claimRef")
    return [
        _name(obj),
        str((spec.get("capacity") or {}).get("storage") or "0"),
        _access_modes(spec.get("accessModes")),
        spec.get("persistentVolumeReclaimPolicy") or "",
        "Terminating" if _meta(obj).get("deletionTimestamp") else status.get("phase") or "",
        f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else "",
        _storage_class(obj),
        spec.get("volumeAttributesClassName") or "<unset>",
        status.get("reason") or "",
        _age(obj, clock),
        spec.get("volumeMode") or "<unset>",
    ]


def _host_port(ip: str, port: Any) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _endpoints(obj: Obj, clock: _Clock) -> Cells:
    """formatEndpoints: the first three addresses (with ports) and a count of the rest."""
    subsets = obj.get("subsets") or ()
    found: list[str] = []
    total = 0
    for subset in subsets:
        ips = [a.get("ip", "") for a in subset.get("addresses") or ()]
        ports = subset.get("ports") or ()
        if not ports:
            total += len(ips)
            found.extend(ips)
        for port in ports:
            total += len(ips)
            found.extend(_host_port(ip, port.get("port")) for ip in ips)
    return [_name(obj), _more(found, total, 3) if subsets else "<none>", _age(obj, clock)]


def _ingress(obj: Obj, clock: _Clock) -> Cells:
    spec = obj.get("spec") or {}
    rules = spec.get("rules") or ()
    # formatHosts: up to three hosts; "more" only once a rule is met after the list is full.
    hosts: list[str] = []
    more = False
    for rule in rules:
        more = more or len(hosts) == 3
        if not more and rule.get("host"):
            hosts.append(rule["host"])
    host_text = ",".join(hosts) or "*"
    if hosts and more:
        host_text = f"{host_text} + {len(rules) - 3} more..."
    return [
        _name(obj),
        spec.get("ingressClassName") or "<none>",
        host_text,
        _lb_status(_path(obj, "status", "loadBalancer")),
        "80, 443" if spec.get("tls") else "80",
        _age(obj, clock),
    ]


def _binding(obj: Obj, clock: _Clock) -> Cells:
    """printRoleBinding and printClusterRoleBinding (rbac.SubjectsStrings for the wide columns)."""
    users, groups, sas = [], [], []
    for s in obj.get("subjects") or ():
        kind, name = s.get("kind"), s.get("name", "")
        if kind == "ServiceAccount":
            sas.append(f"{s.get('namespace', '')}/{name}")
        elif kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
    role = obj.get("roleRef") or {}
    return [
        _name(obj),
        f"{role.get('kind', '')}/{role.get('name', '')}",
        _age(obj, clock),
        ", ".join(users),
        ", ".join(groups),
        ", ".join(sas),
    ]


def _lease(obj: Obj, clock: _Clock) -> Cells:
    return [_name(obj), _path(obj, "spec", "holderIdentity") or "", _age(obj, clock)]


def _created_at(obj: Obj, clock: _Clock) -> Cells:
    """rest.defaultTableConvertor: the creation time as RFC 3339 in UTC."""
    t = _parse_time(_meta(obj).get("creationTimestamp"))
    stamp = t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if t else "0001-01-01T00:00:00Z"
    return [_name(obj), stamp]


def _name_age(obj: Obj, clock: _Clock) -> Cells:
    return [_name(obj), _age(obj, clock)]


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


# --- custom resources: additionalPrinterColumns ----------------------------------------------------

_Step = tuple[str, Any]  # ("key", name) | ("index", n) | ("all", None) | ("filter", (keys, value))
_FILTER = re.compile(r"\?\(@((?:\.[^.=!<>\s]+)+)\s*==\s*(?:\"([^\"]*)\"|'([^']*)'|(\S+?))\s*\)")


@lru_cache(maxsize=512)
def _parse_json_path(path: str) -> tuple[_Step, ...] | None:
    """The simple JSONPath forms CRD columns use: ``.a.b[0].c``, ``.a\\.b``, ``[*]``, ``[?(@.k=="v")]``."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    steps: list[_Step] = []
    i, n = 0, len(path)
    while i < n:
        ch = path[i]
        if ch == ".":
            i += 1
            key: list[str] = []
            while i < n and path[i] not in ".[":
                if path[i] == "\\" and i + 1 < n:
                    i += 1
                key.append(path[i])
                i += 1
            if key:
                steps.append(("key", "".join(key)))
        elif ch == "[":
            end = path.find(")]", i) + 1 if path.startswith("[?(", i) else path.find("]", i)
            if end <= 0:
                return None
            inner = path[i + 1 : end].strip()
            i = end + 1
            if inner == "*":
                steps.append(("all", None))
            elif re.fullmatch(r"-?\d+", inner):
                steps.append(("index", int(inner)))
            elif len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
                steps.append(("key", inner[1:-1]))
            elif m := _FILTER.fullmatch(inner):
                literal = m.group(4)
                value: Any = m.group(2) if m.group(2) is not None else m.group(3)
                if literal is not None:
                    is_json = re.fullmatch(r"-?\d+(\.\d+)?|true|false", literal)
                    value = orjson.loads(literal) if is_json else literal
                steps.append(("filter", (tuple(m.group(1)[1:].split(".")), value)))
            else:
                return None
        else:
            return None  # every step starts with "." or "["
    return tuple(steps)


def _walk(values: list[Any], step: _Step) -> list[Any]:
    kind, arg = step
    out: list[Any] = []
    for value in values:
        if kind == "key":
            if isinstance(value, Mapping) and arg in value:
                out.append(value[arg])
        elif not isinstance(value, list):
            continue
        elif kind == "index":
            if -len(value) <= arg < len(value):
                out.append(value[arg])
        elif kind == "all":
            out.extend(value)
        else:
            keys, wanted = arg
            out.extend(item for item in value if _path(item, *keys) == wanted)
    return out


def _go_text(value: Any) -> str:
    """How the jsonpath printer renders one value: strings raw, JSON for maps and lists."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, (dict, list)):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return str(value)


def _custom_cell(column_type: str, value: Any, clock: _Clock) -> Any:
    """cellForJSONValue: a value of the wrong type prints as an empty cell."""
    if value is None:
        return None
    if column_type == "string":
        return _go_text(value)
    if column_type == "integer" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if column_type == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if column_type == "boolean" and isinstance(value, bool):
        return value
    if column_type == "date" and isinstance(value, str):
        t = _parse_time(value)
        return "<invalid>" if t is None else human_duration(clock.now - t)
    return None


_CR_AGE = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def _custom_printer(rt: ResourceType) -> tuple[list[dict[str, Any]], CellsFn]:
    columns = list(rt.printer_columns) or [{**_CR_AGE, "description": _describe(_AGE.doc)}]
    definitions = [_column_definitions((_NAME,))[0]]
    paths: list[tuple[str, tuple[_Step, ...] | None]] = []
    for col in columns:
        json_path = str(col.get("jsonPath", ""))
        definitions.append(
            {
                "name": col.get("name", ""),
                "type": col.get("type", "string"),
                "format": col.get("format", ""),
                "description": col.get("description")
                or f"Custom resource definition column (in JSONPath format): {json_path}",
                "priority": col.get("priority", 0),
            }
        )
        paths.append((str(col.get("type", "string")), _parse_json_path(json_path)))

    def cells(obj: Obj, clock: _Clock) -> Cells:
        row: Cells = [_name(obj)]
        for column_type, steps in paths:
            values: list[Any] = [obj] if steps is not None else []
            for step in steps or ():
                values = _walk(values, step)
            row.append(_custom_cell(column_type, values[0], clock) if values else None)
        return row

    return definitions, cells


# --- the Table -------------------------------------------------------------------------------------


def table(
    rt: ResourceType,
    objects: list[dict[str, Any]],
    *,
    include_object: str = "Metadata",
    now: datetime,
    resource_version: str,
    continue_token: str = "",
    with_columns: bool = True,
) -> dict[str, Any]:
    """The ``meta.k8s.io/v1`` Table for ``objects``; a 400 StatusError for an unknown ``include_object``."""
    if include_object not in ("Metadata", "Object", "None", ""):
        supported = '"None", "Metadata", "Object"'
        message = f'includeObject: Unsupported value: "{include_object}": supported values: {supported}'
        raise errors.bad_request(message)
    conditions: Callable[[Obj], list[dict[str, str]] | None] | None = None
    if rt.crd is not None:
        columns, cells = _custom_printer(rt)
    else:
        specs, cells = _PRINTERS.get((rt.group, rt.kind), _DEFAULT)
        columns = _column_definitions(specs)
        conditions = _pod_conditions if (rt.group, rt.kind) == ("", "Pod") else None
    clock = _Clock(now)
    rows: list[dict[str, Any]] = []
    for obj in objects:
        row: dict[str, Any] = {"cells": cells(obj, clock)}
        if conditions is not None and (found := conditions(obj)):
            row["conditions"] = found
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata") or {},
            }
        rows.append(row)
    metadata = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    result: dict[str, Any] = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata}
    if with_columns:
        result["columnDefinitions"] = columns
    result["rows"] = rows
    return result
