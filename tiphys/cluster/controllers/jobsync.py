"""One step of the Job controller as a pure function: Job and Pods in, what to do and the status out.

This follows ``syncJob`` of Kubernetes 1.31 (non-indexed completion mode): finished pods are
first recorded in ``status.uncountedTerminatedPods``, then their ``batch.kubernetes.io/job-tracking``
finalizer is removed, then they move into ``succeeded``/``failed``. A Job that is done gets the
interim ``SuccessCriteriaMet`` or ``FailureTarget`` condition first, and ``Complete`` or ``Failed``
once no pod is left uncounted or terminating. Retries wait out the pod-failure back-off
(10 s doubling, at most 6 min) from the last failure.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ._meta import Obj, format_time, get_condition, parse_time
from ._pods import deletion_order, is_active, is_ready, is_terminating

__all__ = ["TRACKING_FINALIZER", "Backoff", "JobStep", "has_finalizer", "is_finished", "next_backoff", "sync_job"]

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
MAX_BATCH = 500  # MaxPodCreateDeletePerSync
REASON_COMPLETIONS = "CompletionsReached"
MSG_COMPLETIONS = "Reached expected number of succeeded pods"
REASON_BACKOFF = "BackoffLimitExceeded"
MSG_BACKOFF = "Job has reached the specified backoff limit"
REASON_DEADLINE = "DeadlineExceeded"
MSG_DEADLINE = "Job was active longer than specified deadline"

PodLike = Mapping[str, Any]


@dataclass(frozen=True)
class Backoff:
    """Failures since the last success and when the last one happened (kept in memory, as upstream)."""

    failures: int = 0
    last_failure: datetime | None = None

    def remaining(self, now: datetime, *, base: float, cap: float) -> float:
        if self.failures == 0 or self.last_failure is None:
            return 0.0
        delay = base
        for _ in range(1, self.failures):
            delay *= 2
            if delay >= cap:
                delay = cap
                break
        return max(0.0, delay - (now - self.last_failure).total_seconds())


@dataclass
class JobStep:
    """What the driver does, in order: delete, create, write ``interim``, strip finalizers, write ``status``."""

    status: Obj
    interim: Obj | None = None
    create: int = 0
    delete: list[PodLike] = field(default_factory=list)
    strip_before_delete: bool = False  # suspended or excess pods are not counted as failures
    remove_finalizers: list[PodLike] = field(default_factory=list)
    events: list[tuple[bool, str, str]] = field(default_factory=list)  # (warning, reason, message)
    backoff: Backoff = Backoff()
    requeue_after: float | None = None
    finished: bool = False


def is_finished(job: Mapping[str, Any]) -> bool:
    return any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
        for c in (job.get("status") or {}).get("conditions") or ()
    )


def has_finalizer(pod: PodLike) -> bool:
    return TRACKING_FINALIZER in (pod["metadata"].get("finalizers") or ())


def _condition(type_: str, status: str, reason: str, message: str, now: datetime) -> Obj:
    stamp = format_time(now)
    return {
        "type": type_,
        "status": status,
        "lastProbeTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def _ensure_condition(status: Obj, type_: str, value: str, reason: str, message: str, now: datetime) -> bool:
    """``ensureJobConditionStatus``: update in place, or append unless it would be a new False."""
    conditions: list[Obj] = status.setdefault("conditions", [])
    for i, cond in enumerate(conditions):
        if cond.get("type") == type_:
            if (cond.get("status"), cond.get("reason"), cond.get("message")) != (value, reason, message):
                conditions[i] = _condition(type_, value, reason, message, now)
                return True
            return False
    if value != "False":
        conditions.append(_condition(type_, value, reason, message, now))
        return True
    if not conditions:
        del status["conditions"]
    return False


def _is_failed(pod: PodLike, job: Mapping[str, Any]) -> bool:
    """``isPodFailed``: Failed, or (unless only failed pods are replaced) deleted before succeeding."""
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Failed":
        return True
    if _only_replace_failed(job):
        return False
    return bool(pod["metadata"].get("deletionTimestamp")) and phase != "Succeeded"


def _only_replace_failed(job: Mapping[str, Any]) -> bool:
    spec = job.get("spec") or {}
    return spec.get("podReplacementPolicy") == "Failed" or spec.get("podFailurePolicy") is not None


def finish_time(pod: PodLike) -> datetime | None:
    """``getFinishedTime``: last container exit, else Ready turning False, else deletion, else creation."""
    status = pod.get("status") or {}
    ends = [
        parse_time(((c.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        for c in status.get("containerStatuses") or ()
    ]
    found = [e for e in ends if e is not None]
    if found:
        return max(found)
    ready = get_condition(status, "Ready")
    if ready is not None and ready.get("status") == "False" and parse_time(ready.get("lastTransitionTime")):
        return parse_time(ready.get("lastTransitionTime"))
    meta = pod["metadata"]
    return parse_time(meta.get("deletionTimestamp")) or parse_time(meta.get("creationTimestamp"))


def next_backoff(old: Backoff, succeeded: Sequence[PodLike], failed: Sequence[PodLike], now: datetime) -> Backoff:
    """``newBackoffRecord``: a success resets the count; failures after the last success add up."""
    if not succeeded and not failed:
        return old
    failed_times = sorted(finish_time(p) or now for p in failed)
    if not succeeded:
        return Backoff(old.failures + len(failed), failed_times[-1])
    last_success = max(finish_time(p) or now for p in succeeded)
    after = [t for t in failed_times if t > last_success]
    return Backoff(len(after), after[-1] if after else None)


def _past_backoff_on_failure(job: Mapping[str, Any], pods: Sequence[PodLike]) -> bool:
    """restartPolicy OnFailure: container restarts of running pods count against the limit."""
    spec = job.get("spec") or {}
    if ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") != "OnFailure":
        return False
    restarts = 0
    for pod in pods:
        status = pod.get("status") or {}
        if status.get("phase") in ("Running", "Pending"):
            for c in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
                restarts += int(c.get("restartCount") or 0)
    limit = int(spec.get("backoffLimit", 6))
    return restarts > 0 if limit == 0 else restarts >= limit


def sync_job(
    job: Mapping[str, Any],
    pods: Sequence[PodLike],
    *,
    now: datetime,
    backoff: Backoff = Backoff(),
    base_backoff: float = 10.0,
    max_backoff: float = 360.0,
) -> JobStep:
    """Everything one ``syncJob`` decides for a Job and the pods it controls."""
    spec = job.get("spec") or {}
    status: Obj = copy.deepcopy(dict(job.get("status") or {}))
    if is_finished(job):
        return JobStep(status=status, remove_finalizers=[p for p in pods if has_finalizer(p)], backoff=Backoff())
    meta = job["metadata"]
    suspended = bool(spec.get("suspend"))
    uncounted = status.setdefault("uncountedTerminatedPods", {})
    unc_succeeded: list[str] = uncounted.setdefault("succeeded", [])
    unc_failed: list[str] = uncounted.setdefault("failed", [])
    active_pods = sorted((p for p in pods if is_active(p)), key=deletion_order)
    ready = sum(1 for p in active_pods if is_ready(p))
    terminating = sum(1 for p in pods if is_terminating(p))
    tracked = [p for p in pods if has_finalizer(p)]
    new_succeeded = [
        p
        for p in tracked
        if (p.get("status") or {}).get("phase") == "Succeeded" and p["metadata"]["uid"] not in unc_succeeded
    ]
    new_failed = [p for p in tracked if _is_failed(p, job) and p["metadata"]["uid"] not in unc_failed]
    succeeded = int(status.get("succeeded") or 0) + len(new_succeeded) + len(unc_succeeded)
    failed = int(status.get("failed") or 0) + len(new_failed) + len(unc_failed)
    if not status.get("startTime") and not suspended:
        status["startTime"] = format_time(now)
    step = JobStep(status=status, backoff=next_backoff(backoff, new_succeeded, new_failed, now))

    finished: Obj | None = None
    met = get_condition(status, "SuccessCriteriaMet")
    if met is not None and met.get("status") == "True":
        finished = dict(met)
    else:
        target = get_condition(status, "FailureTarget")
        if target is not None and target.get("status") == "True":
            finished = _condition("Failed", "True", target.get("reason", ""), target.get("message", ""), now)
    if finished is None:
        deadline = spec.get("activeDeadlineSeconds")
        started = parse_time(status.get("startTime"))
        if failed > int(spec.get("backoffLimit", 6)) or _past_backoff_on_failure(job, pods):
            finished = _condition("FailureTarget", "True", REASON_BACKOFF, MSG_BACKOFF, now)
        elif deadline is not None and started is not None and not suspended:
            left = (started + timedelta(seconds=int(deadline)) - now).total_seconds()
            if left <= 0:
                finished = _condition("FailureTarget", "True", REASON_DEADLINE, MSG_DEADLINE, now)
            else:
                step.requeue_after = left

    active = len(active_pods)
    if finished is not None:
        # deleteActivePods: finalizers stay, so these pods count as failed below.
        step.delete = list(active_pods)
        active, terminating, ready = 0, terminating + len(active_pods), 0
    else:
        if not meta.get("deletionTimestamp"):
            active, terminating = _manage(
                job, step, active_pods, succeeded, terminating, now, base_backoff, max_backoff
            )
            ready -= sum(1 for p in step.delete if is_ready(p))
            completions = spec.get("completions")
            if completions is None:
                complete = succeeded > 0 and active == 0
            else:
                complete = succeeded >= int(completions) and active == 0
            if complete:
                finished = _condition("SuccessCriteriaMet", "True", REASON_COMPLETIONS, MSG_COMPLETIONS, now)
            elif suspended:
                if _ensure_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", now):
                    step.events.append((False, "Suspended", "Job suspended"))
            elif _ensure_condition(status, "Suspended", "False", "JobResumed", "Job resumed", now):
                step.events.append((False, "Resumed", "Job resumed"))
                # ActiveDeadlineSeconds counts continuous activity: resuming restarts the clock.
                status["startTime"] = format_time(now)
    _set_count(status, "active", active)
    status["ready"] = max(ready, 0)
    status["terminating"] = terminating
    _track(job, step, pods, finished, terminating, now)
    return step


def _manage(
    job: Mapping[str, Any],
    step: JobStep,
    active_pods: list[PodLike],
    succeeded: int,
    terminating: int,
    now: datetime,
    base_backoff: float,
    max_backoff: float,
) -> tuple[int, int]:
    """``manageJob``: delete extra or suspended pods, or create the missing ones. Returns (active, terminating)."""
    spec = job.get("spec") or {}
    active = len(active_pods)
    if spec.get("suspend"):
        step.delete, step.strip_before_delete = list(active_pods), True
        return 0, terminating + active
    parallelism = int(spec.get("parallelism", 1))
    completions = spec.get("completions")
    if completions is None:
        want = active if succeeded > 0 else parallelism
    else:
        want = max(0, min(int(completions) - succeeded, parallelism))
    excess = max(active - want, 0)
    if excess:
        step.delete, step.strip_before_delete = active_pods[: min(excess, MAX_BATCH)], True
        return active - len(step.delete), terminating + len(step.delete)
    missing = want - (terminating if _only_replace_failed(job) else 0) - active
    if missing > 0:
        wait = step.backoff.remaining(now, base=base_backoff, cap=max_backoff)
        if wait > 0:
            step.requeue_after = wait if step.requeue_after is None else min(step.requeue_after, wait)
            return active, terminating
        step.create = min(missing, MAX_BATCH)
        active += step.create
    return active, terminating


def _track(
    job: Mapping[str, Any],
    step: JobStep,
    pods: Sequence[PodLike],
    finished: Obj | None,
    terminating: int,
    now: datetime,
) -> None:
    """``trackJobStatusAndRemoveFinalizers``, assuming the finalizer removals it asks for succeed."""
    status = step.status
    uncounted = status["uncountedTerminatedPods"]
    with_finalizer = {p["metadata"]["uid"] for p in pods if has_finalizer(p)}
    _count_uncounted(status, with_finalizer)
    finishing_by_failure = finished is not None and finished["type"] != "SuccessCriteriaMet"
    for pod in pods:
        if not has_finalizer(pod):
            continue
        uid = pod["metadata"]["uid"]
        considered_failed = _is_failed(pod, job)
        phase = (pod.get("status") or {}).get("phase")
        removable = bool(job["metadata"].get("deletionTimestamp")) or finished is not None or phase == "Succeeded"
        if not (removable or considered_failed):
            continue
        step.remove_finalizers.append(pod)
        if phase == "Succeeded" and uid not in uncounted["failed"]:
            if uid not in uncounted["succeeded"]:
                uncounted["succeeded"].append(uid)
        elif (considered_failed or finishing_by_failure) and uid not in uncounted["failed"]:
            uncounted["failed"].append(uid)
    if finished is not None and finished["type"] == "FailureTarget":
        status.setdefault("conditions", []).append(finished)
        finished = _condition("Failed", "True", finished["reason"], finished["message"], now)
    elif finished is not None and finished["type"] == "SuccessCriteriaMet":
        if get_condition(status, "SuccessCriteriaMet") is None:
            status.setdefault("conditions", []).append(finished)
        finished = _condition("Complete", "True", finished["reason"], finished["message"], now)
    step.interim = _wire(copy.deepcopy(status))
    removed = {p["metadata"]["uid"] for p in step.remove_finalizers}
    _count_uncounted(status, with_finalizer - removed)
    if finished is not None and not uncounted["succeeded"] and not uncounted["failed"] and terminating == 0:
        _ensure_condition(status, finished["type"], "True", finished["reason"], finished["message"], now)
        if finished["type"] == "Complete":
            status["completionTime"] = format_time(now)
            step.events.append((False, "Completed", "Job completed"))
        else:
            step.events.append((True, finished["reason"], finished["message"]))
        step.finished = True
    step.status = _wire(status)


def _count_uncounted(status: Obj, with_finalizer: set[str]) -> None:
    """``cleanUncountedPodsWithoutFinalizers``: pods whose finalizer is gone move into the counters."""
    uncounted = status["uncountedTerminatedPods"]
    for kind, counter in (("succeeded", "succeeded"), ("failed", "failed")):
        still = [uid for uid in uncounted[kind] if uid in with_finalizer]
        if len(still) != len(uncounted[kind]):
            _set_count(status, counter, int(status.get(counter) or 0) + len(uncounted[kind]) - len(still))
            uncounted[kind] = still


def _set_count(status: Obj, key: str, value: int) -> None:
    """``omitempty`` counters: zero is absent on the wire."""
    if value:
        status[key] = value
    else:
        status.pop(key, None)


def _wire(status: Obj) -> Obj:
    """Empty uncounted lists are omitted, leaving ``uncountedTerminatedPods: {}``."""
    uncounted = status.get("uncountedTerminatedPods") or {}
    status["uncountedTerminatedPods"] = {k: v for k, v in uncounted.items() if v}
    return status
