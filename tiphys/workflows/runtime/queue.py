"""A work queue keyed by object: one worker per key at a time, many keys at once, timed requeues.

As in kopf's reactor and client-go's workqueue: an event for a key that is already waiting is
merged into the wait; an event for a key being processed marks it dirty, and it runs once more
right after. So no two reconciles of one Workflow ever overlap, each reconcile sees every event
that came before it started, and different Workflows proceed in parallel on ``workers`` tasks.
``add_at`` schedules a key on the loop clock (the earliest request wins) instead of sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["WorkQueue"]

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


class WorkQueue(Generic[K]):
    def __init__(self, handle: Callable[[K], Awaitable[None]], *, workers: int = 16, name: str = "work") -> None:
        self._handle = handle
        self._ready: asyncio.Queue[K] = asyncio.Queue()
        self._queued: set[K] = set()
        self._running: set[K] = set()
        self._dirty: set[K] = set()
        self._timers: dict[K, tuple[float, asyncio.TimerHandle]] = {}
        self._workers = workers
        self._name = name
        self._idle = asyncio.Event()
        self._idle.set()
        self.handled = 0

    def add(self, key: K) -> None:
        """Process ``key`` as soon as a worker is free (once, however many times it is added)."""
        self._idle.clear()
        if key in self._running:
            self._dirty.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._ready.put_nowait(key)

    def add_at(self, key: K, when: float) -> None:
        """Process ``key`` at loop time ``when`` (at once if that passed); an earlier request wins."""
        loop = asyncio.get_running_loop()
        if when <= loop.time():
            self.add(key)
            return
        current = self._timers.get(key)
        if current is not None:
            if current[0] <= when:
                return
            current[1].cancel()
        self._timers[key] = (when, loop.call_at(when, self._fire, key))

    def forget(self, key: K) -> None:
        """Drop a timed requeue of ``key`` (its object is gone)."""
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer[1].cancel()

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self.add(key)

    async def idle(self) -> None:
        """Wait until nothing is queued or running (timed requeues do not count)."""
        await self._idle.wait()

    async def run(self) -> None:
        """Run the workers until cancelled."""
        async with asyncio.TaskGroup() as group:
            for index in range(self._workers):
                group.create_task(self._work(), name=f"{self._name} worker {index}")

    async def _work(self) -> None:
        while True:
            key = await self._ready.get()
            self._queued.discard(key)
            self._running.add(key)
            try:
                await self._handle(key)
            except asyncio.CancelledError:
                raise
            except Exception:  # one object's failure must not stop the others: log it, retry it later
                log.exception("%s: handling %s failed; retrying in 1 s", self._name, key)
                self.add_at(key, asyncio.get_running_loop().time() + 1.0)
            finally:
                self._running.discard(key)
                self.handled += 1
            if key in self._dirty:
                self._dirty.discard(key)
                self.add(key)
            if not self._queued and not self._running:
                self._idle.set()
