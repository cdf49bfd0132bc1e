"""Namespace lifecycle: a ``default`` ServiceAccount in each namespace, and termination.

A deleted namespace is Terminating until everything in it is gone; then its ``kubernetes``
finalizer is removed (the ``finalize`` step) and the namespace disappears.
"""

from __future__ import annotations

from collections.abc import Hashable

import orjson

from ..apiserver.errors import StatusError
from ..apiserver.objects import DeleteOptions, WriteOptions
from ..apiserver.store import DELETED, Event
from .base import Controller

__all__ = ["NamespaceController"]

MANAGER = "namespace-controller"


class NamespaceController(Controller):
    name = "namespace"

    def on_event(self, event: Event) -> list[Hashable]:
        if event.key == "/namespaces":
            return [event.entry.obj["metadata"]["name"]] if event.type != DELETED else []
        if event.type == DELETED and event.namespace:
            ns = self.api.store.get("/namespaces", "", event.namespace)
            if ns is not None and ns.obj["metadata"].get("deletionTimestamp"):
                return [event.namespace]
        return []

    def resync(self) -> None:
        for entry in self.api.store.scan("/namespaces"):
            self.enqueue(entry.obj["metadata"]["name"])

    def reconcile(self, key: Hashable) -> None:
        assert isinstance(key, str)
        entry = self.api.store.get("/namespaces", "", key)
        if entry is None:
            return
        if not entry.obj["metadata"].get("deletionTimestamp"):
            self._ensure_default_service_account(key)
            return
        remaining = 0
        for store_key, obj_entry in list(self.api.store.namespaced_in(key)):
            rt = self.api.registry.by_key(store_key)
            if rt is None:
                continue
            remaining += 1
            meta = obj_entry.obj["metadata"]
            if meta.get("deletionTimestamp"):
                continue
            try:
                self.api.delete(rt, key, meta["name"], DeleteOptions(propagation="Background"))
            except StatusError as exc:
                if exc.code != 404:
                    raise
        if remaining and any(True for _ in self.api.store.namespaced_in(key)):
            return
        ns_type = self.api.registry.lookup("", "v1", "namespaces")
        assert ns_type is not None
        obj = orjson.loads(entry.raw)
        obj.setdefault("spec", {})["finalizers"] = []
        self.api.update(ns_type, "", key, obj, WriteOptions(field_manager=MANAGER))

    def _ensure_default_service_account(self, namespace: str) -> None:
        if self.api.store.get("/serviceaccounts", namespace, "default") is not None:
            return
        sa_type = self.api.registry.lookup("", "v1", "serviceaccounts")
        assert sa_type is not None
        try:
            self.api.create(
                sa_type,
                namespace,
                {"metadata": {"name": "default"}},
                WriteOptions(field_manager="service-account-controller"),
            )
        except StatusError as exc:
            if exc.code not in (409, 403):
                raise
