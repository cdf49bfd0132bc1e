"""One cell function per built-in kind, reproducing upstream's printers (``pkg/printers/internalversion``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ._format import (
    Cells,
    Obj,
    _age,
    _bool,
    _Clock,
    _containers,
    _first_condition_true,
    _format_labels,
    _format_selector,
    _has_condition,
    _lb_status,
    _meta,
    _more,
    _name,
    _parse_time,
    _path,
    _selector_string,
    _template_spec,
    human_duration,
)

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
