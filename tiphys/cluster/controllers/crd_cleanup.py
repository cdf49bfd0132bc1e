"""CRD deletion: remove every custom resource of a deleted CRD, then let the CRD go.

A CRD carries finalizer ``customresourcecleanup.apiextensions.k8s.io`` from creation; once it is
being deleted, its objects are deleted (their own finalizers respected) and, when none remain,
the finalizer is removed and the CRD disappears from discovery and OpenAPI.
"""

from __future__ import annotations

from collections.abc import Hashable

import orjson

from ..apiserver.crds import CLEANUP_FINALIZER
from ..apiserver.errors import StatusError
from ..apiserver.objects import DeleteOptions, WriteOptions
from ..apiserver.store import DELETED, Event
from .base import Controller

__all__ = ["CRDCleanup"]

CRD_KEY = "apiextensions.k8s.io/customresourcedefinitions"


class CRDCleanup(Controller):
    name = "crd-cleanup"
    added = False  # only a CRD being deleted, or a custom resource gone, concerns it

    def on_event(self, event: Event) -> list[Hashable]:
        if event.key == CRD_KEY and event.type != DELETED:
            return [event.entry.obj["metadata"]["name"]] if event.entry.obj["metadata"].get("deletionTimestamp") else []
        if event.type == DELETED:
            rt = self.api.registry.by_key(event.key)
            if rt is not None and rt.crd is not None:
                return [rt.crd]
        return []

    def resync(self) -> None:
        for entry in self.api.store.scan(CRD_KEY):
            if entry.obj["metadata"].get("deletionTimestamp"):
                self.enqueue(entry.obj["metadata"]["name"])

    def reconcile(self, key: Hashable) -> None:
        assert isinstance(key, str)
        entry = self.api.store.get(CRD_KEY, "", key)
        if entry is None or not entry.obj["metadata"].get("deletionTimestamp"):
            return
        types = [rt for rt in self.api.registry if rt.crd == key]
        remaining = 0
        if types:
            rt = types[0]
            for obj_entry in self.api.store.scan(rt.key):
                remaining += 1
                meta = obj_entry.obj["metadata"]
                if meta.get("deletionTimestamp"):
                    continue
                try:
                    self.api.delete(
                        rt, meta.get("namespace", ""), meta["name"], DeleteOptions(propagation="Background")
                    )
                except StatusError as exc:
                    if exc.code != 404:
                        raise
            remaining = self.api.store.count(rt.key)
        if remaining:
            return
        crd_type = self.api.registry.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        assert crd_type is not None
        obj = orjson.loads(entry.raw)
        obj["metadata"]["finalizers"] = [f for f in obj["metadata"].get("finalizers") or [] if f != CLEANUP_FINALIZER]
        self.api.update(crd_type, "", key, obj, WriteOptions(field_manager="apiextensions-apiserver"))
