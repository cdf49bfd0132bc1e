"""The StatefulSet controller: pods with stable names and claims, started and updated in order.

As upstream's ``stateful_set_control.go``: pods ``<set>-<ordinal>`` (with their claims
``<claim>-<set>-<ordinal>``) are created in order, each only once its predecessor is Running and
Ready under ``OrderedReady`` or all at once under ``Parallel``; surplus ordinals go highest
first; a ``RollingUpdate`` deletes the highest out-of-date pod at or above the partition, one
at a time, so it comes back at the update revision. Revisions are ControllerRevisions.
:func:`plan` decides; the controller acts and recounts.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..apiserver.errors import StatusError
from ..apiserver.objects import ObjectAPI
from ..apiserver.store import DELETED, Event
from ._client import Client
from ._meta import Obj, controller_of, controller_ref
from ._pods import available_in, is_available, is_ready, is_terminating, phase, pod_from_template
from .base import Controller
from .revisions import HASH_LABEL, REVISIONS, revision_template, sync_revisions, truncate_history

__all__ = ["Action", "StatefulSetController", "plan", "statefulset_status"]

STATEFULSETS, PODS, CLAIMS = "apps/statefulsets", "/pods", "/persistentvolumeclaims"
Pod = Mapping[str, Any]


@dataclass(frozen=True)
class Action:
    verb: str  # "create" or "delete"
    pod: Pod  # the body to create, or the live pod to delete
    event: tuple[bool, str, str] | None = None  # an extra (warning, reason, message), for recreations


def ordinal(set_name: str, pod: Pod) -> int | None:
    match = re.fullmatch(re.escape(set_name) + r"-(\d+)", pod["metadata"]["name"])
    return int(match.group(1)) if match else None


def _running_ready(pod: Pod) -> bool:
    return phase(pod) == "Running" and is_ready(pod)


def _healthy(pod: Pod) -> bool:
    return _running_ready(pod) and not is_terminating(pod)


def claim_name(claim: Mapping[str, Any], set_name: str, index: int) -> str:
    return f"{claim['metadata']['name']}-{set_name}-{index}"


def stateful_pod(sts: Mapping[str, Any], template: Mapping[str, Any], index: int, revision: str) -> Obj:
    """``newStatefulSetPod``: identity labels, hostname/subdomain, claim volumes, revision label."""
    set_name = sts["metadata"]["name"]
    name = f"{set_name}-{index}"
    labels = {
        "statefulset.kubernetes.io/pod-name": name,
        "apps.kubernetes.io/pod-index": str(index),
        HASH_LABEL: revision,
    }
    pod = pod_from_template(template, sts, name=name, labels=labels)
    spec = pod["spec"]
    spec["hostname"] = name
    if (sts.get("spec") or {}).get("serviceName"):
        spec["subdomain"] = sts["spec"]["serviceName"]
    claims = (sts.get("spec") or {}).get("volumeClaimTemplates") or []
    if claims:
        names = {c["metadata"]["name"] for c in claims}
        volumes = [v for v in spec.get("volumes") or [] if v.get("name") not in names]
        for claim in claims:
            volumes.append(
                {
                    "name": claim["metadata"]["name"],
                    "persistentVolumeClaim": {"claimName": claim_name(claim, set_name, index)},
                }
            )
        spec["volumes"] = volumes
    return pod


def plan(
    sts: Mapping[str, Any],
    pods: Sequence[Pod],
    *,
    current: tuple[str, Mapping[str, Any]],
    update: tuple[str, Mapping[str, Any]],
    now: datetime,
) -> list[Action]:
    """``updateStatefulSet``: the creations and deletions of this step (one at a time when ordered).

    ``current`` and ``update`` are (revision name, pod template).
    """
    spec = sts.get("spec") or {}
    if sts["metadata"].get("deletionTimestamp"):
        return []
    name = sts["metadata"]["name"]
    start = int((spec.get("ordinals") or {}).get("start") or 0)
    count = int(spec.get("replicas", 1))
    ordered = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
    min_ready = int(spec.get("minReadySeconds") or 0)
    strategy = spec.get("updateStrategy") or {}
    partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
    by_ordinal = {o: p for p in pods if (o := ordinal(name, p)) is not None}
    replicas: list[Pod | None] = [by_ordinal.get(start + i) for i in range(count)]
    condemned = sorted(
        (p for o, p in by_ordinal.items() if not start <= o < start + count),
        key=lambda p: -(ordinal(name, p) or 0),
    )
    unhealthy = [p for p in replicas if p is None or not _healthy(p)]
    unhealthy += [p for p in reversed(condemned) if not _healthy(p)]
    first_unhealthy = unhealthy[0] if unhealthy else None
    actions: list[Action] = []

    def versioned(index: int) -> Obj:
        use_current = strategy.get("type", "RollingUpdate") == "RollingUpdate" and index < start + partition
        revision, template = current if use_current else update
        return stateful_pod(sts, template, index, revision)

    for i, pod in enumerate(replicas):
        if pod is not None and phase(pod) in ("Failed", "Succeeded"):
            failed = phase(pod) == "Failed"
            ns = sts["metadata"].get("namespace", "")
            what = "failed" if failed else "terminated"
            event = (
                failed,
                "RecreatingFailedPod" if failed else "RecreatingTerminatedPod",
                f"StatefulSet {ns}/{name} is recreating {what} Pod {pod['metadata']['name']}",
            )
            actions.append(Action("delete", pod, event))
            pod = None
        if pod is None:
            body = versioned(start + i)
            actions.append(Action("create", body))
            replicas[i] = body
            if ordered:
                return actions
            continue
        if ordered and (is_terminating(pod) or not _running_ready(pod) or not is_available(pod, min_ready, now)):
            return actions
    for pod in condemned:
        if is_terminating(pod):
            if ordered:
                return actions
            continue
        if ordered and pod is not first_unhealthy and not (_running_ready(pod) and is_available(pod, min_ready, now)):
            return actions
        actions.append(Action("delete", pod))
        if ordered:
            return actions
    if strategy.get("type", "RollingUpdate") == "OnDelete":
        return actions
    for target in range(count - 1, partition - 1, -1):
        pod = replicas[target]
        assert pod is not None
        revision = (pod["metadata"].get("labels") or {}).get(HASH_LABEL)
        if revision != update[0] and not is_terminating(pod):
            actions.append(Action("delete", pod))
            return actions
        if not _healthy(pod):
            return actions
    return actions


def statefulset_status(
    sts: Mapping[str, Any], pods: Sequence[Pod], *, current: str, update: str, collision: int, now: datetime
) -> Obj:
    """``computeReplicaStatus`` and ``completeRollingUpdate``, with upstream's omitted zeros."""
    spec = sts.get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    counts = {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0, "currentReplicas": 0, "updatedReplicas": 0}
    for pod in pods:
        if ordinal(sts["metadata"]["name"], pod) is None:
            continue
        created = bool(phase(pod))
        counts["replicas"] += created
        if _running_ready(pod):
            counts["readyReplicas"] += 1
            counts["availableReplicas"] += is_available(pod, min_ready, now)
        if created and not is_terminating(pod):
            revision = (pod["metadata"].get("labels") or {}).get(HASH_LABEL)
            counts["currentReplicas"] += revision == current
            counts["updatedReplicas"] += revision == update
    if (
        (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
        and counts["updatedReplicas"] == counts["replicas"]
        and counts["readyReplicas"] == counts["replicas"]
    ):
        counts["currentReplicas"], current = counts["updatedReplicas"], update
    status: Obj = {"replicas": counts["replicas"], "availableReplicas": counts["availableReplicas"]}
    optional = {
        "observedGeneration": int(sts["metadata"].get("generation") or 0),
        "readyReplicas": counts["readyReplicas"],
        "currentReplicas": counts["currentReplicas"],
        "updatedReplicas": counts["updatedReplicas"],
        "currentRevision": current,
        "updateRevision": update,
    }
    status.update({k: v for k, v in optional.items() if v})
    status["collisionCount"] = collision
    old = sts.get("status") or {}
    if old.get("conditions"):
        status["conditions"] = copy.deepcopy(old["conditions"])
    return status


class StatefulSetController(Controller):
    name = "statefulset"
    keys = (STATEFULSETS, PODS)

    def __init__(self, api: ObjectAPI) -> None:
        super().__init__(api)
        self.client = Client(api, "statefulset-controller")

    def on_event(self, event: Event) -> list[Hashable]:
        obj = event.entry.obj
        if event.key == STATEFULSETS:
            return [] if event.type == DELETED else [(event.namespace, obj["metadata"]["name"])]
        if event.key == PODS:
            ref = controller_of(obj)
            if ref is not None and ref.get("kind") == "StatefulSet":
                return [(event.namespace, ref.get("name", ""))]
        return []

    def resync(self) -> None:
        for sts in self.client.objects(STATEFULSETS):
            self.enqueue((sts["metadata"].get("namespace", ""), sts["metadata"]["name"]))

    def reconcile(self, key: Hashable) -> None:
        assert isinstance(key, tuple)
        namespace, name = key
        sts = self.client.get(STATEFULSETS, namespace, name)
        if sts is None:
            return
        uid = sts["metadata"]["uid"]
        pods = self.client.claim(PODS, sts, (sts.get("spec") or {}).get("selector"))
        revisions = self.client.owned(REVISIONS, uid)
        update, collision = sync_revisions(self.client, sts, revisions)
        current = next(
            (r for r in revisions if r["metadata"]["name"] == (sts.get("status") or {}).get("currentRevision")), update
        )
        now = datetime.now(UTC)
        actions = plan(
            sts,
            pods,
            current=(current["metadata"]["name"], revision_template(current)),
            update=(update["metadata"]["name"], revision_template(update)),
            now=now,
        )
        for action in actions:
            self._act(sts, action)
        pods = self.client.owned(PODS, uid)
        status = statefulset_status(
            sts,
            pods,
            current=current["metadata"]["name"],
            update=update["metadata"]["name"],
            collision=collision,
            now=now,
        )
        if status != (sts.get("status") or {}):
            self.client.update_status(STATEFULSETS, sts, status)
        live = {(p["metadata"].get("labels") or {}).get(HASH_LABEL, "") for p in pods}
        keep = {status.get("currentRevision", ""), update["metadata"]["name"]}
        truncate_history(self.client, sts, self.client.owned(REVISIONS, uid), live, keep)
        min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
        waits = [w for p in pods if (w := available_in(p, min_ready, now)) is not None]
        if waits:
            self.enqueue_after(key, min(waits))

    def _act(self, sts: Mapping[str, Any], action: Action) -> None:
        set_name = sts["metadata"]["name"]
        pod_name = action.pod["metadata"]["name"]
        if action.event is not None:
            warning, reason, message = action.event
            self.client.event(sts, reason, message, warning=warning)
        if action.verb == "delete":
            if self.client.delete(PODS, action.pod):
                self.client.event(
                    sts, "SuccessfulDelete", f"delete Pod {pod_name} in StatefulSet {set_name} successful"
                )
            return
        self._create_claims(sts, action.pod)
        try:
            self.client.create(PODS, sts["metadata"].get("namespace", ""), dict(action.pod))
        except StatusError as exc:
            self.client.event(
                sts,
                "FailedCreate",
                f"create Pod {pod_name} in StatefulSet {set_name} failed error: {exc.message}",
                warning=True,
            )
            raise
        self.client.event(sts, "SuccessfulCreate", f"create Pod {pod_name} in StatefulSet {set_name} successful")

    def _create_claims(self, sts: Mapping[str, Any], pod: Pod) -> None:
        """``createPersistentVolumeClaims``: each template's claim, labelled with the set's selector."""
        spec = sts.get("spec") or {}
        namespace = sts["metadata"].get("namespace", "")
        index = int(pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"])
        retention = spec.get("persistentVolumeClaimRetentionPolicy") or {}
        for template in spec.get("volumeClaimTemplates") or []:
            name = claim_name(template, sts["metadata"]["name"], index)
            if self.client.get(CLAIMS, namespace, name) is not None:
                continue
            claim = copy.deepcopy(dict(template))
            meta = claim.setdefault("metadata", {})
            meta["name"] = name
            meta["labels"] = {**(meta.get("labels") or {}), **((spec.get("selector") or {}).get("matchLabels") or {})}
            if retention.get("whenDeleted") == "Delete":
                meta["ownerReferences"] = [controller_ref(sts)]
            claim.pop("status", None)
            claim["apiVersion"], claim["kind"] = "v1", "PersistentVolumeClaim"
            self.client.create(CLAIMS, namespace, claim)
            message = (
                f"create Claim {name} Pod {pod['metadata']['name']} in StatefulSet {sts['metadata']['name']} success"
            )
            self.client.event(sts, "SuccessfulCreate", message)
