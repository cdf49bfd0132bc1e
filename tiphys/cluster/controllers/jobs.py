"""The Job controller: runs a Job's pods to completion and writes the status Argo CD's health reads.

The decisions are :func:`jobsync.sync_job`'s; this module gathers the Job's pods from the store,
carries out the step (deletions, creations with ``SuccessfulCreate`` events, the interim status,
finalizer removals, the final status) and keeps each Job's pod-failure back-off in memory, as
upstream does. Pods whose Job is gone or finished lose their tracking finalizer here too.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping
from datetime import UTC, datetime
from typing import Any

from ..apiserver.objects import ObjectAPI
from ..apiserver.store import DELETED, Event
from ._client import Client
from ._meta import controller_of
from ._pods import pod_from_template
from .base import Controller
from .jobsync import TRACKING_FINALIZER, Backoff, JobStep, has_finalizer, is_finished, sync_job

__all__ = ["JobController"]

JOBS, PODS = "batch/jobs", "/pods"
# Upstream waits 10 s (doubling) before replacing a failed pod; TIPHYS_JOB_BACKOFF_SECONDS
# shortens that for tests and impatient local loops.
DEFAULT_BACKOFF = 10.0


def backoff_seconds() -> float:
    try:
        return float(os.environ.get("TIPHYS_JOB_BACKOFF_SECONDS", DEFAULT_BACKOFF))
    except ValueError:
        return DEFAULT_BACKOFF


class JobController(Controller):
    name = "job"
    keys = (JOBS, PODS)

    def __init__(self, api: ObjectAPI, *, failure_backoff: float | None = None) -> None:
        super().__init__(api)
        self.client = Client(api, "job-controller")
        self.failure_backoff = backoff_seconds() if failure_backoff is None else failure_backoff
        self._backoffs: dict[str, Backoff] = {}

    def on_event(self, event: Event) -> list[Hashable]:
        if event.key == JOBS:
            meta = event.entry.obj["metadata"]
            if event.type == DELETED:
                self._backoffs.pop(meta["uid"], None)
                return []
            return [("job", event.namespace, meta["name"])]
        if event.key != PODS:
            return []
        pod = event.entry.obj
        keys: list[Hashable] = []
        ref = controller_of(pod)
        if ref is not None and ref.get("kind") == "Job" and ref.get("apiVersion") == "batch/v1":
            keys.append(("job", event.namespace, ref.get("name", "")))
        if event.type != DELETED and has_finalizer(pod) and self._orphaned(pod):
            keys.append(("orphan", event.namespace, pod["metadata"]["name"]))
        return keys

    def _orphaned(self, pod: Mapping[str, Any]) -> bool:
        """A tracked pod no unfinished Job of ours controls (``syncOrphanPod``'s test)."""
        ref = controller_of(pod)
        if ref is None:
            return True
        if ref.get("kind") != "Job" or ref.get("apiVersion") != "batch/v1":
            return False
        job = self.client.get(JOBS, pod["metadata"].get("namespace", ""), ref.get("name", ""))
        return job is None or job["metadata"].get("uid") != ref.get("uid") or is_finished(job)

    def resync(self) -> None:
        for job in self.client.objects(JOBS):
            self.enqueue(("job", job["metadata"].get("namespace", ""), job["metadata"]["name"]))
        for pod in self.client.objects(PODS):
            if has_finalizer(pod) and self._orphaned(pod):
                self.enqueue(("orphan", pod["metadata"].get("namespace", ""), pod["metadata"]["name"]))

    def reconcile(self, key: Hashable) -> None:
        assert isinstance(key, tuple)
        kind, namespace, name = key
        if kind == "orphan":
            self._release_orphan(namespace, name)
            return
        job = self.client.get(JOBS, namespace, name)
        if job is None:
            return
        uid = job["metadata"]["uid"]
        pods = self.client.owned(PODS, uid)
        step = sync_job(
            job,
            pods,
            now=datetime.now(UTC),
            backoff=self._backoffs.get(uid, Backoff()),
            base_backoff=self.failure_backoff,
        )
        self._carry_out(job, step)
        if step.finished or is_finished(job):
            self._backoffs.pop(uid, None)
        else:
            self._backoffs[uid] = step.backoff
        if step.requeue_after is not None:
            self.enqueue_after(key, step.requeue_after)

    def _carry_out(self, job: Mapping[str, Any], step: JobStep) -> None:
        namespace = job["metadata"].get("namespace", "")
        for pod in step.delete:
            if step.strip_before_delete:
                self.client.remove_finalizers(PODS, pod, [TRACKING_FINALIZER])
            if self.client.delete(PODS, pod):
                self.client.event(job, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")
        template = (job.get("spec") or {}).get("template") or {}
        for _ in range(step.create):
            body = pod_from_template(template, job, finalizers=[TRACKING_FINALIZER])
            created = self.client.create(PODS, namespace, body)
            self.client.event(job, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
        current = job.get("status") or {}
        written = current
        if step.interim is not None and step.interim != current:
            fresh = self.client.get(JOBS, namespace, job["metadata"]["name"]) or job
            self.client.update_status(JOBS, fresh, step.interim)
            written = step.interim
        for pod in step.remove_finalizers:
            self.client.remove_finalizers(PODS, pod, [TRACKING_FINALIZER])
        if step.status != written:
            fresh = self.client.get(JOBS, namespace, job["metadata"]["name"]) or job
            self.client.update_status(JOBS, fresh, step.status)
        for warning, reason, message in step.events:
            self.client.event(job, reason, message, warning=warning)

    def _release_orphan(self, namespace: str, name: str) -> None:
        """``syncOrphanPod``: a tracked pod whose Job is gone or finished keeps no finalizer."""
        pod = self.client.get(PODS, namespace, name)
        if pod is not None and has_finalizer(pod) and self._orphaned(pod):
            self.client.remove_finalizers(PODS, pod, [TRACKING_FINALIZER])
