"""The ReplicaSet controller: keeps ``spec.replicas`` pods of a template alive and counts them.

As upstream's ``replica_set.go``: pods named ``<replicaset>-<5 chars>`` are created or deleted
(the least useful first: unscheduled, pending, not ready, newest) until the active pods match
``spec.replicas``; orphans that match the selector are adopted; status counts replicas,
fully-labeled, ready and available (ready for ``minReadySeconds``) pods.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..apiserver.objects import ObjectAPI
from ..apiserver.store import DELETED, Event
from ._client import Client
from ._meta import Obj, controller_of, selector_matches
from ._pods import available_in, deletion_order, is_active, is_available, is_ready, pod_from_template
from .base import Controller

__all__ = ["ReplicaSetController", "pods_to_delete", "replicaset_status"]

REPLICASETS, PODS = "apps/replicasets", "/pods"
BURST = 500


def pods_to_delete(active: Sequence[Mapping[str, Any]], count: int) -> list[Mapping[str, Any]]:
    """``getPodsToDelete``: the ``count`` least valuable pods."""
    return sorted(active, key=deletion_order)[:count]


def replicaset_status(rs: Mapping[str, Any], active: Sequence[Mapping[str, Any]], now: datetime) -> Obj:
    """``calculateStatus`` + ``observedGeneration``; zero counters are omitted as on the wire."""
    spec = rs.get("spec") or {}
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    labeled = sum(
        1 for p in active if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in template_labels.items())
    )
    ready = [p for p in active if is_ready(p)]
    status: Obj = {"replicas": len(active)}
    for key, value in (
        ("fullyLabeledReplicas", labeled),
        ("readyReplicas", len(ready)),
        ("availableReplicas", sum(1 for p in ready if is_available(p, min_ready, now))),
        ("observedGeneration", int(rs["metadata"].get("generation") or 0)),
    ):
        if value:
            status[key] = value
    # Pod creation never fails in-process, so a ReplicaFailure condition is always cleared.
    conditions = [c for c in (rs.get("status") or {}).get("conditions") or () if c.get("type") != "ReplicaFailure"]
    if conditions:
        status["conditions"] = conditions
    return status


class ReplicaSetController(Controller):
    name = "replicaset"
    keys = (REPLICASETS, PODS)

    def __init__(self, api: ObjectAPI) -> None:
        super().__init__(api)
        self.client = Client(api, "replicaset-controller")

    def on_event(self, event: Event) -> list[Hashable]:
        if event.key == REPLICASETS:
            return [] if event.type == DELETED else [(event.namespace, event.entry.obj["metadata"]["name"])]
        if event.key != PODS:
            return []
        pod = event.entry.obj
        ref = controller_of(pod)
        if ref is not None:
            return [(event.namespace, ref.get("name", ""))] if ref.get("kind") == "ReplicaSet" else []
        if event.type == DELETED:
            return []
        labels = pod["metadata"].get("labels")
        return [
            (event.namespace, rs["metadata"]["name"])
            for rs in self.client.objects(REPLICASETS, event.namespace)
            if selector_matches((rs.get("spec") or {}).get("selector"), labels)
        ]

    def resync(self) -> None:
        for rs in self.client.objects(REPLICASETS):
            self.enqueue((rs["metadata"].get("namespace", ""), rs["metadata"]["name"]))

    def reconcile(self, key: Hashable) -> None:
        assert isinstance(key, tuple)
        namespace, name = key
        rs = self.client.get(REPLICASETS, namespace, name)
        if rs is None:
            return
        spec = rs.get("spec") or {}
        pods = self.client.claim(PODS, rs, spec.get("selector"))
        active = [p for p in pods if is_active(p)]
        if not rs["metadata"].get("deletionTimestamp"):
            active = self._manage(rs, active)
        now = datetime.now(UTC)
        status = replicaset_status(rs, active, now)
        if status != (rs.get("status") or {}):
            self.client.update_status(REPLICASETS, rs, status)
        waits = [w for p in active if (w := available_in(p, int(spec.get("minReadySeconds") or 0), now)) is not None]
        if waits:
            self.enqueue_after(key, min(waits))

    def _manage(self, rs: Mapping[str, Any], active: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """``manageReplicas``: create or delete pods; returns the active pods afterwards."""
        diff = len(active) - int((rs.get("spec") or {}).get("replicas", 1))
        namespace = rs["metadata"].get("namespace", "")
        if diff < 0:
            template = (rs.get("spec") or {}).get("template") or {}
            for _ in range(min(-diff, BURST)):
                created = self.client.create(PODS, namespace, pod_from_template(template, rs))
                self.client.event(rs, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
                active.append(created)
        elif diff > 0:
            doomed = pods_to_delete(active, min(diff, BURST))
            for pod in doomed:
                if self.client.delete(PODS, pod):
                    self.client.event(rs, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")
            gone = {p["metadata"]["uid"] for p in doomed}
            active = [p for p in active if p["metadata"]["uid"] not in gone]
        return active
