"""Leader election with a ``coordination.k8s.io/v1`` Lease, as client-go's ``leaderelection`` does it.

Only the holder of Lease ``tiphys-controller`` in namespace ``tiphys`` processes Applications; a
second controller waits. The holder renews every ``renew`` seconds; a candidate takes the Lease
when its holder is empty (released on shutdown), is itself (a restart with the same identity),
or has not renewed for ``duration`` seconds as measured on the candidate's own clock since it
last saw the record change (client-go's ``observedTime``: no trust in other machines' clocks).
Every write is a replace with the observed ``resourceVersion``, so two candidates cannot both win.

A leader that could not renew within ``renew_deadline`` stops leading at once — ``leading``
turns False before the next app is looked at, even after the process was frozen — and its
work is cancelled, because by then another controller may have taken over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, Final

from tiphys.kube import AlreadyExists, Conflict, Kube, KubeError, NotFound

__all__ = ["LEASE_NAME", "LeaderElector"]

log = logging.getLogger(__name__)

LEASE_NAME: Final = "tiphys-controller"
_API: Final = "coordination.k8s.io/v1"


def _micro_time(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(
        self,
        kube: Kube,
        *,
        identity: str,
        namespace: str = "tiphys",
        name: str = LEASE_NAME,
        duration: float = 15.0,
        renew: float = 5.0,
        renew_deadline: float = 10.0,
        retry: float = 2.0,
    ) -> None:
        self.kube = kube
        self.identity = identity
        self.namespace = namespace
        self.name = name
        self.duration = duration
        self.renew_interval = renew
        self.renew_deadline = renew_deadline
        self.retry = retry
        self._renewed_at: float | None = None  # loop time of the last successful acquire/renew
        self._observed: tuple[str, str] | None = None  # (holder, renewTime) of the record last seen
        self._observed_at = 0.0
        self.transitions = 0
        self._held = False  # the Lease was ours at the last attempt (release it on shutdown)

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    @property
    def leading(self) -> bool:
        """True while the last renewal is recent enough that no one else can hold the Lease."""
        return self._renewed_at is not None and self._now() - self._renewed_at < self.renew_deadline

    def _lease(self, current: dict[str, Any] | None, *, acquire: bool) -> dict[str, Any]:
        now = _micro_time(datetime.now(UTC))
        spec = dict((current or {}).get("spec") or {})
        transitions = int(spec.get("leaseTransitions") or 0)
        if acquire and current is not None and spec.get("holderIdentity") != self.identity:
            transitions += 1
        spec.update(holderIdentity=self.identity, leaseDurationSeconds=int(self.duration), renewTime=now)
        if acquire and spec.get("holderIdentity") != (current or {}).get("spec", {}).get("holderIdentity"):
            spec["acquireTime"] = now
        spec.setdefault("acquireTime", now)
        spec["leaseTransitions"] = transitions
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if current is not None:
            metadata["resourceVersion"] = current["metadata"]["resourceVersion"]
        return {"apiVersion": _API, "kind": "Lease", "metadata": metadata, "spec": spec}

    async def try_acquire_or_renew(self) -> bool:
        """One attempt (client-go's ``tryAcquireOrRenew``); True when this identity holds the Lease now."""
        try:
            current: dict[str, Any] | None = await self.kube.get(_API, "Lease", self.name, namespace=self.namespace)
        except NotFound:
            current = None
        if current is None:
            try:
                await self.kube.create(self._lease(None, acquire=True))
            except AlreadyExists:
                return False
            self._renewed_at = self._now()
            self._held = True
            return True
        spec = current.get("spec") or {}
        holder = str(spec.get("holderIdentity") or "")
        record = (holder, str(spec.get("renewTime") or ""))
        if record != self._observed:
            self._observed, self._observed_at = record, self._now()
        duration = float(spec.get("leaseDurationSeconds") or self.duration)
        mine = holder == self.identity
        if holder and not mine and self._now() - self._observed_at < duration:
            self._held = False
            return False  # held by someone else, who renewed recently enough
        try:
            await self.kube.replace(self._lease(current, acquire=not mine))
        except Conflict:
            return False
        if not mine:
            self.transitions += 1
            log.info("took the lease %s/%s from %r", self.namespace, self.name, holder or "nobody")
        self._renewed_at = self._now()
        self._held = True
        return True

    async def _attempt(self) -> bool:
        try:
            return await self.try_acquire_or_renew()
        except KubeError as e:
            log.warning("leader election: %s", e)
            return False

    async def run(self, leading: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Campaign forever; run ``leading()`` while this process holds the Lease, cancel it when lost."""
        while True:
            while not await self._attempt():
                await asyncio.sleep(self.retry)
            log.info("leading as %s", self.identity)
            work: asyncio.Task[None] = asyncio.create_task(leading(), name="leading")
            try:
                await self._keep(work)
            finally:
                self._renewed_at = None
                if not work.done():
                    work.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await work
            log.warning("lost the lease %s/%s: stopped processing applications", self.namespace, self.name)

    async def _keep(self, work: asyncio.Task[None]) -> None:
        """Renew until a renewal misses its deadline (or the work ends)."""
        while not work.done():
            done, _ = await asyncio.wait({work}, timeout=self.renew_interval)
            if done:
                work.result()  # leading() ended: surface its error
                return
            while not await self._attempt():
                if not self.leading:
                    return
                await asyncio.sleep(min(self.retry, self.renew_interval))

    async def release(self) -> None:
        """Give the Lease up (on shutdown) so a successor need not wait for it to expire."""
        if not self._held:
            return
        self._renewed_at = None
        self._held = False
        try:
            current = await self.kube.get(_API, "Lease", self.name, namespace=self.namespace)
            if (current.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            lease = self._lease(current, acquire=False)
            lease["spec"].update(holderIdentity="", leaseDurationSeconds=1)
            await self.kube.replace(lease)
            log.info("released the lease %s/%s", self.namespace, self.name)
        except KubeError as e:
            log.warning("could not release the lease: %s", e)
