"""Recording ``v1`` Events the way upstream components do, so ``kubectl describe`` shows them.

Repeated events for the same object, reason and message are folded into one with a count, as
the upstream event recorder does, so a crash-looping container does not flood the store.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from ..apiserver.errors import StatusError
from ..apiserver.objects import ObjectAPI, WriteOptions, now_rfc3339

__all__ = ["record_event"]

Obj = dict[str, Any]


def record_event(
    api: ObjectAPI,
    involved: Obj,
    *,
    reason: str,
    message: str,
    type: str = "Normal",
    component: str,
    host: str = "",
    field_path: str = "",
) -> None:
    """Create (or bump the count of) an Event about ``involved`` in its namespace."""
    meta = involved["metadata"]
    namespace = meta.get("namespace") or "default"
    digest = hashlib.sha1(f"{meta.get('uid')}|{reason}|{message}|{field_path}".encode()).hexdigest()[:10]
    name = f"{meta['name']}.{digest}"
    events = api.registry.lookup("", "v1", "events")
    if events is None or api.store.get("/namespaces", "", namespace) is None:
        return
    now = now_rfc3339()
    existing = api.store.get("/events", namespace, name)
    try:
        if existing is not None:
            obj = orjson.loads(existing.raw)
            obj["count"] = int(obj.get("count") or 1) + 1
            obj["lastTimestamp"] = now
            api.update(events, namespace, name, obj, WriteOptions(field_manager=component))
            return
        involved_ref: Obj = {
            "kind": involved.get("kind", ""),
            "namespace": meta.get("namespace", ""),
            "name": meta["name"],
            "uid": meta.get("uid", ""),
            "apiVersion": involved.get("apiVersion", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        }
        if field_path:
            involved_ref["fieldPath"] = field_path
        event: Obj = {
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": involved_ref,
            "reason": reason,
            "message": message,
            "source": {"component": component, **({"host": host} if host else {})},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": type,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": host,
        }
        api.create(events, namespace, event, WriteOptions(field_manager=component))
    except StatusError as exc:
        # Events are best effort, as upstream's recorder: never fail the controller for one.
        if exc.code not in (403, 404, 409):
            raise

