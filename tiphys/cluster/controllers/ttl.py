"""TTL after finished: a finished Job with ``ttlSecondsAfterFinished`` is deleted when it expires.

As upstream's ``ttlafterfinished`` controller: the clock starts at the ``Complete`` or ``Failed``
condition's transition, the deletion is Foreground and guarded by the Job's uid, and a Job that
is not due yet is looked at again by a timer when it is.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ..apiserver.objects import ObjectAPI
from ..apiserver.store import DELETED, Event
from ._client import Client
from ._meta import parse_time
from .base import Controller

__all__ = ["TTLAfterFinishedController", "expires_in"]

JOBS = "batch/jobs"


def expires_in(job: Mapping[str, Any], now: datetime) -> float | None:
    """Seconds until a finished Job may be deleted (<= 0: now); None when it never expires."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    if ttl is None or job["metadata"].get("deletionTimestamp"):
        return None
    for cond in (job.get("status") or {}).get("conditions") or ():
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            finished = parse_time(cond.get("lastTransitionTime")) or now
            return (finished + timedelta(seconds=int(ttl)) - now).total_seconds()
    return None


class TTLAfterFinishedController(Controller):
    name = "ttl-after-finished"
    keys = (JOBS,)

    def __init__(self, api: ObjectAPI) -> None:
        super().__init__(api)
        self.client = Client(api, "ttl-after-finished-controller")

    def on_event(self, event: Event) -> list[Hashable]:
        if event.key != JOBS or event.type == DELETED:
            return []
        job = event.entry.obj
        if (job.get("spec") or {}).get("ttlSecondsAfterFinished") is None:
            return []
        return [(event.namespace, job["metadata"]["name"])]

    def resync(self) -> None:
        for job in self.client.objects(JOBS):
            if (job.get("spec") or {}).get("ttlSecondsAfterFinished") is not None:
                self.enqueue((job["metadata"].get("namespace", ""), job["metadata"]["name"]))

    def reconcile(self, key: Hashable) -> None:
        assert isinstance(key, tuple)
        namespace, name = key
        job = self.client.get(JOBS, namespace, name)
        if job is None:
            return
        left = expires_in(job, datetime.now(UTC))
        if left is None:
            return
        if left > 0:
            self.enqueue_after(key, left)
            return
        self.client.delete(JOBS, job, propagation="Foreground")
