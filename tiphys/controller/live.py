"""The live objects a sync looks at, kept current by watches instead of polling.

``LiveCache.ensure(scopes)`` lists each (apiVersion, kind, namespace) once and then follows its
watch; every step reads a snapshot, and ``wait`` returns as soon as an event touches one of the
objects the step waits for — a hook Job completing wakes the driver within milliseconds, where
Argo CD re-checks on a timer and sleeps two seconds between waves. Objects the driver itself
wrote are put in the cache from the server's answer right away, so a step never misses its own
writes while their watch events are on the way. Each watch runs as a named, supervised task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tiphys.engine import ObjectRef, ResourceKey, SyncTask, may_progress, resource_key
from tiphys.engine.progress import failing
from tiphys.kube import EventType, Gone, Kube, UnknownKind

__all__ = ["LiveCache", "Scope", "still_progressing"]

log = logging.getLogger(__name__)

Scope = tuple[str, str, str | None]
"""(apiVersion, kind, namespace); the namespace is None for cluster-scoped kinds."""

_RETRY_DELAY = 0.5


def _version(obj: Mapping[str, Any]) -> int | None:
    text = (obj.get("metadata") or {}).get("resourceVersion")
    return int(text) if isinstance(text, str) and text.isdigit() else None


class LiveCache:
    def __init__(self, kube: Kube) -> None:
        self._kube = kube
        self._objects: dict[ResourceKey, dict[str, Any]] = {}
        self._tombstones: dict[ResourceKey, int] = {}  # the version a deleted object had, against late answers
        self._scopes: dict[Scope, asyncio.Task[None]] = {}
        self._changed: set[ResourceKey] = set()
        self._wakeup = asyncio.Event()
        self._forced = False
        self.events = 0

    def snapshot(self) -> tuple[dict[str, Any], ...]:
        return tuple(self._objects.values())

    def get(self, key: ResourceKey) -> dict[str, Any] | None:
        return self._objects.get(key)

    def put(self, obj: Mapping[str, Any]) -> None:
        """Record an object as the server answered a write (never going back to an older version)."""
        key = resource_key(obj)
        new = _version(obj)
        gone = self._tombstones.get(key)
        if gone is not None and (new is None or new <= gone):
            return
        current = self._objects.get(key)
        old = _version(current) if current is not None else None
        if current is not None and new is not None and old is not None and new < old:
            return
        metadata = obj.get("metadata") or {}
        if metadata.get("deletionTimestamp") and not metadata.get("finalizers"):
            self._objects.pop(key, None)  # the server removes it right after this answer
            return
        self._objects[key] = dict(obj)

    def drop(self, ref: ObjectRef) -> None:
        """Forget an object the server said is gone."""
        group = ref.api_version.rpartition("/")[0]
        self._objects.pop(ResourceKey(group, ref.kind, ref.namespace, ref.name), None)

    def _event(self, kind: EventType, obj: dict[str, Any]) -> bool:
        """Take in a watch event; False when it told nothing new (the echo of the driver's own write)."""
        key = resource_key(obj)
        self.events += 1
        if kind is EventType.BOOKMARK:
            return False
        if kind is EventType.DELETED:
            self._objects.pop(key, None)
            version = _version(obj)
            if version is not None:
                self._tombstones[key] = version
        else:
            current = self._objects.get(key)
            known, new = (_version(current) if current is not None else None), _version(obj)
            if known is not None and new is not None and new <= known:
                return False  # already put from the server's answer: the step that wrote it knows
            self._tombstones.pop(key, None)  # re-created under the same name
            self.put(obj)
        self._changed.add(key)
        self._wakeup.set()
        return True

    async def ensure(self, scopes: Iterable[Scope]) -> None:
        """Watch every scope not watched yet; returns once each new one has been listed."""
        started: list[asyncio.Future[None]] = []
        for scope in set(scopes):
            if scope in self._scopes:
                continue
            listed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            name = f"watch {scope[0]}/{scope[1]} in {scope[2] or 'cluster'}"
            self._scopes[scope] = asyncio.create_task(self._follow(scope, listed), name=name)
            started.append(listed)
        if started:
            await asyncio.gather(*started)

    def forget(self, scope: Scope) -> None:
        """Stop watching a scope whose kind is not served (yet), so a later ``ensure`` retries it."""
        task = self._scopes.pop(scope, None)
        if task is not None:
            task.cancel()

    async def _follow(self, scope: Scope, listed: asyncio.Future[None]) -> None:
        api_version, kind, namespace = scope
        while True:
            try:
                page = await self._kube.list(api_version, kind, namespace=namespace)
                seen = {resource_key(obj) for obj in page.items}
                group = api_version.rpartition("/")[0]
                stale = [k for k in self._objects if (k.group, k.kind) == (group, kind) and _in_scope(k, namespace)]
                for key in [k for k in stale if k not in seen]:
                    self._objects.pop(key, None)
                for obj in page.items:
                    self.put(obj)
                if not listed.done():
                    listed.set_result(None)
                self._wakeup.set()
                async for event in self._kube.watch(
                    api_version, kind, namespace=namespace, resource_version=page.resource_version
                ):
                    self._event(event.type, event.object)
            except asyncio.CancelledError:
                raise
            except UnknownKind:
                if not listed.done():
                    listed.set_result(None)
                self._scopes.pop(scope, None)
                return
            except Gone:
                continue
            except Exception as e:  # a watch must never die silently: retry, and never block ensure()
                log.debug("watch of %s failed, retrying: %s", scope, e)
                if not listed.done():
                    listed.set_result(None)
                await asyncio.sleep(_RETRY_DELAY)

    async def wait(
        self,
        keys: Iterable[ResourceKey] | None,
        *,
        timeout: float | None,
        ignore: Callable[[ResourceKey, Mapping[str, Any] | None], bool] | None = None,
    ) -> bool:
        """Wait for an event on one of ``keys`` (any event when None); False when ``timeout`` passed first.

        ``ignore(key, obj)`` says that a change of that object, as it is now, needs no new step.
        """
        wanted = None if keys is None else set(keys)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            touched = self._changed if wanted is None else self._changed & wanted
            if ignore is not None:
                touched = {key for key in touched if not ignore(key, self._objects.get(key))}
            if self._forced or touched:
                self._changed.clear()
                self._forced = False
                return True
            self._changed.clear()
            self._wakeup.clear()
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                return False

    def touched(self) -> None:
        """Wake a ``wait`` that waits for anything (the Application changed, a signal arrived)."""
        self._forced = True
        self._wakeup.set()

    async def close(self) -> None:
        tasks = list(self._scopes.values())
        self._scopes.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _in_scope(key: ResourceKey, namespace: str | None) -> bool:
    return namespace is None or key.namespace == namespace


def still_progressing(
    waited: Mapping[ResourceKey, SyncTask], current: Callable[[ResourceKey], Mapping[str, Any] | None]
) -> Callable[[ResourceKey, Mapping[str, Any] | None], bool]:
    """An ``ignore`` for ``wait``: a change of a waited-for resource while others of the wave still progress.

    The step after it would only record that one resource as done and wait again; the driver waits
    instead until every resource it waits for can move on (or one fails, or a hook or prune
    changes), so the wave's last one is acted on at once rather than after a step for each of the
    others (one step of a 1,000-object sync costs tens of milliseconds).
    """

    def ignored(key: ResourceKey, obj: Mapping[str, Any] | None) -> bool:
        task = waited.get(key)
        if task is None or task.is_hook or task.is_prune or obj is None:
            return False
        if not may_progress(task, obj):
            return True
        if failing(task, obj):
            return False
        return not all(
            may_progress(other, current(other_key))
            for other_key, other in waited.items()
            if not (other.is_hook or other.is_prune)
        )

    return ignored
