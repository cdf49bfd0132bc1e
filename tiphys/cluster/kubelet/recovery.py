"""What a restarted kubelet makes of the container statuses it finds: a node reboot, as upstream.

The processes of the previous server are gone. A container reported ``running`` was lost: it
becomes terminated with reason ``ContainerStatusUnknown`` and exit code 137, and the restart
policy decides what follows. A container waiting to be restarted gets its last termination back
so the policy decides again; restart counts and container ids carry over.
"""

from __future__ import annotations

from typing import Any

from .status import ContainerRecord, Terminated

__all__ = ["LOST_ON_RESTART", "restore"]

Obj = dict[str, Any]
LOST_ON_RESTART = "The container could not be located when the node restarted"


def _terminated(raw: Obj) -> Terminated:
    return Terminated(
        int(raw.get("exitCode") or 0),
        raw.get("reason") or "",
        raw.get("startedAt") or "",
        raw.get("finishedAt") or "",
        raw.get("message") or "",
        raw.get("containerID") or "",
    )


def restore(record: ContainerRecord, reported: Obj, *, now: str) -> bool:
    """Load ``reported`` (a containerStatus) into ``record``; True if the container was lost."""
    record.restart_count = int(reported.get("restartCount") or 0)
    record.container_id = reported.get("containerID") or ""
    last = (reported.get("lastState") or {}).get("terminated")
    record.last = _terminated(last) if last else None
    state = reported.get("state") or {}
    if "running" in state:
        started = state["running"].get("startedAt") or now
        record.state = Terminated(137, "ContainerStatusUnknown", started, now, LOST_ON_RESTART, record.container_id)
        return True
    if "terminated" in state:
        record.state = _terminated(state["terminated"])
    elif record.last is not None:
        record.state = record.last  # it was waiting to be restarted: decide again
    return False
