"""The CronJob controller: Jobs on a cron schedule, with concurrency policy and history limits.

As upstream's ``cronjob_controllerv2``: each sync reconciles ``status.active`` with the Jobs the
CronJob controls, starts the most recent unmet schedule (``<cronjob>-<minutes since epoch>``,
so a start is never made twice), deletes finished Jobs beyond the history limits, then sleeps on
a loop timer until the next scheduled time. Schedules are read by ``croniter``.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from ..apiserver.errors import StatusError
from ..apiserver.objects import ObjectAPI
from ..apiserver.store import DELETED, Event
from ._client import Client
from ._meta import Obj, controller_of, controller_ref, format_time, parse_time
from .base import Controller

__all__ = ["CronJobController", "finished_condition", "job_name", "most_recent_schedule", "parse_schedule"]

CRONJOBS, JOBS = "batch/cronjobs", "batch/jobs"
SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
NEXT_DELTA = 0.1  # nextScheduleDelta: wake just after the scheduled second


def parse_schedule(schedule: str, time_zone: str | None) -> tuple[str, ZoneInfo | None]:
    """Validate like ``cron.ParseStandard`` (5 fields or a descriptor; ``TZ=`` prefix); raise ValueError."""
    expr = schedule.strip()
    zone_name = time_zone
    for prefix in ("CRON_TZ=", "TZ="):
        if expr.startswith(prefix):
            zone_name, _, expr = expr[len(prefix) :].partition(" ")
            expr = expr.strip()
    if not expr.startswith("@") and len(expr.split()) != 5:
        raise ValueError(f"expected exactly 5 fields, found {len(expr.split())}: [{expr}]")
    if not croniter.is_valid(expr):
        raise ValueError(f"failed to parse schedule {expr!r}")
    try:
        zone = ZoneInfo(zone_name) if zone_name else None
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {zone_name}") from exc
    return expr, zone


def most_recent_schedule(
    expr: str, zone: ZoneInfo | None, earliest: datetime, now: datetime
) -> tuple[datetime | None, datetime]:
    """(the latest scheduled time in (earliest, now] or None, the first scheduled time after now)."""
    tz = zone or UTC
    first = croniter(expr, earliest.astimezone(tz)).get_next(datetime)
    after_now = croniter(expr, now.astimezone(tz)).get_next(datetime)
    if first > now:
        return None, after_now
    recent = croniter(expr, now.astimezone(tz)).get_prev(datetime)
    following = croniter(expr, recent).get_next(datetime)
    if following <= now:
        recent = following
    return recent.astimezone(UTC), after_now.astimezone(UTC)


def job_name(cronjob: Mapping[str, Any], scheduled: datetime) -> str:
    """``getJobName``: the CronJob's name and the scheduled time in minutes since the epoch."""
    return f"{cronjob['metadata']['name']}-{int(scheduled.timestamp()) // 60}"


def finished_condition(job: Mapping[str, Any]) -> str | None:
    for cond in (job.get("status") or {}).get("conditions") or ():
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return None


def job_from_template(cronjob: Mapping[str, Any], scheduled: datetime, zone: ZoneInfo | None) -> Obj:
    """``getJobFromTemplate2``: the template's labels, annotations and spec, named for the time."""
    template = cronjob["spec"].get("jobTemplate") or {}
    tmeta = template.get("metadata") or {}
    annotations = dict(tmeta.get("annotations") or {})
    annotations[SCHEDULED_ANNOTATION] = scheduled.astimezone(zone or UTC).isoformat().replace("+00:00", "Z")
    meta: Obj = {"name": job_name(cronjob, scheduled), "annotations": annotations}
    if tmeta.get("labels"):
        meta["labels"] = dict(tmeta["labels"])
    meta["ownerReferences"] = [controller_ref(cronjob)]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }


def history_to_delete(cronjob: Mapping[str, Any], jobs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``cleanupFinishedJobs``: the oldest finished Jobs beyond the successful and failed limits."""
    spec = cronjob.get("spec") or {}
    doomed: list[Mapping[str, Any]] = []
    for kind, limit_key in (("Complete", "successfulJobsHistoryLimit"), ("Failed", "failedJobsHistoryLimit")):
        limit = spec.get(limit_key)
        if limit is None:
            continue
        done = [j for j in jobs if finished_condition(j) == kind]
        if len(done) <= int(limit):
            continue
        done.sort(key=_start_order)
        doomed += done[: len(done) - int(limit)]
    return doomed


def _start_order(job: Mapping[str, Any]) -> tuple[int, float, str]:
    started = parse_time((job.get("status") or {}).get("startTime"))
    return (1, 0.0, job["metadata"]["name"]) if started is None else (0, started.timestamp(), job["metadata"]["name"])


def job_ref(job: Mapping[str, Any]) -> Obj:
    meta = job["metadata"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": meta["name"],
        "namespace": meta.get("namespace", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
        "uid": meta["uid"],
    }


class CronJobController(Controller):
    name = "cronjob"
    keys = (CRONJOBS, JOBS)

    def __init__(self, api: ObjectAPI) -> None:
        super().__init__(api)
        self.client = Client(api, "cronjob-controller")

    def on_event(self, event: Event) -> list[Hashable]:
        if event.key == CRONJOBS and event.type != DELETED:
            return [(event.namespace, event.entry.obj["metadata"]["name"])]
        if event.key == JOBS:
            ref = controller_of(event.entry.obj)
            if ref is not None and ref.get("kind") == "CronJob":
                return [(event.namespace, ref.get("name", ""))]
        return []

    def resync(self) -> None:
        for cj in self.client.objects(CRONJOBS):
            self.enqueue((cj["metadata"].get("namespace", ""), cj["metadata"]["name"]))

    def reconcile(self, key: Hashable) -> None:
        assert isinstance(key, tuple)
        namespace, name = key
        cronjob = self.client.get(CRONJOBS, namespace, name)
        if cronjob is None:
            return
        now = datetime.now(UTC)
        jobs = self.client.owned(JOBS, cronjob["metadata"]["uid"])
        status = copy.deepcopy(dict(cronjob.get("status") or {}))
        self._reconcile_active(cronjob, status, jobs)
        wake = self._schedule(cronjob, status, now)
        remaining = [j for j in jobs if self.client.get(JOBS, namespace, j["metadata"]["name"]) is not None]
        for job in history_to_delete(cronjob, remaining):
            if self.client.delete(JOBS, job):
                self.client.event(cronjob, "SuccessfulDelete", f"Deleted job {job['metadata']['name']}")
        if not status.get("active"):
            status.pop("active", None)
        if status != (cronjob.get("status") or {}):
            fresh = self.client.get(CRONJOBS, namespace, name) or cronjob
            self.client.update_status(CRONJOBS, fresh, status)
        if wake is not None:
            self.enqueue_after(key, wake)

    def _reconcile_active(self, cronjob: Mapping[str, Any], status: Obj, jobs: Sequence[Mapping[str, Any]]) -> None:
        active: list[Obj] = list(status.get("active") or [])
        uids = {j["metadata"]["uid"] for j in jobs}
        for job in jobs:
            uid = job["metadata"]["uid"]
            listed = any(ref.get("uid") == uid for ref in active)
            condition = finished_condition(job)
            if not listed and condition is None:
                self.client.event(
                    cronjob,
                    "UnexpectedJob",
                    f"Saw a job that the controller did not create or forgot: {job['metadata']['name']}",
                    warning=True,
                )
            elif listed and condition is not None:
                active = [ref for ref in active if ref.get("uid") != uid]
                self.client.event(
                    cronjob, "SawCompletedJob", f"Saw completed job: {job['metadata']['name']}, condition: {condition}"
                )
            if condition == "Complete":
                done = parse_time((job.get("status") or {}).get("completionTime"))
                last = parse_time(status.get("lastSuccessfulTime"))
                if done is not None and (last is None or done > last):
                    status["lastSuccessfulTime"] = format_time(done)
        for ref in list(active):
            if ref.get("uid") not in uids:
                self.client.event(cronjob, "MissingJob", f"Active job went missing: {ref.get('name')}")
                active.remove(ref)
        status["active"] = active

    def _schedule(self, cronjob: Mapping[str, Any], status: Obj, now: datetime) -> float | None:
        """Start the due Job, if any; returns seconds until the next scheduled time."""
        spec = cronjob.get("spec") or {}
        meta = cronjob["metadata"]
        if meta.get("deletionTimestamp") or spec.get("suspend"):
            return None
        try:
            expr, zone = parse_schedule(str(spec.get("schedule", "")), spec.get("timeZone"))
        except ValueError as exc:
            self.client.event(
                cronjob, "UnparseableSchedule", f'unparseable schedule: "{spec.get("schedule")}" : {exc}', warning=True
            )
            return None
        earliest = parse_time(status.get("lastScheduleTime")) or parse_time(meta.get("creationTimestamp")) or now
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None:
            earliest = max(earliest, now - timedelta(seconds=int(deadline)))
        scheduled, following = most_recent_schedule(expr, zone, earliest, now)
        wake = (following - now).total_seconds() + NEXT_DELTA
        if scheduled is None:
            return wake
        if deadline is not None and scheduled + timedelta(seconds=int(deadline)) < now:
            stamp = scheduled.strftime("%a, %d %b %Y %H:%M:%S +0000")
            self.client.event(cronjob, "MissSchedule", f"Missed scheduled time to start a job: {stamp}", warning=True)
            return wake
        name = job_name(cronjob, scheduled)
        if any(ref.get("name") == name for ref in status["active"]) or status.get("lastScheduleTime") == format_time(
            scheduled
        ):
            return wake
        policy = spec.get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and status["active"]:
            self.client.event(
                cronjob,
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid",
            )
            return wake
        if policy == "Replace":
            for ref in list(status["active"]):
                job = self.client.get(JOBS, ref.get("namespace", ""), ref.get("name", ""))
                if job is not None and self.client.delete(JOBS, job):
                    self.client.event(cronjob, "SuccessfulDelete", f"Deleted job {ref.get('name')}")
                status["active"].remove(ref)
        try:
            job = self.client.create(JOBS, meta.get("namespace", ""), job_from_template(cronjob, scheduled, zone))
            self.client.event(cronjob, "SuccessfulCreate", f"Created job {job['metadata']['name']}")
        except StatusError as exc:
            if exc.code != 409:
                self.client.event(cronjob, "FailedCreate", f"Error creating job: {exc.message}", warning=True)
                raise
            existing = self.client.get(JOBS, meta.get("namespace", ""), name)
            owner = controller_of(existing) if existing is not None else None
            if existing is None or owner is None or owner.get("uid") != meta["uid"]:
                return wake
            job = dict(existing)
        if not any(ref.get("uid") == job["metadata"]["uid"] for ref in status["active"]):
            status["active"].append(job_ref(job))
        status["lastScheduleTime"] = format_time(scheduled)
        return wake
