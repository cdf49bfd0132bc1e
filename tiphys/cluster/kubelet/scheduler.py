"""The embedded scheduler: every pod without a node is bound to ``tiphys-local``.

There is one node, so scheduling is binding: ``spec.nodeName`` is set through the in-process
API, then condition ``PodScheduled`` and an Event ``Scheduled``, as upstream's
default-scheduler reports it. Pods with ``schedulingGates`` wait, ``SchedulingGated``.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import orjson

from ..apiserver.objects import WriteOptions, now_rfc3339
from ..apiserver.store import DELETED, Event
from ..controllers.base import Controller
from ..controllers.events import record_event
from .context import NODE_NAME

__all__ = ["Scheduler"]

Obj = dict[str, Any]
MANAGER = "default-scheduler"


def _pending(pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    phase = (pod.get("status") or {}).get("phase")
    return (
        not spec.get("nodeName")
        and not pod["metadata"].get("deletionTimestamp")
        and phase
        not in (
            "Succeeded",
            "Failed",
        )
    )


def _with_condition(status: Obj, ok: bool, reason: str = "", message: str = "") -> Obj:
    conditions = [c for c in status.get("conditions") or () if c.get("type") != "PodScheduled"]
    condition: Obj = {"type": "PodScheduled", "status": "True" if ok else "False", "lastProbeTime": None}
    old: Obj = next((c for c in status.get("conditions") or () if c.get("type") == "PodScheduled"), {})
    same = old.get("status") == condition["status"]
    condition["lastTransitionTime"] = old.get("lastTransitionTime") if same else now_rfc3339()
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return {**status, "conditions": [*conditions, condition]}


class Scheduler(Controller):
    name = "scheduler"

    def on_event(self, event: Event) -> list[Hashable]:
        if event.key != "/pods" or event.type == DELETED or not _pending(event.entry.obj):
            return []
        meta = event.entry.obj["metadata"]
        return [(meta.get("namespace", ""), meta["name"])]

    def resync(self) -> None:
        for entry in self.api.store.scan("/pods"):
            if _pending(entry.obj):
                self.enqueue((entry.obj["metadata"].get("namespace", ""), entry.obj["metadata"]["name"]))

    def reconcile(self, key: Hashable) -> None:
        assert isinstance(key, tuple)
        namespace, name = key
        pods = self.api.registry.lookup("", "v1", "pods")
        entry = self.api.store.get("/pods", namespace, name)
        if pods is None or entry is None or not _pending(entry.obj):
            return
        opts = WriteOptions(field_manager=MANAGER)
        pod = orjson.loads(entry.raw)
        if (pod.get("spec") or {}).get("schedulingGates"):
            message = "Scheduling is blocked due to non-empty scheduling gates"
            pod["status"] = _with_condition(pod.get("status") or {}, False, "SchedulingGated", message)
            self.api.update(pods, namespace, name, pod, opts, subresource="status")
            return
        pod["spec"]["nodeName"] = NODE_NAME
        bound = self.api.update(pods, namespace, name, pod, opts)
        entry = self.api.store.get("/pods", namespace, name)
        if entry is not None and entry.obj["metadata"].get("uid") == bound["metadata"].get("uid"):
            pod = orjson.loads(entry.raw)
            pod["status"] = _with_condition(pod.get("status") or {}, True)
            self.api.update(pods, namespace, name, pod, opts, subresource="status")
        message = f"Successfully assigned {namespace}/{name} to {NODE_NAME}"
        record_event(self.api, bound, reason="Scheduled", message=message, component=MANAGER)
