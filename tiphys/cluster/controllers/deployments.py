"""The Deployment controller: ReplicaSets per pod template, rolled out as the strategy says.

One reconcile is one step of upstream's ``syncDeployment``: keep the revision annotations in
sync, honour ``paused`` and scaling, then take one rolling or recreate step (scale the new
ReplicaSet up or the old ones down) and write the status with the Available and Progressing
conditions. The arithmetic lives in :mod:`rollout`; ReplicaSet and pod changes bring the
Deployment back, and a timer wakes it when its progress deadline would pass.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..apiserver.errors import StatusError
from ..apiserver.objects import ObjectAPI
from ..apiserver.store import DELETED, Event
from ._client import Client
from ._meta import Obj, controller_of, controller_ref, get_condition, selector_matches
from .base import Controller
from .rollout import (
    DESIRED,
    HASH_LABEL,
    REVISION,
    find_new_rs,
    history_to_delete,
    new_rs_replicas,
    old_scale_down,
    pod_template_hash,
    proportional_scale,
    replicas,
    replicas_annotations,
    revision,
    synced_rs_annotations,
)
from .rollout_status import (
    calculate_status,
    complete,
    new_condition,
    paused_condition,
    rollout_conditions,
    set_condition,
)

__all__ = ["DeploymentController"]

DEPLOYMENTS, REPLICASETS, PODS = "apps/deployments", "apps/replicasets", "/pods"
RS = Mapping[str, Any]


class DeploymentController(Controller):
    name = "deployment"
    keys = (DEPLOYMENTS, REPLICASETS)

    def __init__(self, api: ObjectAPI) -> None:
        super().__init__(api)
        self.client = Client(api, "deployment-controller")

    # Events --------------------------------------------------------------------------------

    def on_event(self, event: Event) -> list[Hashable]:
        obj = event.entry.obj
        if event.key == DEPLOYMENTS:
            return [] if event.type == DELETED else [(event.namespace, obj["metadata"]["name"])]
        if event.key == REPLICASETS:
            ref = controller_of(obj)
            if ref is not None:
                return [(event.namespace, ref.get("name", ""))] if ref.get("kind") == "Deployment" else []
            return [
                (event.namespace, d["metadata"]["name"])
                for d in self.client.objects(DEPLOYMENTS, event.namespace)
                if selector_matches((d.get("spec") or {}).get("selector"), obj["metadata"].get("labels"))
            ]
        if event.key == PODS and (
            event.type == DELETED or (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        ):
            # Recreate waits for old pods to be gone, which changes no ReplicaSet.
            ref = controller_of(obj)
            if ref is not None and ref.get("kind") == "ReplicaSet":
                rs = self.client.get(REPLICASETS, event.namespace, ref.get("name", ""))
                owner = controller_of(rs) if rs is not None else None
                if owner is not None and owner.get("kind") == "Deployment":
                    return [(event.namespace, owner.get("name", ""))]
        return []

    def resync(self) -> None:
        for d in self.client.objects(DEPLOYMENTS):
            self.enqueue((d["metadata"].get("namespace", ""), d["metadata"]["name"]))

    # Sync ------------------------------------------------------------------------------------

    def reconcile(self, key: Hashable) -> None:
        assert isinstance(key, tuple)
        namespace, name = key
        d = self.client.get(DEPLOYMENTS, namespace, name)
        if d is None:
            return
        now = datetime.now(UTC)
        rss = self.client.claim(REPLICASETS, d, (d.get("spec") or {}).get("selector"))
        if d["metadata"].get("deletionTimestamp"):
            new_rs, old = _split(d, rss)
            self._write_status(d, calculate_status(d, [*old, new_rs], new_rs, now))
            return
        paused = paused_condition(d, now)
        if paused is not None:
            status = copy.deepcopy(dict(d.get("status") or {}))
            set_condition(status, paused)
            d = self._write_status(d, status)
        scaling = bool((d.get("spec") or {}).get("paused")) or self._scaling_event(d, rss, now)
        # Syncing revisions may have written the Deployment and its new ReplicaSet: read them again.
        d, new_rs, old = self._reread(d)
        rss = [*old, new_rs] if new_rs is not None else old
        spec = d.get("spec") or {}
        if scaling:
            self._scale(d, rss, now)
        elif ((spec.get("strategy") or {}).get("type")) == "Recreate":
            self._recreate(d, rss, now)
        else:
            self._rolling(d, rss, now)

    def _scaling_event(self, d: Mapping[str, Any], rss: Sequence[RS], now: datetime) -> bool:
        """``isScalingEvent``: an active ReplicaSet was sized for another ``spec.replicas``."""
        d, new_rs, old = self._new_and_old(d, rss, now, create=False)
        for rs in [*old, new_rs]:
            if rs is None or replicas(rs) == 0:
                continue
            desired = (rs["metadata"].get("annotations") or {}).get(DESIRED)
            if desired is not None and desired.isdigit() and int(desired) != replicas(d):
                return True
        return False

    def _scale(self, d: Mapping[str, Any], rss: Sequence[RS], now: datetime) -> None:
        """``sync``: proportional scaling (also while paused), then counters only."""
        d, new_rs, old = self._new_and_old(d, rss, now, create=False)
        sizes, operation = proportional_scale(d, new_rs, old)
        for rs in [*old, new_rs]:
            if rs is not None and rs["metadata"]["name"] in sizes:
                self._resize(d, rs, sizes[rs["metadata"]["name"]], annotate=bool(operation))
        d, new_rs, old = self._reread(d)
        if (d.get("spec") or {}).get("paused"):
            self._cleanup(d, old)
        self._write_status(d, calculate_status(d, [*old, new_rs], new_rs, now))

    def _rolling(self, d: Mapping[str, Any], rss: Sequence[RS], now: datetime) -> None:
        """``rolloutRolling``: grow the new ReplicaSet within the surge, else shrink old ones within the budget."""
        d, new_rs, old = self._new_and_old(d, rss, now, create=True)
        assert new_rs is not None
        all_rss = [*old, new_rs]
        if replicas(new_rs) > replicas(d):
            target = replicas(d)
        else:
            target = new_rs_replicas(d, all_rss, new_rs)
        if target != replicas(new_rs):
            self._resize(d, new_rs, target)
            self._rollout_status(d, now)
            return
        sizes = old_scale_down(d, all_rss, [rs for rs in old if replicas(rs) > 0], new_rs)
        if sizes:
            for rs in old:
                if rs["metadata"]["name"] in sizes:
                    self._resize(d, rs, sizes[rs["metadata"]["name"]])
            self._rollout_status(d, now)
            return
        if complete(d, d.get("status") or {}):
            self._cleanup(d, old)
        self._rollout_status(d, now)

    def _recreate(self, d: Mapping[str, Any], rss: Sequence[RS], now: datetime) -> None:
        """``rolloutRecreate``: all old pods go (and finish) before the new ReplicaSet scales up."""
        d, new_rs, old = self._new_and_old(d, rss, now, create=False)
        scaled = False
        for rs in old:
            if replicas(rs) > 0:
                self._resize(d, rs, 0)
                scaled = True
        if scaled or self._old_pods_running(new_rs, old):
            self._rollout_status(d, now)
            return
        if new_rs is None:
            d, new_rs, old = self._new_and_old(d, rss, now, create=True)
            assert new_rs is not None
        if replicas(new_rs) != replicas(d):
            self._resize(d, new_rs, replicas(d))
        if complete(d, d.get("status") or {}):
            self._cleanup(d, old)
        self._rollout_status(d, now)

    def _old_pods_running(self, new_rs: RS | None, old: Sequence[RS]) -> bool:
        if any(int((rs.get("status") or {}).get("replicas") or 0) for rs in old):
            return True
        for rs in old:
            for pod in self.client.owned(PODS, rs["metadata"]["uid"]):
                if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                    return True
        return False

    # ReplicaSets -----------------------------------------------------------------------------

    def _new_and_old(
        self, d: Mapping[str, Any], rss: Sequence[RS], now: datetime, *, create: bool
    ) -> tuple[Mapping[str, Any], RS | None, list[RS]]:
        """``getAllReplicaSetsAndSyncRevision``: the new ReplicaSet (made if asked) and the old ones."""
        new_rs, old = _split(d, rss)
        next_revision = max((revision(rs) for rs in old), default=0) + 1
        if new_rs is not None:
            annotations = synced_rs_annotations(
                d, new_rs["metadata"].get("annotations") or {}, next_revision, exists=True
            )
            min_ready = (d.get("spec") or {}).get("minReadySeconds") or 0
            if annotations != (new_rs["metadata"].get("annotations") or {}) or min_ready != (
                (new_rs.get("spec") or {}).get("minReadySeconds") or 0
            ):
                body = copy.deepcopy(dict(new_rs))
                body["metadata"]["annotations"] = annotations
                _set_min_ready(body, min_ready)
                return d, self.client.update(REPLICASETS, body), old
            d = self._set_revision(d, (new_rs["metadata"].get("annotations") or {}).get(REVISION, ""))
            if (d.get("spec") or {}).get("progressDeadlineSeconds") is not None and get_condition(
                d.get("status"), "Progressing"
            ) is None:
                status = copy.deepcopy(dict(d.get("status") or {}))
                message = f'Found new replica set "{new_rs["metadata"]["name"]}"'
                set_condition(status, new_condition("Progressing", "True", "FoundNewReplicaSet", message, now))
                d = self._write_status(d, status)
            return d, new_rs, old
        if not create:
            return d, None, old
        return self._create_new_rs(d, old, next_revision, now)

    def _create_new_rs(
        self, d: Mapping[str, Any], old: list[RS], next_revision: int, now: datetime
    ) -> tuple[Mapping[str, Any], RS | None, list[RS]]:
        spec = d["spec"]
        digest = pod_template_hash(d)
        template = copy.deepcopy(spec["template"])
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = digest
        selector = copy.deepcopy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = digest
        body: Obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{d['metadata']['name']}-{digest}",
                "labels": dict(template["metadata"]["labels"]),
                "ownerReferences": [controller_ref(d)],
            },
            "spec": {"replicas": 0, "selector": selector, "template": template},
        }
        _set_min_ready(body, spec.get("minReadySeconds") or 0)
        body["spec"]["replicas"] = new_rs_replicas(d, [*old, body], body)
        body["metadata"]["annotations"] = synced_rs_annotations(d, {}, next_revision, exists=False)
        namespace = d["metadata"].get("namespace", "")
        try:
            created: RS = self.client.create(REPLICASETS, namespace, body)
        except StatusError as exc:
            if exc.code != 409:
                raise
            existing = self.client.get(REPLICASETS, namespace, body["metadata"]["name"])
            if existing is not None and find_new_rs(d, [existing]) is not None and controller_of(existing) is not None:
                return d, existing, old
            # A different ReplicaSet holds the name: a hash collision, so count it and try again.
            status = copy.deepcopy(dict(d.get("status") or {}))
            status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
            self._write_status(d, status)
            raise
        if replicas(created):
            self.client.event(
                d,
                "ScalingReplicaSet",
                f"Scaled up replica set {created['metadata']['name']} to {replicas(created)} from 0",
            )
        d = self._set_revision(d, str(next_revision))
        status = copy.deepcopy(dict(d.get("status") or {}))
        message = f'Created new replica set "{created["metadata"]["name"]}"'
        set_condition(status, new_condition("Progressing", "True", "NewReplicaSetCreated", message, now))
        return self._write_status(d, status), created, old

    def _resize(self, d: Mapping[str, Any], rs: RS, size: int, *, annotate: bool = False) -> None:
        """``scaleReplicaSet``: the new size and replica annotations; an Event when the size changed."""
        wanted = replicas_annotations(d)
        current = rs["metadata"].get("annotations") or {}
        stale = any(current.get(k) != v for k, v in wanted.items())
        if replicas(rs) == size and not (annotate and stale):
            return
        body = copy.deepcopy(dict(rs))
        old_size = replicas(rs)
        body["spec"]["replicas"] = size
        body["metadata"]["annotations"] = {**current, **wanted}
        self.client.update(REPLICASETS, body)
        if old_size != size:
            direction = "up" if size > old_size else "down"
            self.client.event(
                d,
                "ScalingReplicaSet",
                f"Scaled {direction} replica set {rs['metadata']['name']} to {size} from {old_size}",
            )

    def _cleanup(self, d: Mapping[str, Any], old: Sequence[RS]) -> None:
        for rs in history_to_delete(d, old):
            self.client.delete(REPLICASETS, rs)

    # Status ----------------------------------------------------------------------------------

    def _reread(self, d: Mapping[str, Any]) -> tuple[Mapping[str, Any], RS | None, list[RS]]:
        meta = d["metadata"]
        fresh = self.client.get(DEPLOYMENTS, meta.get("namespace", ""), meta["name"]) or d
        new_rs, old = _split(fresh, self.client.owned(REPLICASETS, meta["uid"]))
        return fresh, new_rs, old

    def _rollout_status(self, d: Mapping[str, Any], now: datetime) -> None:
        """``syncRolloutStatus``: counters, Available and Progressing, and the deadline timer."""
        d, new_rs, old = self._reread(d)
        status = calculate_status(d, [*old, new_rs], new_rs, now)
        wake = rollout_conditions(d, status, new_rs, now)
        self._write_status(d, status)
        if wake is not None:
            self.enqueue_after((d["metadata"].get("namespace", ""), d["metadata"]["name"]), wake)

    def _write_status(self, d: Mapping[str, Any], status: Obj) -> Mapping[str, Any]:
        if status == (d.get("status") or {}):
            return d
        return self.client.update_status(DEPLOYMENTS, d, status)

    def _set_revision(self, d: Mapping[str, Any], value: str) -> Mapping[str, Any]:
        """``SetDeploymentRevision``: the Deployment shows its newest ReplicaSet's revision."""
        if not value or (d["metadata"].get("annotations") or {}).get(REVISION) == value:
            return d
        body = copy.deepcopy(dict(d))
        body["metadata"].setdefault("annotations", {})[REVISION] = value
        return self.client.update(DEPLOYMENTS, body)


def _split(d: Mapping[str, Any], rss: Sequence[RS]) -> tuple[RS | None, list[RS]]:
    new_rs = find_new_rs(d, rss)
    new_uid = new_rs["metadata"]["uid"] if new_rs is not None else None
    return new_rs, [rs for rs in rss if rs["metadata"]["uid"] != new_uid]


def _set_min_ready(rs: Obj, seconds: int) -> None:
    if seconds:
        rs["spec"]["minReadySeconds"] = seconds
    else:
        rs["spec"].pop("minReadySeconds", None)
