"""Who runs an Application's operation right now: one ``coordination.k8s.io/v1`` Lease per app.

``tiphys sync`` (the CLI) and ``tiphys controller`` both drive operations stored in an
Application; they must never step the same one at once. Each holds the Lease
``tiphys-operation-<app>`` in namespace ``tiphys`` while it drives the operation and renews it;
a holder that stopped renewing loses it after ``leaseDurationSeconds``. Every controller uses the
same identity (leader election already keeps a second controller idle), so a controller that
restarts after a crash takes the operation back at once, while a CLI run waits for nobody: it
refuses with a message that names the holder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from tiphys.kube import AlreadyExists, Conflict, Kube, KubeError, NotFound

from .application import APP_NAMESPACE

__all__ = ["CONTROLLER", "LeaseKeeper", "OperationBusy", "acquire", "cli_identity", "lease_name", "release"]

log = logging.getLogger(__name__)

CONTROLLER: Final = "tiphys-controller"
_API: Final = "coordination.k8s.io/v1"
_KIND: Final = "Lease"
_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%fZ"  # metav1.MicroTime


class OperationBusy(KubeError):
    """Another driver runs this Application's operation; a ``KubeError`` so callers report it like any
    refusal from the cluster (``tiphys sync`` prints it and exits 1)."""

    def __init__(self, app: str, holder: str, renewed: datetime | None) -> None:
        when = f", last renewed {renewed:%H:%M:%S}Z" if renewed is not None else ""
        who = "the tiphys controller" if holder == CONTROLLER else f"{holder!r}"
        super().__init__(
            f"the operation of Application {app!r} is being run by {who} (Lease {APP_NAMESPACE}/{lease_name(app)}"
            f"{when}); wait until it ends, or terminate it (`tiphys app terminate-op {app}`)"
        )
        self.holder = holder


def lease_name(app: str) -> str:
    return f"tiphys-operation-{app}"[:253]


def cli_identity() -> str:
    return f"tiphys-cli/{socket.gethostname()}/{os.getpid()}"


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    for fmt in (_FORMAT, "%Y-%m-%dT%H:%M:%SZ"):
        with contextlib.suppress(ValueError):
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
    return None


def _gone(holder: str) -> bool:
    """A CLI holder on this host whose process has exited (killed mid-sync): its Lease is free at once."""
    prefix, _, rest = holder.partition("/")
    host, _, pid = rest.rpartition("/")
    if prefix != "tiphys-cli" or host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _expired(lease: Mapping[str, Any], now: datetime) -> bool:
    spec = lease.get("spec") or {}
    if _gone(str(spec.get("holderIdentity") or "")):
        return True
    renewed = _time(spec.get("renewTime")) or _time(spec.get("acquireTime"))
    duration = spec.get("leaseDurationSeconds")
    if renewed is None or not isinstance(duration, int):
        return True
    return renewed + timedelta(seconds=duration) < now


def _spec(holder: str, duration: int, now: datetime, acquired: Any = None) -> dict[str, Any]:
    stamp = now.astimezone(UTC).strftime(_FORMAT)
    return {
        "holderIdentity": holder,
        "leaseDurationSeconds": duration,
        "acquireTime": acquired or stamp,
        "renewTime": stamp,
    }


async def acquire(kube: Kube, app: str, holder: str, *, duration: int = 15, now: datetime | None = None) -> None:
    """Take (or renew) the app's operation Lease for ``holder``; ``OperationBusy`` when someone else holds it."""
    name = lease_name(app)
    for _ in range(5):
        moment = now or datetime.now(UTC)
        try:
            lease = await kube.get(_API, _KIND, name, namespace=APP_NAMESPACE)
        except NotFound:
            body = {
                "apiVersion": _API,
                "kind": _KIND,
                "metadata": {"name": name, "namespace": APP_NAMESPACE},
                "spec": _spec(holder, duration, moment),
            }
            try:
                await kube.create(body)
                return
            except AlreadyExists:
                continue
        spec = lease.get("spec") or {}
        current = str(spec.get("holderIdentity") or "")
        if current and current != holder and not _expired(lease, moment):
            raise OperationBusy(app, current, _time(spec.get("renewTime")))
        acquired = spec.get("acquireTime") if current == holder else None
        updated = {**lease, "spec": _spec(holder, duration, moment, acquired)}
        try:
            await kube.replace(updated)
            return
        except Conflict:
            continue
    raise OperationBusy(app, "another driver", None)


async def release(kube: Kube, app: str, holder: str) -> None:
    """Give the Lease up if ``holder`` still has it (best effort: it expires anyway)."""
    try:
        lease = await kube.get(_API, _KIND, lease_name(app), namespace=APP_NAMESPACE)
        if (lease.get("spec") or {}).get("holderIdentity") != holder:
            return
        await kube.replace({**lease, "spec": {**(lease.get("spec") or {}), "holderIdentity": ""}})
    except (KubeError, Conflict) as e:
        log.debug("could not release the operation lease of %s: %s", app, e)


class LeaseKeeper:
    """Holds an operation Lease for a CLI run: acquire, renew every ``every`` seconds, release at the end."""

    def __init__(self, kube: Kube, app: str, holder: str, *, duration: int = 15, every: float = 5.0) -> None:
        self.kube, self.app, self.holder = kube, app, holder
        self.duration, self.every = duration, every
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await acquire(self.kube, self.app, self.holder, duration=self.duration)
        self._task = asyncio.create_task(self._renew(), name=f"renew operation lease of {self.app}")

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await acquire(self.kube, self.app, self.holder, duration=self.duration)
            except (KubeError, OperationBusy) as e:  # keep trying: the next renewal may get through
                log.warning("renewing the operation lease of %s failed: %s", self.app, e)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        await release(self.kube, self.app, self.holder)
