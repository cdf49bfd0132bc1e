"""How controllers judge and stamp out Pods: active, ready, available, and built from a template.

Pure functions over pod dicts, mirroring ``k8s.io/kubernetes/pkg/api/v1/pod`` and
``pkg/controller`` (``FilterActivePods``, ``IsPodAvailable``, ``GetPodFromTemplate``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson

from ._meta import Obj, controller_ref, get_condition, parse_time

__all__ = [
    "available_in",
    "deletion_order",
    "is_active",
    "is_available",
    "is_ready",
    "is_terminal",
    "is_terminating",
    "phase",
    "pod_from_template",
    "ready_since",
    "restart_count",
]

PodLike = Mapping[str, Any]
_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def phase(pod: PodLike) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_terminal(pod: PodLike) -> bool:
    return phase(pod) in ("Succeeded", "Failed")


def is_active(pod: PodLike) -> bool:
    """``controller.IsPodActive``: not finished and not being deleted."""
    return not is_terminal(pod) and not pod["metadata"].get("deletionTimestamp")


def is_terminating(pod: PodLike) -> bool:
    """Counted in ``status.terminating``: being deleted but not finished yet."""
    return bool(pod["metadata"].get("deletionTimestamp")) and not is_terminal(pod)


def is_ready(pod: PodLike) -> bool:
    cond = get_condition(pod.get("status"), "Ready")
    return cond is not None and cond.get("status") == "True"


def ready_since(pod: PodLike) -> datetime | None:
    cond = get_condition(pod.get("status"), "Ready")
    if cond is None or cond.get("status") != "True":
        return None
    return parse_time(cond.get("lastTransitionTime"))


def is_available(pod: PodLike, min_ready_seconds: int, now: datetime) -> bool:
    """``podutil.IsPodAvailable``: ready, and for longer than ``minReadySeconds``."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and since + timedelta(seconds=min_ready_seconds) < now


def available_in(pod: PodLike, min_ready_seconds: int, now: datetime) -> float | None:
    """Seconds until a ready pod becomes available (None when it is not ready or already is)."""
    since = ready_since(pod)
    if since is None or min_ready_seconds <= 0:
        return None
    left = (since + timedelta(seconds=min_ready_seconds) - now).total_seconds()
    return left + 1 if left >= 0 else None


def restart_count(pod: PodLike) -> int:
    status = pod.get("status") or {}
    return sum(
        int(c.get("restartCount") or 0)
        for c in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])
    )


def deletion_order(pod: PodLike) -> tuple[Any, ...]:
    """``controller.ActivePods`` ordering: the pods a scale-down should remove come first.

    Unscheduled before scheduled, Pending before Unknown before Running, not ready before ready,
    ready for less time before longer, more restarts before fewer, newer before older.
    """
    meta = pod["metadata"]
    since = ready_since(pod)
    created = parse_time(meta.get("creationTimestamp"))
    return (
        1 if (pod.get("spec") or {}).get("nodeName") else 0,
        _PHASE_RANK.get(phase(pod), 3),
        1 if is_ready(pod) else 0,
        -(since.timestamp()) if since else 0.0,
        -restart_count(pod),
        -(created.timestamp()) if created else 0.0,
        meta.get("name", ""),
    )


def pod_from_template(
    template: Mapping[str, Any],
    owner: Mapping[str, Any],
    *,
    name: str | None = None,
    generate_name: str | None = None,
    labels: Mapping[str, str] | None = None,
    finalizers: list[str] | None = None,
) -> Obj:
    """``controller.GetPodFromTemplate``: the template's metadata and spec, owned by ``owner``."""
    tmeta = template.get("metadata") or {}
    meta: Obj = {}
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = generate_name or f"{owner['metadata']['name']}-"
    pod_labels = dict(tmeta.get("labels") or {})
    pod_labels.update(labels or {})
    if pod_labels:
        meta["labels"] = pod_labels
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    pod_finalizers = list(tmeta.get("finalizers") or [])
    for f in finalizers or ():
        if f not in pod_finalizers:
            pod_finalizers.append(f)
    if pod_finalizers:
        meta["finalizers"] = pod_finalizers
    meta["ownerReferences"] = [controller_ref(owner)]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": orjson.loads(orjson.dumps(template.get("spec") or {})),
    }
