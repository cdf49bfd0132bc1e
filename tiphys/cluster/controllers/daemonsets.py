"""The DaemonSet controller: one pod per eligible node, which here is the one node ``tiphys-local``.

As upstream's ``daemon_controller.go``: each node that should run the daemon (nodeSelector and
required node affinity; the Node objects in the store, or ``tiphys-local`` before the kubelet has
registered it) gets a pod pinned to it by node affinity, labelled with the template hash;
failed daemon pods are replaced; a ``RollingUpdate`` replaces out-of-date pods within
``maxUnavailable`` (or surges a new pod first with ``maxSurge``); status counts nodes.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..apiserver.objects import ObjectAPI
from ..apiserver.store import DELETED, Event
from ._client import Client
from ._meta import Obj, controller_of, int_or_percent, parse_time, template_hash
from ._pods import available_in, is_available, is_ready, phase, pod_from_template
from .base import Controller
from .revisions import HASH_LABEL, REVISIONS, sync_revisions, truncate_history

__all__ = ["DaemonSetController", "DaemonStep", "daemon_status", "plan_daemons"]

DAEMONSETS, PODS, NODES = "apps/daemonsets", "/pods", "/nodes"
NODE_NAME = "tiphys-local"
GENERATION_LABEL = "pod-template-generation"
Pod = Mapping[str, Any]
_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)


def implicit_node() -> Obj:
    """The node the kubelet registers, as the controller assumes it until it exists."""
    labels = {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux"}
    return {"metadata": {"name": NODE_NAME, "labels": labels}}


def should_run(ds: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """``NodeShouldRunDaemonPod``, as far as one node without taints needs: selector and affinity."""
    spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    ) or {}
    terms = required.get("nodeSelectorTerms") or []
    return not terms or any(_term_matches(t, node) for t in terms)


def _term_matches(term: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    labels = node["metadata"].get("labels") or {}
    fields = {"metadata.name": node["metadata"]["name"]}
    for source, reqs in ((labels, term.get("matchExpressions") or []), (fields, term.get("matchFields") or [])):
        for req in reqs:
            key, op, values = req.get("key", ""), req.get("operator"), req.get("values") or []
            ok = {
                "In": source.get(key) in values,
                "NotIn": source.get(key) not in values,
                "Exists": key in source,
                "DoesNotExist": key not in source,
            }.get(str(op), False)
            if not ok:
                return False
    return True


def target_node(pod: Pod) -> str:
    """``GetTargetNodeName``: where the pod runs, or where its affinity pins it."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    ) or {}
    for term in required.get("nodeSelectorTerms") or []:
        for req in term.get("matchFields") or []:
            if req.get("key") == "metadata.name" and req.get("values"):
                return str(req["values"][0])
    return ""


def daemon_pod(ds: Mapping[str, Any], node: str, digest: str) -> Obj:
    """``CreatePodTemplate`` for one node: hash and generation labels, tolerations, node affinity."""
    template = copy.deepcopy(dict((ds.get("spec") or {}).get("template") or {}))
    generation = (ds["metadata"].get("annotations") or {}).get(
        "deprecated.daemonset.template.generation", str(ds["metadata"].get("generation") or 1)
    )
    labels = {GENERATION_LABEL: generation, HASH_LABEL: digest}
    pod = pod_from_template(template, ds, labels=labels)
    spec = pod["spec"]
    tolerations = list(spec.get("tolerations") or [])
    wanted = list(_TOLERATIONS)
    if spec.get("hostNetwork"):
        wanted.append(("node.kubernetes.io/network-unavailable", "NoSchedule"))
    for key, effect in wanted:
        if not any(t.get("key") == key and t.get("effect") == effect for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": effect})
    spec["tolerations"] = tolerations
    affinity = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
    affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [term]}
    return pod


def _updated(pod: Pod, digest: str) -> bool:
    return (pod["metadata"].get("labels") or {}).get(HASH_LABEL) == digest


def _oldest_first(pod: Pod) -> tuple[float, str]:
    created = parse_time(pod["metadata"].get("creationTimestamp"))
    return (created.timestamp() if created else 0.0, pod["metadata"]["name"])


@dataclass
class DaemonStep:
    create: list[str] = field(default_factory=list)  # node names
    delete: list[Pod] = field(default_factory=list)
    failed: list[tuple[Pod, str]] = field(default_factory=list)  # (pod, node) to report


def plan_daemons(
    ds: Mapping[str, Any], nodes: Sequence[Mapping[str, Any]], pods: Sequence[Pod], digest: str, now: datetime
) -> DaemonStep:
    """``manage`` then ``rollingUpdate``: which nodes get a pod and which pods go."""
    step = DaemonStep()
    by_node: dict[str, list[Pod]] = {}
    for pod in pods:
        by_node.setdefault(target_node(pod), []).append(pod)
    spec = ds.get("spec") or {}
    strategy = spec.get("updateStrategy") or {}
    rolling = strategy.get("rollingUpdate") or {}
    desired = sum(1 for n in nodes if should_run(ds, n))
    rolling_update = strategy.get("type", "RollingUpdate") == "RollingUpdate"
    surge = int_or_percent(rolling.get("maxSurge") or 0, desired, round_up=True) if rolling_update else 0
    unavailable = int_or_percent(rolling.get("maxUnavailable", 1), desired, round_up=True) if rolling_update else 0
    if surge == 0 and unavailable == 0:
        unavailable = 1
    min_ready = int(spec.get("minReadySeconds") or 0)
    names = {n["metadata"]["name"] for n in nodes}
    for node in nodes:
        name = node["metadata"]["name"]
        here = by_node.get(name, [])
        if should_run(ds, node) and not here:
            step.create.append(name)
        elif should_run(ds, node):
            running = []
            for pod in here:
                if pod["metadata"].get("deletionTimestamp"):
                    continue
                if phase(pod) == "Failed":
                    step.failed.append((pod, name))
                    step.delete.append(pod)
                elif phase(pod) == "Succeeded":
                    step.delete.append(pod)
                else:
                    running.append(pod)
            running.sort(key=_oldest_first)
            if surge == 0:
                step.delete += running[1:]
            elif not running:
                step.create.append(name)
            elif len(running) > 1:
                new = [p for p in running if _updated(p, digest)]
                old = [p for p in running if not _updated(p, digest)]
                keep_old = new and old and not is_ready(new[0]) and is_ready(old[0])
                keep = {new[0]["metadata"]["uid"]} if new else {running[0]["metadata"]["uid"]}
                if keep_old:
                    keep.add(old[0]["metadata"]["uid"])
                step.delete += [p for p in running if p["metadata"]["uid"] not in keep]
        else:
            step.delete += [p for p in here if not p["metadata"].get("deletionTimestamp")]
    # Pods pinned to nodes that do not exist can never be scheduled.
    step.delete += [
        p for n, ps in by_node.items() if n not in names and n for p in ps if not (p.get("spec") or {}).get("nodeName")
    ]
    if not rolling_update or step.create or step.delete:
        return step
    budget_used = 0
    candidates: list[Pod] = []
    for node in nodes:
        live = [p for p in by_node.get(node["metadata"]["name"], []) if not p["metadata"].get("deletionTimestamp")]
        new = [p for p in live if _updated(p, digest)]
        old = [p for p in live if not _updated(p, digest)]
        if len(new) > 1 or len(old) > 1 or (not new and not old) or (new and old and surge == 0):
            budget_used += 1
        elif new and not old:
            budget_used += not is_available(new[0], min_ready, now)
        elif old and not new:
            if surge:
                step.create.append(node["metadata"]["name"])
            elif not is_available(old[0], min_ready, now):
                step.delete.append(old[0])
            else:
                candidates.append(old[0])
        elif new and old and is_available(new[0], min_ready, now):
            step.delete.append(old[0])
    step.delete += candidates[: max(unavailable - budget_used, 0)]
    return step


def daemon_status(
    ds: Mapping[str, Any], nodes: Sequence[Mapping[str, Any]], pods: Sequence[Pod], digest: str, now: datetime
) -> Obj:
    """``updateDaemonSetStatus``: counted per node, from each node's oldest daemon pod."""
    by_node: dict[str, list[Pod]] = {}
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp") and phase(pod) in ("Succeeded", "Failed"):
            continue
        by_node.setdefault(target_node(pod), []).append(pod)
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    desired = current = misscheduled = ready = available = updated = 0
    for node in nodes:
        here = sorted(by_node.get(node["metadata"]["name"], []), key=_oldest_first)
        if not should_run(ds, node):
            misscheduled += bool(here)
            continue
        desired += 1
        if not here:
            continue
        current += 1
        if is_ready(here[0]):
            ready += 1
            available += is_available(here[0], min_ready, now)
        updated += _updated(here[0], digest)
    status: Obj = {
        "currentNumberScheduled": current,
        "numberMisscheduled": misscheduled,
        "desiredNumberScheduled": desired,
        "numberReady": ready,
    }
    optional = {
        "observedGeneration": int(ds["metadata"].get("generation") or 0),
        "updatedNumberScheduled": updated,
        "numberAvailable": available,
        "numberUnavailable": desired - available,
    }
    status.update({k: v for k, v in optional.items() if v})
    old = ds.get("status") or {}
    for key in ("collisionCount", "conditions"):
        if old.get(key) is not None:
            status[key] = copy.deepcopy(old[key])
    return status


class DaemonSetController(Controller):
    name = "daemonset"
    keys = (DAEMONSETS, PODS, NODES)

    def __init__(self, api: ObjectAPI) -> None:
        super().__init__(api)
        self.client = Client(api, "daemonset-controller")

    def on_event(self, event: Event) -> list[Hashable]:
        obj = event.entry.obj
        if event.key == DAEMONSETS:
            return [] if event.type == DELETED else [(event.namespace, obj["metadata"]["name"])]
        if event.key == PODS:
            ref = controller_of(obj)
            if ref is not None and ref.get("kind") == "DaemonSet":
                return [(event.namespace, ref.get("name", ""))]
        if event.key == NODES:
            return [
                (d["metadata"].get("namespace", ""), d["metadata"]["name"]) for d in self.client.objects(DAEMONSETS)
            ]
        return []

    def resync(self) -> None:
        for ds in self.client.objects(DAEMONSETS):
            self.enqueue((ds["metadata"].get("namespace", ""), ds["metadata"]["name"]))

    def reconcile(self, key: Hashable) -> None:
        assert isinstance(key, tuple)
        namespace, name = key
        ds = self.client.get(DAEMONSETS, namespace, name)
        if ds is None:
            return
        uid = ds["metadata"]["uid"]
        nodes = self.client.objects(NODES) or [implicit_node()]
        digest = template_hash(ds["spec"]["template"], (ds.get("status") or {}).get("collisionCount"))
        revisions = self.client.owned(REVISIONS, uid)
        current, _ = sync_revisions(self.client, ds, revisions, hash_from=digest)
        pods = self.client.claim(PODS, ds, (ds.get("spec") or {}).get("selector"))
        now = datetime.now(UTC)
        if not ds["metadata"].get("deletionTimestamp"):
            self._carry_out(ds, plan_daemons(ds, nodes, pods, digest, now), digest)
            pods = self.client.owned(PODS, uid)
        status = daemon_status(ds, nodes, pods, digest, now)
        if status != (ds.get("status") or {}):
            self.client.update_status(DAEMONSETS, ds, status)
        live = {(p["metadata"].get("labels") or {}).get(HASH_LABEL, "") for p in pods}
        keep = {current["metadata"]["name"]}
        live_names = {f"{name}-{h}" for h in live}
        truncate_history(self.client, ds, self.client.owned(REVISIONS, uid), live_names, keep)
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        waits = [w for p in pods if (w := available_in(p, min_ready, now)) is not None]
        if waits:
            self.enqueue_after(key, min(waits))

    def _carry_out(self, ds: Mapping[str, Any], step: DaemonStep, digest: str) -> None:
        for pod, node in step.failed:
            meta = pod["metadata"]
            message = (
                f"Found failed daemon pod {meta.get('namespace')}/{meta['name']} on node {node}, will try to kill it"
            )
            self.client.event(ds, "FailedDaemonPod", message, warning=True)
        for pod in step.delete:
            if self.client.delete(PODS, pod):
                self.client.event(ds, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")
        for node in step.create:
            created = self.client.create(PODS, ds["metadata"].get("namespace", ""), daemon_pod(ds, node, digest))
            self.client.event(ds, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
