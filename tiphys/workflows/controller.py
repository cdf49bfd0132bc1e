"""Tiphys's Argo Workflows-compatible controller: ``run_controller(kube, mode=...)``.

``mode`` is ``on`` (always run), ``off`` (return at once) or ``auto``: run unless a real Argo
Workflows controller is deployed in the cluster (``runtime.detect``), and follow that answer as
Deployments come and go — Tiphys's controller stops reconciling while Argo's is there and picks
the Workflows up again when it leaves. While running, the Workflow CRD is installed when the
cluster has none, and every Workflow is reconciled by ``runtime.Runner`` on each relevant event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from enum import StrEnum
from typing import Any

from tiphys.kube import EventType, Kube

from .runtime import crd
from .runtime.detect import is_argo_controller
from .runtime.informer import Informer, Key, key_of
from .runtime.runner import Runner

__all__ = ["Mode", "run_controller"]

log = logging.getLogger(__name__)


class Mode(StrEnum):
    AUTO = "auto"  # run unless a real Argo Workflows controller is deployed
    ON = "on"  # always run
    OFF = "off"  # never run


class _ForeignControllers:
    """The Argo workflow-controller Deployments of the cluster, followed by a watch."""

    def __init__(self, kube: Kube) -> None:
        self.found: set[Key] = set()
        self.changed = asyncio.Event()
        self.informer = Informer(kube, "apps/v1", "Deployment", on_change=self._changed)

    def _changed(self, kind: EventType, obj: dict[str, Any]) -> None:
        key = key_of(obj)
        present = kind is not EventType.DELETED and is_argo_controller(obj)
        if present != (key in self.found):
            if present:
                self.found.add(key)
            else:
                self.found.discard(key)
            self.changed.set()

    def describe(self) -> str:
        return ", ".join(f"{ns}/{name}" for ns, name in sorted(self.found))


async def _run_until(runner_factory: Any, stop: asyncio.Event) -> None:
    """Run a fresh runner until ``stop`` is set."""
    runner = runner_factory()
    task = asyncio.create_task(runner.run(), name="workflow runner")
    waiter = asyncio.create_task(stop.wait(), name="workflow runner stop")
    try:
        done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()
    finally:
        for pending in (task, waiter):
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending


async def run_controller(kube: Kube, *, mode: str = "auto", workers: int = 16) -> None:
    """Reconcile Workflows in the cluster of ``kube`` until cancelled (``off``: return at once)."""
    try:
        chosen = Mode(mode)
    except ValueError:
        raise ValueError(f"workflow controller mode {mode!r}: choose auto, on or off") from None
    if chosen is Mode.OFF:
        log.info("workflow controller: off")
        return
    if chosen is Mode.ON:
        await crd.ensure_crd(kube)
        log.info("workflow controller: on")
        await Runner(kube, workers).run()
        return
    foreign = _ForeignControllers(kube)
    async with asyncio.TaskGroup() as group:
        group.create_task(foreign.informer.run(), name="watch for Argo workflow controllers")
        await foreign.informer.synced.wait()
        while True:
            foreign.changed.clear()
            if foreign.found:
                log.info("workflow controller: standing aside for Argo's (%s)", foreign.describe())
                await foreign.changed.wait()
                continue
            await crd.ensure_crd(kube)
            log.info("workflow controller: running (no Argo Workflows controller in the cluster)")
            stop = asyncio.Event()

            async def relay(stop: asyncio.Event = stop) -> None:
                while not foreign.found:
                    foreign.changed.clear()
                    await foreign.changed.wait()
                stop.set()

            watcher = group.create_task(relay(), name="workflow controller hand-over")
            await _run_until(lambda: Runner(kube, workers), stop)
            watcher.cancel()
