"""A pod's status computed from what the kubelet knows, without I/O (upstream ``kubelet_pods.go``).

The pod worker keeps one :class:`ContainerRecord` per container and one :class:`PodFacts`;
:func:`pod_status` turns them, the pod and its previous status into the status to write.
Conditions keep their ``lastTransitionTime`` while their status holds, so recomputing is
idempotent and the worker writes only when something really changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .quantities import qos_class

__all__ = [
    "NODE_IP",
    "TERMINAL",
    "ContainerRecord",
    "PodFacts",
    "Running",
    "State",
    "Terminated",
    "Waiting",
    "container_status",
    "get_phase",
    "image_id",
    "normalize_image",
    "pod_status",
]

Obj = dict[str, Any]
NODE_IP = "127.0.0.1"
TERMINAL = ("Succeeded", "Failed")


@dataclass(frozen=True)
class Waiting:
    reason: str
    message: str = ""


@dataclass(frozen=True)
class Running:
    started_at: str


@dataclass(frozen=True)
class Terminated:
    exit_code: int
    reason: str
    started_at: str
    finished_at: str
    message: str = ""
    container_id: str = ""


State = Waiting | Running | Terminated


@dataclass
class ContainerRecord:
    """What the kubelet knows about one container of a pod (mutable, owned by its worker)."""

    name: str
    image: str
    state: State = field(default_factory=lambda: Waiting("ContainerCreating"))
    last: Terminated | None = None
    restart_count: int = 0
    ready: bool = False
    started: bool = False
    container_id: str = ""


@dataclass
class PodFacts:
    """Pod-level facts: when it started, whether its sandbox exists, a decided terminal phase."""

    start_time: str | None = None
    sandbox_ready: bool = False
    phase: str | None = None  # set when the kubelet decides the outcome (deadline, rejection, lost)
    reason: str = ""
    message: str = ""
    rejected: bool = False  # refused at admission: no container ever had a status
    terminal: bool = False  # containers will not run again (deleted, past the deadline)


def normalize_image(image: str) -> str:
    """``busybox`` → ``docker.io/library/busybox:latest``, as the container runtime reports it."""
    name, _, digest = image.partition("@")
    first, _, rest = name.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        name = f"docker.io/{name}"
    if name.startswith("docker.io/") and name.count("/") == 1:
        name = "docker.io/library/" + name.split("/", 1)[1]
    if digest:
        return f"{name}@{digest}"
    if ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name


def image_id(image: str) -> str:
    """A stable id for an image that is never pulled: the name's digest, in the runtime's format."""
    normalized = normalize_image(image)
    repo = normalized.split("@", 1)[0]
    if ":" in repo.rsplit("/", 1)[-1]:
        repo = repo.rsplit(":", 1)[0]
    return f"{repo}@sha256:{hashlib.sha256(normalized.encode()).hexdigest()}"


def _state(state: State | None) -> Obj:
    if state is None:
        return {}
    if isinstance(state, Waiting):
        waiting: Obj = {"reason": state.reason}
        if state.message:
            waiting["message"] = state.message
        return {"waiting": waiting}
    if isinstance(state, Running):
        return {"running": {"startedAt": state.started_at}}
    terminated: Obj = {
        "exitCode": state.exit_code,
        "reason": state.reason,
        "startedAt": state.started_at or None,
        "finishedAt": state.finished_at or None,
    }
    if state.message:
        terminated["message"] = state.message
    if state.container_id:
        terminated["containerID"] = state.container_id
    return {"terminated": terminated}


def container_status(record: ContainerRecord) -> Obj:
    status: Obj = {
        "name": record.name,
        "state": _state(record.state),
        "lastState": _state(record.last),
        "ready": record.ready,
        "restartCount": record.restart_count,
        "image": normalize_image(record.image),
        "imageID": image_id(record.image) if record.container_id else "",
        "started": record.started,
    }
    if record.container_id:
        status["containerID"] = record.container_id
    return status


def get_phase(spec: Obj, init: Sequence[Obj], regular: Sequence[Obj], *, terminal: bool) -> str:
    """Upstream ``getPhase``: Pending, Running, Succeeded or Failed from container statuses."""
    by_name = {s["name"]: s for s in [*init, *regular]}
    pending_init = failed_init = 0
    for container in spec.get("initContainers") or ():
        status = by_name.get(container["name"])
        state = (status or {}).get("state") or {}
        last = ((status or {}).get("lastState") or {}).get("terminated")
        if container.get("restartPolicy") == "Always":  # a sidecar: initialized once started
            pending_init += not (status or {}).get("started")
        elif status is None or "running" in state:
            pending_init += 1
        elif "terminated" in state:
            failed_init += state["terminated"]["exitCode"] != 0
        elif "waiting" in state:
            if last is None:
                pending_init += 1
            elif last["exitCode"] != 0:
                failed_init += 1
        else:
            pending_init += 1
    sidecars_running = any(
        "running" in ((by_name.get(c["name"]) or {}).get("state") or {})
        for c in spec.get("initContainers") or ()
        if c.get("restartPolicy") == "Always"
    )
    unknown = running = waiting = stopped = succeeded = 0
    started_any = False
    for container in spec.get("containers") or ():
        status = by_name.get(container["name"])
        state = (status or {}).get("state") or {}
        if status is None:
            unknown += 1
            continue
        started_any = started_any or "running" in state or "terminated" in state or bool(status.get("lastState"))
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += state["terminated"]["exitCode"] == 0
        elif "waiting" in state:
            if (status.get("lastState") or {}).get("terminated"):
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1
    policy = spec.get("restartPolicy", "Always")
    if failed_init and policy == "Never":
        return "Failed"
    if (pending_init and not started_any) or waiting:
        return "Pending"
    if running and not unknown:
        return "Running"
    if not running and stopped and not unknown:
        if sidecars_running and not terminal:
            # The kubelet reports a terminal phase only once every container has stopped: sidecars
            # are being stopped after the regular containers finished.
            return "Running"
        if terminal:
            return "Succeeded" if stopped == succeeded else "Failed"
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        return "Failed" if policy == "Never" else "Running"
    return "Pending"


def _condition(kind: str, ok: bool, reason: str = "", message: str = "") -> Obj:
    condition: Obj = {"type": kind, "status": "True" if ok else "False", "lastProbeTime": None}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def _names(names: list[str]) -> str:
    return "[" + " ".join(names) + "]"


def _conditions(pod: Obj, init: Sequence[Obj], regular: Sequence[Obj], phase: str, facts: PodFacts) -> list[Obj]:
    spec = pod.get("spec") or {}
    by_name = {s["name"]: s for s in [*init, *regular]}
    started_any = any(
        "running" in (s.get("state") or {}) or "terminated" in (s.get("state") or {}) or s.get("lastState")
        for s in regular
    )

    def complete(container: Obj) -> bool:
        status = by_name.get(container["name"]) or {}
        if container.get("restartPolicy") == "Always":
            return bool(status.get("started"))
        return bool(((status.get("state") or {}).get("terminated") or {}).get("exitCode", 1) == 0)

    incomplete = [c["name"] for c in spec.get("initContainers") or () if not complete(c)]
    if (phase == "Succeeded" and not facts.rejected) or started_any or not incomplete:
        initialized = _condition("Initialized", True, "PodCompleted" if phase == "Succeeded" else "")
    else:
        initialized = _condition(
            "Initialized", False, "ContainersNotInitialized", f"containers with incomplete status: {_names(incomplete)}"
        )
    sidecars = [c for c in spec.get("initContainers") or () if c.get("restartPolicy") == "Always"]
    unready = [
        c["name"]
        for c in [*sidecars, *(spec.get("containers") or ())]
        if not (by_name.get(c["name"]) or {}).get("ready")
    ]
    if phase == "Succeeded":
        containers_ready = _condition("ContainersReady", False, "PodCompleted")
    elif phase == "Failed":
        containers_ready = _condition("ContainersReady", False, "PodFailed")
    elif unready:
        containers_ready = _condition(
            "ContainersReady", False, "ContainersNotReady", f"containers with unready status: {_names(unready)}"
        )
    else:
        containers_ready = _condition("ContainersReady", True)
    ready = dict(containers_ready, type="Ready")
    previous = {c.get("type"): c for c in (pod.get("status") or {}).get("conditions") or ()}
    if ready["status"] == "True":
        missing = [
            gate.get("conditionType", "")
            for gate in spec.get("readinessGates") or ()
            if (previous.get(gate.get("conditionType")) or {}).get("status") != "True"
        ]
        if missing:
            ready = _condition(
                "Ready",
                False,
                "ReadinessGatesNotReady",
                f'corresponding condition of pod readiness gate "{missing[0]}" does not exist.',
            )
    sandbox = _condition("PodReadyToStartContainers", facts.sandbox_ready and phase not in TERMINAL)
    return [sandbox, initialized, ready, containers_ready]


def pod_status(
    pod: Obj,
    init: Sequence[ContainerRecord],
    regular: Sequence[ContainerRecord],
    facts: PodFacts,
    *,
    now: str,
) -> Obj:
    """The whole ``status`` of ``pod``; conditions other than the kubelet's are kept as they are."""
    spec = pod.get("spec") or {}
    previous: Obj = pod.get("status") or {}
    init_statuses = [container_status(r) for r in init]
    statuses = [container_status(r) for r in regular]
    phase = facts.phase or get_phase(spec, init_statuses, statuses, terminal=facts.terminal)
    if facts.rejected:
        init_statuses, statuses = [], []
    ours = _conditions(pod, init_statuses, statuses, phase, facts)
    before = {c.get("type"): c for c in previous.get("conditions") or ()}
    conditions: list[Obj] = []
    for condition in ours:
        old = before.get(condition["type"])
        same = old is not None and old.get("status") == condition["status"]
        condition["lastTransitionTime"] = old.get("lastTransitionTime") if same and old else now
        conditions.append(condition)
    kept = [c for c in previous.get("conditions") or () if c.get("type") not in {c["type"] for c in ours}]
    if not any(c.get("type") == "PodScheduled" for c in kept):
        kept.append(dict(_condition("PodScheduled", True), lastTransitionTime=facts.start_time or now))
    status: Obj = {
        "phase": phase,
        "conditions": conditions + kept,
        "hostIP": NODE_IP,
        "hostIPs": [{"ip": NODE_IP}],
        "podIP": NODE_IP,
        "podIPs": [{"ip": NODE_IP}],
        "qosClass": qos_class(spec),
    }
    if facts.start_time:
        status["startTime"] = facts.start_time
    if facts.reason:
        status["reason"] = facts.reason
    if facts.message:
        status["message"] = facts.message
    if spec.get("initContainers") and init_statuses:
        status["initContainerStatuses"] = init_statuses
    if statuses:
        status["containerStatuses"] = statuses
    return status
