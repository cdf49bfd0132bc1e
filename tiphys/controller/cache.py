"""One watch cache per cluster, shared by every Application that deploys there (Argo CD's cluster cache).

A ``ClusterCache`` is a ``LiveCache`` whose scopes are whole kinds across all namespaces: one
list+watch per kind however many apps and namespaces use it (200 apps in 200 namespaces cost a
handful of watches, not a thousand). Every event is reported to ``on_change`` — the controller
maps it to the apps that manage the object — and wakes only the waiters that wait for that
object, so any number of syncs can wait on one cache at the same time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

from tiphys.engine import ResourceKey, resource_key
from tiphys.kube import EventType, Kube, ObjectList, WatchEvent

from .live import LiveCache, Scope

__all__ = ["ClusterCache", "OnChange"]

OnChange = Callable[[ResourceKey, dict[str, Any]], None]
Ignore = Callable[[ResourceKey, Mapping[str, Any] | None], bool]


class _AllNamespaces:
    """The two calls ``LiveCache`` makes, across all namespaces of a namespaced kind."""

    def __init__(self, kube: Kube, owner: ClusterCache) -> None:
        self._kube = kube
        self._owner = owner

    async def list(self, api_version: str, kind: str, *, namespace: str | None = None) -> ObjectList:
        page = await self._kube.list(api_version, kind, all_namespaces=True)
        self._owner._relisted(api_version, kind, page.items)
        return page

    def watch(
        self, api_version: str, kind: str, *, namespace: str | None = None, resource_version: str | None = None
    ) -> AsyncIterator[WatchEvent]:
        return self._kube.watch(api_version, kind, all_namespaces=True, resource_version=resource_version)


class _Waiter:
    def __init__(self, keys: set[ResourceKey] | None, ignore: Ignore | None = None) -> None:
        self.keys = keys
        self.ignore = ignore
        self.event = asyncio.Event()

    def wants(self, key: ResourceKey, obj: Mapping[str, Any] | None) -> bool:
        return (self.keys is None or key in self.keys) and (self.ignore is None or not self.ignore(key, obj))


class ClusterCache(LiveCache):
    def __init__(self, kube: Kube, *, on_change: OnChange | None = None) -> None:
        super().__init__(_AllNamespaces(kube, self))  # type: ignore[arg-type]
        self.kube = kube
        self.on_change = on_change
        self._waiters: set[_Waiter] = set()
        self._listed: dict[Scope, asyncio.Future[None]] = {}

    async def ensure(self, scopes: Iterable[Scope]) -> None:
        """Watch every kind not watched yet; returns once each of them (new or still starting) was listed.

        ``LiveCache.ensure`` returns at once for a scope another caller is still listing; with
        many apps refreshed at once on a fresh cache, that would compare them with nothing.
        """
        wanted = {(api_version, kind, None) for api_version, kind, _ in scopes}
        waits: list[asyncio.Future[None]] = []
        for scope in wanted:
            if scope not in self._scopes:
                listed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                name = f"watch {scope[0]}/{scope[1]} in all namespaces"
                self._scopes[scope] = asyncio.create_task(self._follow(scope, listed), name=name)
                self._listed[scope] = listed
            future = self._listed.get(scope)
            if future is not None and not future.done():
                waits.append(future)
        if waits:
            await asyncio.gather(*(asyncio.shield(w) for w in waits))

    def forget(self, scope: Scope) -> None:
        super().forget((scope[0], scope[1], None))
        self._listed.pop((scope[0], scope[1], None), None)

    def watched(self) -> int:
        return len(self._scopes)

    def _relisted(self, api_version: str, kind: str, items: list[dict[str, Any]]) -> None:
        """After a watch broke and its kind was listed again: report what changed in the gap."""
        listed = self._listed.get((api_version, kind, None))
        if self.on_change is None or listed is None or not listed.done():
            return  # the first list: nothing was known before
        group = api_version.rpartition("/")[0]
        before = {k: v for k, v in self._objects.items() if (k.group, k.kind) == (group, kind)}
        changed: list[tuple[ResourceKey, dict[str, Any]]] = []
        for obj in items:
            key = resource_key(obj)
            old = before.pop(key, None)
            if old is None or (old.get("metadata") or {}).get("resourceVersion") != obj["metadata"].get(
                "resourceVersion"
            ):
                changed.append((key, obj))
        changed += list(before.items())  # gone while the watch was down
        on_change = self.on_change
        for key, obj in changed:
            asyncio.get_running_loop().call_soon(on_change, key, obj)

    def _event(self, kind: EventType, obj: dict[str, Any]) -> bool:
        # Every app's refresh hears of every event here, its own operation's echoes included.
        news = super()._event(kind, obj)
        key = resource_key(obj)
        current = None if kind is EventType.DELETED else obj
        for waiter in self._waiters:
            if waiter.wants(key, current):
                waiter.event.set()
        if self.on_change is not None and kind is not EventType.BOOKMARK:
            self.on_change(key, obj)
        return news

    async def wait(
        self, keys: Iterable[ResourceKey] | None, *, timeout: float | None, ignore: Ignore | None = None
    ) -> bool:
        """Wait for an event on one of ``keys`` (any event when None); False when ``timeout`` passed first."""
        waiter = _Waiter(None if keys is None else set(keys), ignore)
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter.event.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._waiters.discard(waiter)

    def touched(self) -> None:
        """Wake every waiter (a shared cache cannot tell whose Application changed)."""
        for waiter in self._waiters:
            waiter.event.set()
