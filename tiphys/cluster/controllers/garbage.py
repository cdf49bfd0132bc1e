"""The garbage collector: dependents follow their owners, as ownerReferences and propagation say.

Background: an owner is gone, so its dependents are deleted (or just lose the dangling
reference while another owner lives). Foreground: the owner waits, with finalizer
``foregroundDeletion``, until its blocking dependents are gone. Orphan: dependents lose their
reference to the owner, then the ``orphan`` finalizer is removed.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import orjson

from ..apiserver.objects import DeleteOptions, WriteOptions
from ..apiserver.resources import ResourceType
from ..apiserver.store import DELETED, Entry, Event
from .base import Controller

__all__ = ["GarbageCollector"]

Obj = dict[str, Any]
MANAGER = "generic-garbage-collector"
FOREGROUND, ORPHAN = "foregroundDeletion", "orphan"


class GarbageCollector(Controller):
    name = "garbage-collector"
    added = False  # a new object is never being deleted (create clears deletionTimestamp)

    def on_event(self, event: Event) -> list[Hashable]:
        keys: list[Hashable] = []
        meta = event.entry.obj["metadata"]
        uid = meta.get("uid")
        if event.type == DELETED and uid:
            keys.append(("owner-gone", uid))
        elif meta.get("deletionTimestamp") and (
            FOREGROUND in (meta.get("finalizers") or ()) or ORPHAN in (meta.get("finalizers") or ())
        ):
            keys.append(("finalize", event.key, meta.get("namespace", ""), meta["name"]))
        # A dependent that went away may unblock an owner in foreground deletion.
        if event.type == DELETED or meta.get("deletionTimestamp"):
            for ref in meta.get("ownerReferences") or ():
                owner = self._owner(event.entry, ref)
                if owner is not None:
                    rt, entry = owner
                    if entry.obj["metadata"].get("deletionTimestamp"):
                        keys.append(
                            (
                                "finalize",
                                rt.key,
                                entry.obj["metadata"].get("namespace", ""),
                                entry.obj["metadata"]["name"],
                            )
                        )
        return keys

    def resync(self) -> None:
        for _, entry in self.api.store.all_owned():
            for ref in entry.obj["metadata"].get("ownerReferences") or ():
                if self._owner(entry, ref) is None:
                    self.enqueue(("owner-gone", ref.get("uid")))
        for rt in self.api.registry:
            for entry in self.api.store.scan(rt.key):
                meta = entry.obj["metadata"]
                if meta.get("deletionTimestamp") and {FOREGROUND, ORPHAN} & set(meta.get("finalizers") or ()):
                    self.enqueue(("finalize", rt.key, meta.get("namespace", ""), meta["name"]))

    def _owner(self, dependent: Entry, ref: Obj) -> tuple[ResourceType, Entry] | None:
        rt = self.api.registry.by_api_version(ref.get("apiVersion", ""), ref.get("kind", ""))
        if rt is None:
            return None
        ns = dependent.obj["metadata"].get("namespace", "") if rt.namespaced else ""
        entry = self.api.store.get(rt.key, ns, ref.get("name", ""))
        if entry is None or entry.obj["metadata"].get("uid") != ref.get("uid"):
            return None
        return rt, entry

    def reconcile(self, key: Hashable) -> None:
        assert isinstance(key, tuple)
        if key[0] == "owner-gone":
            self._collect_dependents(key[1])
        else:
            _, store_key, namespace, name = key
            self._finalize(store_key, namespace, name)

    def _collect_dependents(self, owner_uid: str) -> None:
        for store_key, entry in self.api.store.dependents(owner_uid):
            rt = self.api.registry.by_key(store_key)
            if rt is None:
                continue
            meta = entry.obj["metadata"]
            refs = meta.get("ownerReferences") or []
            alive = [r for r in refs if r.get("uid") != owner_uid and self._owner(entry, r) is not None]
            if alive:
                obj = orjson.loads(entry.raw)
                obj["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != owner_uid]
                self.api.update(rt, meta.get("namespace", ""), meta["name"], obj, WriteOptions(field_manager=MANAGER))
            elif not meta.get("deletionTimestamp"):
                self.api.delete(rt, meta.get("namespace", ""), meta["name"], DeleteOptions(propagation="Background"))

    def _finalize(self, store_key: str, namespace: str, name: str) -> None:
        rt = self.api.registry.by_key(store_key)
        entry = self.api.store.get(store_key, namespace, name)
        if rt is None or entry is None:
            return
        meta = entry.obj["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        uid = meta["uid"]
        if ORPHAN in finalizers:
            for dep_key, dep in self.api.store.dependents(uid):
                dep_rt = self.api.registry.by_key(dep_key)
                if dep_rt is None:
                    continue
                obj = orjson.loads(dep.raw)
                obj["metadata"]["ownerReferences"] = [
                    r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != uid
                ]
                if not obj["metadata"]["ownerReferences"]:
                    del obj["metadata"]["ownerReferences"]
                self.api.update(
                    dep_rt,
                    obj["metadata"].get("namespace", ""),
                    obj["metadata"]["name"],
                    obj,
                    WriteOptions(field_manager=MANAGER),
                )
            finalizers.remove(ORPHAN)
        elif FOREGROUND in finalizers:
            blocking = False
            for dep_key, dep in self.api.store.dependents(uid):
                dep_rt = self.api.registry.by_key(dep_key)
                if dep_rt is None:
                    continue
                dep_meta = dep.obj["metadata"]
                if any(
                    r.get("uid") == uid and r.get("blockOwnerDeletion") for r in dep_meta.get("ownerReferences") or ()
                ):
                    blocking = True
                if not dep_meta.get("deletionTimestamp"):
                    self.api.delete(
                        dep_rt, dep_meta.get("namespace", ""), dep_meta["name"], DeleteOptions(propagation="Foreground")
                    )
            if blocking and any(
                any(
                    r.get("uid") == uid and r.get("blockOwnerDeletion")
                    for r in d.obj["metadata"].get("ownerReferences") or ()
                )
                for _, d in self.api.store.dependents(uid)
            ):
                return
            finalizers.remove(FOREGROUND)
        else:
            return
        obj = orjson.loads(entry.raw)
        obj["metadata"]["finalizers"] = finalizers
        if not finalizers:
            del obj["metadata"]["finalizers"]
        self.api.update(rt, namespace, name, obj, WriteOptions(field_manager=MANAGER))
