"""The Job controller's step, stepped by hand: change the pods, step again, read the status."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tiphys.cluster.controllers.jobsync import TRACKING_FINALIZER, Backoff, JobStep, next_backoff, sync_job

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
STAMP = "2026-01-01T12:00:00Z"


def job(**spec: Any) -> dict[str, Any]:
    base = {"parallelism": 1, "completions": 1, "backoffLimit": 6, "template": {"spec": {"restartPolicy": "Never"}}}
    return {"metadata": {"name": "j", "uid": "job-uid"}, "spec": {**base, **spec}, "status": {}}


def pod(uid: str, phase: str = "Pending", *, ready: bool = False, deleting: bool = False, tracked: bool = True):
    meta: dict[str, Any] = {"name": f"j-{uid}", "uid": uid, "creationTimestamp": STAMP}
    if tracked:
        meta["finalizers"] = [TRACKING_FINALIZER]
    if deleting:
        meta["deletionTimestamp"] = STAMP
    status: dict[str, Any] = {"phase": phase}
    if ready:
        status["conditions"] = [{"type": "Ready", "status": "True", "lastTransitionTime": STAMP}]
    return {"metadata": meta, "status": status}


def apply(j: dict[str, Any], step: JobStep) -> dict[str, Any]:
    """What the driver leaves behind: the final status written."""
    out = copy.deepcopy(j)
    out["status"] = step.status
    return out


def types(status: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["type"], c.get("reason", "")) for c in status.get("conditions", [])]


def test_a_new_job_creates_one_pod_and_starts_the_clock():
    step = sync_job(job(), [], now=NOW)
    assert step.create == 1 and not step.delete
    assert step.status == {
        "startTime": STAMP,
        "active": 1,
        "ready": 0,
        "terminating": 0,
        "uncountedTerminatedPods": {},
    }


def test_success_goes_through_uncounted_then_success_criteria_then_complete():
    j = apply(job(), sync_job(job(), [], now=NOW))
    done = pod("a", "Succeeded")
    step = sync_job(j, [done], now=NOW)
    assert step.interim is not None
    assert step.interim["uncountedTerminatedPods"] == {"succeeded": ["a"]}
    assert types(step.interim) == [("SuccessCriteriaMet", "CompletionsReached")]
    assert [p["metadata"]["uid"] for p in step.remove_finalizers] == ["a"]
    assert step.status["succeeded"] == 1 and "active" not in step.status
    assert types(step.status) == [("SuccessCriteriaMet", "CompletionsReached"), ("Complete", "CompletionsReached")]
    assert step.status["completionTime"] == STAMP
    assert step.events == [(False, "Completed", "Job completed")]
    assert step.finished


def test_a_crash_after_recording_uncounted_pods_counts_them_once():
    j = job()
    j["status"] = {"startTime": STAMP, "uncountedTerminatedPods": {"succeeded": ["a"]}}
    untracked = pod("a", "Succeeded", tracked=False)  # the finalizer was removed, the count was not written
    step = sync_job(j, [untracked], now=NOW)
    assert step.status["succeeded"] == 1 and step.finished


def test_failures_count_against_the_backoff_limit_and_wait_for_the_backoff():
    j = apply(job(backoffLimit=1), sync_job(job(backoffLimit=1), [], now=NOW))
    failed = pod("a", "Failed")
    step = sync_job(j, [failed], now=NOW, backoff=Backoff())
    assert step.create == 0 and step.requeue_after == pytest.approx(10.0)
    assert step.status["failed"] == 1 and step.backoff == Backoff(
        1, datetime.fromisoformat("2026-01-01T12:00:00+00:00")
    )
    gone = copy.deepcopy(failed)
    gone["metadata"].pop("finalizers")
    j = apply(j, step)
    later = sync_job(j, [gone], now=NOW + timedelta(seconds=11), backoff=step.backoff)
    assert later.create == 1
    j = apply(j, later)
    second = pod("b", "Failed")
    final = sync_job(j, [gone, second], now=NOW + timedelta(seconds=12), backoff=later.backoff)
    assert types(final.status) == [("FailureTarget", "BackoffLimitExceeded"), ("Failed", "BackoffLimitExceeded")]
    assert final.status["failed"] == 2
    assert final.events == [(True, "BackoffLimitExceeded", "Job has reached the specified backoff limit")]


def test_the_deadline_deletes_active_pods_and_fails_once_they_are_gone():
    j = job(activeDeadlineSeconds=5)
    j["status"] = {"startTime": STAMP, "active": 1, "ready": 1, "terminating": 0, "uncountedTerminatedPods": {}}
    running = pod("a", "Running", ready=True)
    early = sync_job(j, [running], now=NOW + timedelta(seconds=2))
    assert early.requeue_after == pytest.approx(3.0) and not early.delete
    late = sync_job(j, [running], now=NOW + timedelta(seconds=5))
    assert late.delete == [running] and not late.strip_before_delete
    assert types(late.status) == [("FailureTarget", "DeadlineExceeded")]
    assert late.status["terminating"] == 1 and late.status["failed"] == 1 and not late.finished
    j = apply(j, late)
    after = sync_job(j, [], now=NOW + timedelta(seconds=6))
    assert types(after.status) == [("FailureTarget", "DeadlineExceeded"), ("Failed", "DeadlineExceeded")]
    assert after.events == [(True, "DeadlineExceeded", "Job was active longer than specified deadline")]


def test_suspending_removes_pods_without_counting_them():
    j = job(suspend=True)
    j["status"] = {"startTime": STAMP, "active": 1}
    running = pod("a", "Running", ready=True)
    step = sync_job(j, [running], now=NOW)
    assert step.delete == [running] and step.strip_before_delete
    assert "failed" not in step.status and types(step.status) == [("Suspended", "JobSuspended")]
    assert step.events == [(False, "Suspended", "Job suspended")]


def test_a_suspended_new_job_has_no_start_time():
    step = sync_job(job(suspend=True), [], now=NOW)
    assert "startTime" not in step.status and step.create == 0


def test_completions_are_run_at_most_parallelism_at_a_time():
    j = job(parallelism=2, completions=3)
    step = sync_job(j, [], now=NOW)
    assert step.create == 2
    j = apply(j, step)
    step = sync_job(j, [pod("a", "Succeeded"), pod("b", "Running")], now=NOW)
    assert step.create == 1 and step.status["active"] == 2


def test_a_finished_job_only_releases_finalizers():
    j = job()
    j["status"] = {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}
    leftover = pod("a", "Succeeded")
    step = sync_job(j, [leftover], now=NOW)
    assert step.remove_finalizers == [leftover] and step.status == j["status"] and step.create == 0


@pytest.mark.parametrize(
    "failures, elapsed, expected",
    [
        pytest.param(0, 0, 0.0, id="no-failures"),
        pytest.param(1, 0, 10.0, id="first"),
        pytest.param(2, 5, 15.0, id="doubles"),
        pytest.param(10, 0, 360.0, id="capped"),
        pytest.param(1, 30, 0.0, id="already-waited"),
    ],
)
def test_backoff_remaining(failures: int, elapsed: int, expected: float):
    backoff = Backoff(failures, NOW if failures else None)
    assert backoff.remaining(NOW + timedelta(seconds=elapsed), base=10, cap=360) == pytest.approx(expected)


def test_a_success_resets_the_failure_count():
    assert next_backoff(Backoff(3, NOW), [pod("s", "Succeeded")], [], NOW) == Backoff(0, None)
