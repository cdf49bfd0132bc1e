"""Deployment rollout arithmetic, as pure functions of a Deployment and its ReplicaSets.

Mirrors ``pkg/controller/deployment/util`` and the rolling/recreate/sync steps of Kubernetes
1.31: surge and unavailability budgets (``25%`` of 3 is a surge of 1 and 0 unavailable), which
ReplicaSet to scale to what, proportional scaling of a scaled Deployment mid-rollout, revision
annotations and history cleanup. The status and its conditions are :mod:`rollout_status`'s;
the controller turns the answers into API calls.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from ._meta import Obj, int_or_percent, parse_time, template_hash

__all__ = [
    "DESIRED",
    "HASH_LABEL",
    "MAX_REPLICAS",
    "REVISION",
    "find_new_rs",
    "history_to_delete",
    "max_surge",
    "max_unavailable",
    "new_rs_replicas",
    "old_scale_down",
    "pod_template_hash",
    "proportional_scale",
    "replicas",
    "replicas_annotations",
    "resolve_fenceposts",
    "revision",
    "synced_rs_annotations",
]

RS = Mapping[str, Any]
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
_NOT_COPIED = {
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
}
MAX_HISTORY_CHARS = 2000


def replicas(obj: Mapping[str, Any]) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def _status(obj: Mapping[str, Any], key: str) -> int:
    return int((obj.get("status") or {}).get(key) or 0)


def _created(rs: RS) -> tuple[float, str]:
    """``ReplicaSetsByCreationTimestamp``: older first, then by name."""
    when = parse_time(rs["metadata"].get("creationTimestamp"))
    return (when.timestamp() if when else 0.0, rs["metadata"]["name"])


def _count(status: Mapping[str, Any] | None, key: str) -> int:
    return int((status or {}).get(key) or 0)


def revision(rs: RS) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


# Budgets ---------------------------------------------------------------------------------


def resolve_fenceposts(surge: Any, unavailable: Any, desired: int) -> tuple[int, int]:
    """Surge rounds up, unavailability down; both zero would deadlock, so one pod may be unavailable."""
    s = int_or_percent(surge if surge is not None else 0, desired, round_up=True)
    u = int_or_percent(unavailable if unavailable is not None else 0, desired, round_up=False)
    if s == 0 and u == 0:
        u = 1
    return s, u


def _rolling(d: Mapping[str, Any]) -> Mapping[str, Any] | None:
    strategy = (d.get("spec") or {}).get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return None
    return strategy.get("rollingUpdate") or {"maxSurge": "25%", "maxUnavailable": "25%"}


def max_surge(d: Mapping[str, Any]) -> int:
    rolling = _rolling(d)
    if rolling is None:
        return 0
    return resolve_fenceposts(rolling.get("maxSurge"), rolling.get("maxUnavailable"), replicas(d))[0]


def max_unavailable(d: Mapping[str, Any]) -> int:
    rolling = _rolling(d)
    if rolling is None or replicas(d) == 0:
        return 0
    unavailable = resolve_fenceposts(rolling.get("maxSurge"), rolling.get("maxUnavailable"), replicas(d))[1]
    return min(unavailable, replicas(d))


# ReplicaSets of a Deployment -------------------------------------------------------------


def _without_hash(template: Mapping[str, Any]) -> Obj:
    t = copy.deepcopy(dict(template))
    meta = t.setdefault("metadata", {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != HASH_LABEL}
    if labels:
        meta["labels"] = labels
    else:
        meta.pop("labels", None)
    for key in [k for k, v in meta.items() if v in ({}, [], None)]:
        del meta[key]
    return t


def pod_template_hash(d: Mapping[str, Any]) -> str:
    collision = (d.get("status") or {}).get("collisionCount")
    return template_hash(d["spec"]["template"], collision)


def find_new_rs(d: Mapping[str, Any], rss: Sequence[RS]) -> RS | None:
    """``FindNewReplicaSet``: the oldest ReplicaSet whose template equals the Deployment's, ignoring the hash."""
    wanted = _without_hash(d["spec"]["template"])
    for rs in sorted(rss, key=_created):
        if _without_hash((rs.get("spec") or {}).get("template") or {}) == wanted:
            return rs
    return None


def new_rs_replicas(d: Mapping[str, Any], all_rss: Sequence[RS], new_rs: RS | None) -> int:
    """``NewRSNewReplicas``: how far the new ReplicaSet may grow now."""
    current = replicas(new_rs) if new_rs is not None else 0
    if _rolling(d) is None:
        return replicas(d)
    total = sum(replicas(rs) for rs in all_rss)
    allowed = replicas(d) + max_surge(d)
    if total >= allowed:
        return current
    return current + min(allowed - total, replicas(d) - current)


def old_scale_down(d: Mapping[str, Any], all_rss: Sequence[RS], old_rss: Sequence[RS], new_rs: RS) -> dict[str, int]:
    """``reconcileOldReplicaSets``: new sizes for old ReplicaSets, unhealthy pods first, within the budget."""
    old_total = sum(replicas(rs) for rs in old_rss)
    if old_total == 0:
        return {}
    min_available = replicas(d) - max_unavailable(d)
    new_unavailable = replicas(new_rs) - _status(new_rs, "availableReplicas")
    budget = sum(replicas(rs) for rs in all_rss) - min_available - new_unavailable
    if budget <= 0:
        return {}
    sizes = {rs["metadata"]["name"]: replicas(rs) for rs in old_rss}
    ordered = sorted(old_rss, key=_created)
    cleaned = 0
    for rs in ordered:  # cleanupUnhealthyReplicas
        name = rs["metadata"]["name"]
        if cleaned >= budget:
            break
        available = _status(rs, "availableReplicas")
        if sizes[name] == 0 or sizes[name] == available:
            continue
        down = min(budget - cleaned, sizes[name] - available)
        sizes[name] -= down
        cleaned += down
    available_total = sum(_status(rs, "availableReplicas") for rs in all_rss)
    if available_total > min_available:  # scaleDownOldReplicaSetsForRollingUpdate
        to_remove, removed = available_total - min_available, 0
        for rs in ordered:
            name = rs["metadata"]["name"]
            if removed >= to_remove:
                break
            if sizes[name] == 0:
                continue
            down = min(sizes[name], to_remove - removed)
            sizes[name] -= down
            removed += down
    return {
        rs["metadata"]["name"]: sizes[rs["metadata"]["name"]]
        for rs in old_rss
        if sizes[rs["metadata"]["name"]] != replicas(rs)
    }


def is_saturated(d: Mapping[str, Any], rs: RS | None) -> bool:
    if rs is None:
        return False
    desired = (rs["metadata"].get("annotations") or {}).get(DESIRED)
    return (
        replicas(rs) == replicas(d)
        and desired is not None
        and desired.isdigit()
        and int(desired) == replicas(d)
        and _status(rs, "availableReplicas") == replicas(d)
    )


def _active(rss: Sequence[RS | None]) -> list[RS]:
    return [rs for rs in rss if rs is not None and replicas(rs) > 0]


def proportional_scale(d: Mapping[str, Any], new_rs: RS | None, old_rss: Sequence[RS]) -> tuple[dict[str, int], str]:
    """``DeploymentController.scale``: new sizes when ``spec.replicas`` changed, and "up" or "down".

    With one active ReplicaSet (or none) it simply takes the new size. Mid-rollout, the surge
    budget is shared in proportion to each ReplicaSet's size; then the operation is named and
    every active ReplicaSet is listed, since each one's replica annotations are rewritten."""
    newest_first = sorted(old_rss, key=_created, reverse=True)
    active = _active([*newest_first, new_rs])
    if len(active) <= 1:
        target = (
            active[0] if active else (new_rs if new_rs is not None else (newest_first[0] if newest_first else None))
        )
        if target is None or replicas(target) == replicas(d):
            return {}, ""
        return {target["metadata"]["name"]: replicas(d)}, ""
    if is_saturated(d, new_rs):
        return {rs["metadata"]["name"]: 0 for rs in _active(list(old_rss))}, ""
    if _rolling(d) is None:
        return {}, ""
    allowed = replicas(d) + max_surge(d) if replicas(d) > 0 else 0
    to_add = allowed - sum(replicas(rs) for rs in active)
    if to_add > 0:  # ReplicaSetsBySizeNewer
        active.sort(key=lambda rs: (-replicas(rs), -_created(rs)[0]))
        operation = "up"
    elif to_add < 0:  # ReplicaSetsBySizeOlder
        active.sort(key=lambda rs: (-replicas(rs), _created(rs)))
        operation = "down"
    else:
        return {}, ""
    sizes: dict[str, int] = {}
    added = 0
    for rs in active:
        share = _proportion(d, rs, to_add, added)
        sizes[rs["metadata"]["name"]] = replicas(rs) + share
        added += share
    first = active[0]["metadata"]["name"]
    sizes[first] = max(0, sizes[first] + to_add - added)  # leftovers go to the largest
    # Every active ReplicaSet is written (its replica annotations follow the Deployment).
    return sizes, operation


def _proportion(d: Mapping[str, Any], rs: RS, to_add: int, added: int) -> int:
    if replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    if replicas(d) == 0:
        fraction = -replicas(rs)
    else:
        annotated = (rs["metadata"].get("annotations") or {}).get(MAX_REPLICAS)
        total = int(annotated) if annotated and annotated.isdigit() else _status(d, "replicas")
        scaled = replicas(rs) * (replicas(d) + max_surge(d)) / total if total else replicas(rs)
        fraction = int(scaled + 0.5) - replicas(rs)  # integer.RoundToInt32
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


# Annotations -----------------------------------------------------------------------------


def synced_rs_annotations(
    d: Mapping[str, Any], rs_annotations: Mapping[str, str], new_revision: int, *, exists: bool
) -> dict[str, str]:
    """``SetNewReplicaSetAnnotations``: the Deployment's annotations, the revision (and its history)."""
    out = dict(rs_annotations)
    for k, v in ((d["metadata"].get("annotations")) or {}).items():
        if k not in _NOT_COPIED:
            out[k] = v
    old = out.get(REVISION)
    old_int = int(old) if old and old.isdigit() else 0
    if old_int < new_revision:
        out[REVISION] = str(new_revision)
        if old is not None:
            history = [h for h in out.get(REVISION_HISTORY, "").split(",") if h]
            history.append(old)
            while len(",".join(history)) > MAX_HISTORY_CHARS and len(history) > 1:
                history.pop(0)
            out[REVISION_HISTORY] = ",".join(history)
    if not exists:
        out.update(replicas_annotations(d))
    return out


def replicas_annotations(d: Mapping[str, Any]) -> dict[str, str]:
    return {DESIRED: str(replicas(d)), MAX_REPLICAS: str(replicas(d) + max_surge(d))}


def history_to_delete(d: Mapping[str, Any], old_rss: Sequence[RS]) -> list[RS]:
    """``cleanupDeployment``: the oldest idle ReplicaSets beyond ``revisionHistoryLimit``."""
    limit = (d.get("spec") or {}).get("revisionHistoryLimit")
    if limit is None:
        return []
    alive = [rs for rs in old_rss if not rs["metadata"].get("deletionTimestamp")]
    excess = len(alive) - int(limit)
    if excess <= 0:
        return []
    doomed = []
    for rs in sorted(alive, key=lambda r: (revision(r), _created(r)))[:excess]:
        if (
            _status(rs, "replicas")
            or replicas(rs)
            or int(rs["metadata"].get("generation") or 0) > _status(rs, "observedGeneration")
        ):
            continue
        doomed.append(rs)
    return doomed
