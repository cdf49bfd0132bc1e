"""A watch-fed cache of one kind across all namespaces, calling back on every change.

``Informer.run`` lists, then follows the watch from the list's version; ``Gone`` lists again,
any other failure retries after a short pause, so the cache never silently stops following.
Objects the controller itself wrote are ``put`` from the server's answer at once, and the cache
never goes back to an older ``resourceVersion``, so a reconcile never acts on a stale copy of
its own last write while the watch event is still on the way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from tiphys.kube import EventType, Gone, Kube
from tiphys.kube.client import Selector

__all__ = ["Informer", "Key", "key_of", "version_of"]

log = logging.getLogger(__name__)

Key = tuple[str, str]
"""(namespace, name)"""

_RETRY_DELAY = 0.5


def key_of(obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def version_of(obj: Mapping[str, Any] | None) -> int | None:
    text = ((obj or {}).get("metadata") or {}).get("resourceVersion")
    return int(text) if isinstance(text, str) and text.isdigit() else None


class Informer:
    def __init__(
        self,
        kube: Kube,
        api_version: str,
        kind: str,
        *,
        labels: Selector | None = None,
        on_change: Callable[[EventType, dict[str, Any]], None] = lambda kind, obj: None,
    ) -> None:
        self._kube = kube
        self.api_version = api_version
        self.kind = kind
        self._labels = labels
        self._on_change = on_change
        self.objects: dict[Key, dict[str, Any]] = {}
        self._gone: dict[Key, int] = {}  # versions of deleted objects, against late answers
        self.synced = asyncio.Event()

    def get(self, key: Key) -> dict[str, Any] | None:
        return self.objects.get(key)

    def put(self, obj: Mapping[str, Any]) -> bool:
        """Take a newer copy of an object (a write's answer or an event); False when it is not newer."""
        key = key_of(obj)
        new = version_of(obj)
        gone = self._gone.get(key)
        if gone is not None and (new is None or new <= gone):
            return False
        old = version_of(self.objects.get(key))
        if new is not None and old is not None and new <= old:
            return False
        self._gone.pop(key, None)
        self.objects[key] = dict(obj)
        return True

    def remove(self, obj: Mapping[str, Any]) -> None:
        key = key_of(obj)
        self.objects.pop(key, None)
        version = version_of(obj)
        if version is not None:
            self._gone[key] = version

    async def run(self) -> None:
        while True:
            try:
                page = await self._kube.list(self.api_version, self.kind, all_namespaces=True, labels=self._labels)
                seen = {key_of(obj) for obj in page.items}
                for key in [k for k in self.objects if k not in seen]:
                    removed = self.objects.pop(key)
                    self._on_change(EventType.DELETED, removed)
                for obj in page.items:
                    if self.put(obj):
                        self._on_change(EventType.ADDED, obj)
                self.synced.set()
                async for event in self._kube.watch(
                    self.api_version,
                    self.kind,
                    all_namespaces=True,
                    labels=self._labels,
                    resource_version=page.resource_version,
                ):
                    if event.type is EventType.BOOKMARK:
                        continue
                    if event.type is EventType.DELETED:
                        self.remove(event.object)
                    elif not self.put(event.object):
                        continue  # our own write, already seen
                    self._on_change(event.type, event.object)
            except asyncio.CancelledError:
                raise
            except Gone:
                continue
            except Exception as e:  # a watch must never die silently
                log.warning("watch of %s failed, retrying: %s", self.kind, e)
                await asyncio.sleep(_RETRY_DELAY)
