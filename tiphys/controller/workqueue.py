"""A work queue of Application names: each name processed by one worker at a time, many names at once.

client-go's workqueue semantics (kopf's per-object queues give the same guarantee): ``add(name)``
while the name waits does nothing more; while it is being processed, it is marked dirty and
queued again once its worker is done, so the latest state is always looked at and one app is
never processed twice at once. ``add_after`` schedules an add on the loop's timer. Workers are
bounded (``concurrency``), so a slow app holds one worker, never the queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

__all__ = ["WorkQueue"]

log = logging.getLogger(__name__)


class WorkQueue:
    def __init__(self, handler: Callable[[str], Awaitable[None]], *, concurrency: int = 20) -> None:
        self._handler = handler
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._waiting: set[str] = set()  # in the queue
        self._processing: set[str] = set()
        self._dirty: set[str] = set()  # added while processing
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._workers: list[asyncio.Task[None]] = []
        self.concurrency = concurrency
        self.processed = 0

    def add(self, name: str) -> None:
        if name in self._processing:
            self._dirty.add(name)
        elif name not in self._waiting:
            self._waiting.add(name)
            self._queue.put_nowait(name)

    def add_after(self, name: str, delay: float) -> None:
        """Add ``name`` in ``delay`` seconds (an earlier pending timer for it wins)."""
        if delay <= 0:
            self.add(name)
            return
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        timer = self._timers.get(name)
        if timer is not None and not timer.cancelled() and timer.when() <= when:
            return
        if timer is not None:
            timer.cancel()
        self._timers[name] = loop.call_at(when, self._fire, name)

    def _fire(self, name: str) -> None:
        self._timers.pop(name, None)
        self.add(name)

    def forget(self, name: str) -> None:
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()

    def __len__(self) -> int:
        return len(self._waiting)

    @property
    def busy(self) -> int:
        return len(self._processing)

    def start(self) -> None:
        for i in range(self.concurrency):
            self._workers.append(asyncio.create_task(self._work(), name=f"app worker {i}"))

    async def _work(self) -> None:
        while True:
            name = await self._queue.get()
            self._waiting.discard(name)
            self._processing.add(name)
            try:
                await self._handler(name)
            except asyncio.CancelledError:
                raise
            except Exception:  # one broken app must not take a worker down
                log.exception("processing application %s failed", name)
            finally:
                self._processing.discard(name)
                self.processed += 1
                if name in self._dirty:
                    self._dirty.discard(name)
                    self.add(name)

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()
