"""The few calls every workload controller makes on the in-process API, with upstream's manners.

Reads come from the store (read-only dicts, never mutated); writes go through :class:`ObjectAPI`
so defaults, validation, finalizers and watch events apply exactly as for a client. A 404 on a
delete or a finalizer removal means the work is already done.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from ..apiserver.errors import StatusError
from ..apiserver.objects import DeleteOptions, ObjectAPI, WriteOptions
from ..apiserver.resources import ResourceType
from ._meta import MANAGER, Obj, controller_of, controller_ref, is_controlled_by, selector_matches
from .events import record_event

__all__ = ["Client"]


class Client:
    """Store reads and API writes on behalf of one controller (``component`` names its Events)."""

    def __init__(self, api: ObjectAPI, component: str) -> None:
        self.api = api
        self.component = component

    def rt(self, key: str) -> ResourceType:
        rt = self.api.registry.by_key(key)
        assert rt is not None, key
        return rt

    # Reads ---------------------------------------------------------------------------------

    def get(self, key: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        entry = self.api.store.get(key, namespace, name)
        return entry.obj if entry is not None else None

    def copy(self, key: str, namespace: str, name: str) -> Obj | None:
        entry = self.api.store.get(key, namespace, name)
        return orjson.loads(entry.raw) if entry is not None else None

    def objects(self, key: str, namespace: str | None = None) -> list[Mapping[str, Any]]:
        return [e.obj for e in self.api.store.scan(key, namespace)]

    def owned(self, key: str, owner_uid: str) -> list[Mapping[str, Any]]:
        """Objects of ``key`` whose controller reference is ``owner_uid``."""
        return [
            e.obj for k, e in self.api.store.dependents(owner_uid) if k == key and is_controlled_by(e.obj, owner_uid)
        ]

    def claim(self, key: str, owner: Mapping[str, Any], selector: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
        """``ControllerRefManager.Claim``: owned objects that still match, plus adopted orphans.

        Owned objects whose labels stopped matching are released (their reference removed).
        """
        meta = owner["metadata"]
        uid, namespace = meta["uid"], meta.get("namespace", "")
        claimed: list[Mapping[str, Any]] = []
        for obj in self.owned(key, uid):
            if selector_matches(selector, obj["metadata"].get("labels")):
                claimed.append(obj)
            elif not obj["metadata"].get("deletionTimestamp"):
                self._set_owner(key, obj, None, uid)
        if meta.get("deletionTimestamp"):
            return claimed
        for obj in self.objects(key, namespace):
            m = obj["metadata"]
            if (
                controller_of(obj) is None
                and not m.get("deletionTimestamp")
                and selector_matches(selector, m.get("labels"))
            ):
                adopted = self._set_owner(key, obj, controller_ref(owner), None)
                if adopted is not None:
                    claimed.append(adopted)
        return claimed

    def _set_owner(self, key: str, obj: Mapping[str, Any], ref: Obj | None, drop_uid: str | None) -> Obj | None:
        meta = obj["metadata"]
        fresh = self.copy(key, meta.get("namespace", ""), meta["name"])
        if fresh is None:
            return None
        refs = [r for r in fresh["metadata"].get("ownerReferences") or [] if r.get("uid") != drop_uid]
        if ref is not None:
            refs.append(ref)
        if refs:
            fresh["metadata"]["ownerReferences"] = refs
        else:
            fresh["metadata"].pop("ownerReferences", None)
        return self.update(key, fresh)

    # Writes --------------------------------------------------------------------------------

    def create(self, key: str, namespace: str, body: Obj) -> Obj:
        return self.api.create(self.rt(key), namespace, body, WriteOptions(field_manager=MANAGER))

    def update(self, key: str, obj: Obj) -> Obj:
        meta = obj["metadata"]
        return self.api.update(
            self.rt(key), meta.get("namespace", ""), meta["name"], obj, WriteOptions(field_manager=MANAGER)
        )

    def update_status(self, key: str, obj: Mapping[str, Any], status: Obj) -> Obj:
        """Write ``status`` over the stored object, guarded by its resourceVersion."""
        meta = obj["metadata"]
        body = {
            "metadata": {"name": meta["name"], "resourceVersion": meta["resourceVersion"]},
            "status": status,
        }
        if meta.get("namespace"):
            body["metadata"]["namespace"] = meta["namespace"]
        return self.api.update(
            self.rt(key),
            meta.get("namespace", ""),
            meta["name"],
            body,
            WriteOptions(field_manager=MANAGER),
            subresource="status",
        )

    def delete(
        self, key: str, obj: Mapping[str, Any], *, propagation: str = "Background", check_uid: bool = True
    ) -> bool:
        """Delete (uid-guarded); False when it was gone already."""
        meta = obj["metadata"]
        try:
            self.api.delete(
                self.rt(key),
                meta.get("namespace", ""),
                meta["name"],
                DeleteOptions(propagation=propagation, uid=meta.get("uid") if check_uid else None),
            )
        except StatusError as exc:
            if exc.code in (404, 409):
                return False
            raise
        return True

    def remove_finalizers(self, key: str, obj: Mapping[str, Any], finalizers: Iterable[str]) -> bool:
        """Drop ``finalizers`` from the live object; False when it is gone."""
        meta = obj["metadata"]
        fresh = self.copy(key, meta.get("namespace", ""), meta["name"])
        if fresh is None or fresh["metadata"].get("uid") != meta.get("uid"):
            return False
        drop = set(finalizers)
        current = fresh["metadata"].get("finalizers") or []
        kept = [f for f in current if f not in drop]
        if len(kept) == len(current):
            return True
        if kept:
            fresh["metadata"]["finalizers"] = kept
        else:
            fresh["metadata"].pop("finalizers", None)
        try:
            self.update(key, fresh)
        except StatusError as exc:
            if exc.code == 404:
                return False
            raise
        return True

    def event(self, involved: Mapping[str, Any], reason: str, message: str, *, warning: bool = False) -> None:
        record_event(
            self.api,
            dict(involved),
            reason=reason,
            message=message,
            type="Warning" if warning else "Normal",
            component=self.component,
        )
