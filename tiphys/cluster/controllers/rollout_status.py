"""A Deployment's status: counters from its ReplicaSets and the Available and Progressing conditions.

``calculateStatus`` and ``syncRolloutStatus`` of Kubernetes 1.31, with upstream's reasons and
messages (``MinimumReplicasAvailable``, ``NewReplicaSetAvailable``, ``ReplicaSetUpdated``,
``ProgressDeadlineExceeded``, ``DeploymentPaused``...), which Argo CD's health check reads.
Pure: time comes in as ``now``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from ._meta import Obj, format_time, get_condition, parse_time
from .rollout import RS, max_unavailable, replicas

__all__ = [
    "calculate_status",
    "complete",
    "new_condition",
    "paused_condition",
    "remove_condition",
    "rollout_conditions",
    "set_condition",
]


def _status(obj: Mapping[str, Any], key: str) -> int:
    return int((obj.get("status") or {}).get(key) or 0)


def _count(status: Mapping[str, Any] | None, key: str) -> int:
    return int((status or {}).get(key) or 0)


def new_condition(type_: str, status: str, reason: str, message: str, now: datetime) -> Obj:
    stamp = format_time(now)
    return {
        "type": type_,
        "status": status,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def set_condition(status: Obj, cond: Obj) -> None:
    """``SetDeploymentCondition``: same status and reason is a no-op; a changed one moves to the end."""
    conditions: list[Obj] = status.get("conditions") or []
    current = next((c for c in conditions if c.get("type") == cond["type"]), None)
    if current is not None and current.get("status") == cond["status"] and current.get("reason") == cond["reason"]:
        return
    if current is not None and current.get("status") == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    status["conditions"] = [c for c in conditions if c.get("type") != cond["type"]] + [cond]


def remove_condition(status: Obj, type_: str) -> None:
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != type_]
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)


def calculate_status(d: Mapping[str, Any], all_rss: Sequence[RS | None], new_rs: RS | None, now: datetime) -> Obj:
    """``calculateStatus``: counters from the ReplicaSets and the Available condition."""
    rss = [rs for rs in all_rss if rs is not None]
    available = sum(_status(rs, "availableReplicas") for rs in rss)
    unavailable = max(sum(replicas(rs) for rs in rss) - available, 0)
    status: Obj = {
        "observedGeneration": int(d["metadata"].get("generation") or 0),
        "replicas": sum(_status(rs, "replicas") for rs in rss),
        "updatedReplicas": _status(new_rs, "replicas") if new_rs is not None else 0,
        "readyReplicas": sum(_status(rs, "readyReplicas") for rs in rss),
        "availableReplicas": available,
        "unavailableReplicas": unavailable,
    }
    status = {k: v for k, v in status.items() if v}
    old = d.get("status") or {}
    if old.get("conditions"):
        status["conditions"] = copy.deepcopy(old["conditions"])
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    if available >= replicas(d) - max_unavailable(d):
        cond = new_condition(
            "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", now
        )
    else:
        cond = new_condition(
            "Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", now
        )
    set_condition(status, cond)
    return status


def complete(d: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """``DeploymentComplete``: every desired replica updated and available, and the spec observed."""
    want = replicas(d)
    return (
        _count(status, "updatedReplicas") == want
        and _count(status, "replicas") == want
        and _count(status, "availableReplicas") == want
        and _count(status, "observedGeneration") >= int(d["metadata"].get("generation") or 0)
    )


def _progressing(d: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """``DeploymentProgressing``: more updated, ready or available pods, or fewer old ones, than before."""
    old = d.get("status") or {}
    return (
        _count(new, "updatedReplicas") > _count(old, "updatedReplicas")
        or _count(new, "replicas") - _count(new, "updatedReplicas")
        < _count(old, "replicas") - _count(old, "updatedReplicas")
        or _count(new, "readyReplicas") > _count(old, "readyReplicas")
        or _count(new, "availableReplicas") > _count(old, "availableReplicas")
    )


def rollout_conditions(d: Mapping[str, Any], status: Obj, new_rs: RS | None, now: datetime) -> float | None:
    """``syncRolloutStatus``: set Progressing on ``status``; returns seconds until the deadline to re-check."""
    deadline = (d.get("spec") or {}).get("progressDeadlineSeconds")
    if deadline is None:
        remove_condition(status, "Progressing")
        return None
    current = get_condition(d.get("status"), "Progressing")
    what = (
        f'ReplicaSet "{new_rs["metadata"]["name"]}"' if new_rs is not None else f'Deployment "{d["metadata"]["name"]}"'
    )
    done = (
        _count(status, "replicas") == _count(status, "updatedReplicas")
        and current is not None
        and current.get("reason") == "NewReplicaSetAvailable"
    )
    if not done:
        if complete(d, status):
            set_condition(
                status,
                new_condition(
                    "Progressing", "True", "NewReplicaSetAvailable", f"{what} has successfully progressed.", now
                ),
            )
        elif _progressing(d, status):
            cond = new_condition("Progressing", "True", "ReplicaSetUpdated", f"{what} is progressing.", now)
            if current is not None:
                if current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime")
                remove_condition(status, "Progressing")
            set_condition(status, cond)
        elif _timed_out(d, status, now):
            set_condition(
                status,
                new_condition(
                    "Progressing", "False", "ProgressDeadlineExceeded", f"{what} has timed out progressing.", now
                ),
            )
    progressing = get_condition(status, "Progressing")
    if (
        progressing is None
        or progressing.get("reason") in ("NewReplicaSetAvailable", "ProgressDeadlineExceeded")
        or complete(d, status)
    ):
        return None
    since = parse_time(progressing.get("lastUpdateTime"))
    if since is None:
        return None
    # Wake just after the deadline (stamps have whole seconds, the check is strict).
    return max((since + timedelta(seconds=int(deadline)) - now).total_seconds(), 0.0) + 0.1


def _timed_out(d: Mapping[str, Any], status: Mapping[str, Any], now: datetime) -> bool:
    cond = get_condition(status, "Progressing")
    if cond is None or cond.get("reason") == "NewReplicaSetAvailable":
        return False
    if cond.get("reason") == "ProgressDeadlineExceeded":
        return True
    since = parse_time(cond.get("lastUpdateTime"))
    deadline = int((d.get("spec") or {}).get("progressDeadlineSeconds") or 0)
    return since is not None and since + timedelta(seconds=deadline) < now


def paused_condition(d: Mapping[str, Any], now: datetime) -> Obj | None:
    """``checkPausedConditions``: Progressing Unknown while paused, until resumed."""
    if (d.get("spec") or {}).get("progressDeadlineSeconds") is None:
        return None
    cond = get_condition(d.get("status"), "Progressing")
    if cond is not None and cond.get("reason") == "ProgressDeadlineExceeded":
        return None
    paused_shown = cond is not None and cond.get("reason") == "DeploymentPaused"
    if (d.get("spec") or {}).get("paused") and not paused_shown:
        return new_condition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now)
    if not (d.get("spec") or {}).get("paused") and paused_shown:
        return new_condition("Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", now)
    return None
