"""A work queue of object keys with one worker: what every built-in controller is made of.

Store events arrive synchronously (no I/O in the callback); the controller turns them into
keys, and a single supervised task reconciles each key, deduplicating keys queued twice. A key
can also be queued later (:meth:`Controller.enqueue_after`): a timer on the loop clock, the
earliest one per key kept, so deadlines and schedules never need polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Hashable

from ..apiserver.errors import StatusError
from ..apiserver.objects import ObjectAPI
from ..apiserver.store import Event

__all__ = ["Controller"]


class Controller:
    """Subclasses implement :meth:`on_event` (which keys to queue) and :meth:`reconcile`."""

    name = "controller"
    keys: tuple[str, ...] | None = None
    """The storage keys (``group/plural``) whose events ``on_event`` looks at; None: every write.

    Naming them spares the controller a call on every other write (~1 us each, on every create)."""
    added: bool = True
    """Whether ``on_event`` looks at ADDED events at all (only with ``keys`` None): False spares every create a call."""

    def __init__(self, api: ObjectAPI) -> None:
        self.api = api
        self.log = logging.getLogger(f"tiphys.controllers.{self.name}")
        self._queue: asyncio.Queue[Hashable] = asyncio.Queue()
        self._queued: set[Hashable] = set()
        self._task: asyncio.Task[None] | None = None
        self._timers: dict[Hashable, asyncio.TimerHandle] = {}
        api.store.listen(self._listen, keys=self.keys, added=self.added)

    def _listen(self, event: Event) -> None:
        for key in self.on_event(event):
            self.enqueue(key)

    def enqueue(self, key: Hashable) -> None:
        if key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    def enqueue_after(self, key: Hashable, delay: float) -> None:
        """Queue ``key`` in ``delay`` seconds; an earlier timer already set for it wins."""
        if delay <= 0:
            self.enqueue(key)
            return
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        timer = self._timers.get(key)
        if timer is not None:
            if timer.when() <= when:
                return
            timer.cancel()
        self._timers[key] = loop.call_at(when, self._fire, key)

    def _fire(self, key: Hashable) -> None:
        self._timers.pop(key, None)
        self.enqueue(key)

    def on_event(self, event: Event) -> list[Hashable]:
        raise NotImplementedError

    def reconcile(self, key: Hashable) -> None:
        raise NotImplementedError

    def resync(self) -> None:
        """Queue whatever needs attention after a restart; the default does nothing."""

    def start(self) -> None:
        self.resync()
        self._task = asyncio.create_task(self._run(), name=f"controller:{self.name}")

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def idle(self) -> None:
        """Wait until the queue is drained (tests and shutdown)."""
        while self._queued:
            await asyncio.sleep(0.01)

    async def _run(self) -> None:
        while True:
            key = await self._queue.get()
            self._queued.discard(key)
            try:
                self.reconcile(key)
            except StatusError as exc:
                if exc.code not in (404, 409):
                    self.log.warning("%s: %s", key, exc.message)
                if exc.code == 409:
                    self.enqueue(key)
            except Exception:
                self.log.exception("reconciling %s failed", key)
            # Let the server answer requests between keys.
            await asyncio.sleep(0)
