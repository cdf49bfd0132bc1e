"""The Job controller against the real server, with pod status written by hand."""

from __future__ import annotations

from typing import Any

from .helpers import Kube, pod_template, wait_for


def job(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": pod_template({"app": name}, restart="Never"), **spec},
    }


def jobs(ns: str) -> str:
    return f"/apis/batch/v1/namespaces/{ns}/jobs"


def condition_types(obj: dict[str, Any]) -> list[str]:
    return [c["type"] for c in (obj.get("status") or {}).get("conditions") or [] if c["status"] == "True"]


def test_a_job_creates_a_labelled_tracked_pod_and_completes_when_it_succeeds(kube: Kube, ns: str):
    created = kube.create(jobs(ns), job("hello"))
    uid = created["metadata"]["uid"]
    [pod] = wait_for(lambda: kube.pods(ns, "job-name=hello"), what="the job's pod")
    meta = pod["metadata"]
    assert meta["name"].startswith("hello-") and len(meta["name"]) == len("hello-") + 5
    assert meta["labels"]["batch.kubernetes.io/controller-uid"] == uid
    assert meta["labels"]["batch.kubernetes.io/job-name"] == "hello"
    assert meta["labels"]["controller-uid"] == uid
    assert meta["finalizers"] == ["batch.kubernetes.io/job-tracking"]
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": "hello",
            "uid": uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    running = wait_for(lambda: (kube.get(f"{jobs(ns)}/hello") or {}).get("status", {}).get("active") == 1)
    assert running
    status = kube.get(f"{jobs(ns)}/hello")["status"]
    assert status["ready"] == 0 and status["terminating"] == 0 and status["uncountedTerminatedPods"] == {}
    assert "startTime" in status

    kube.set_pod(pod, "Succeeded", exit_code=0)
    done = wait_for(
        lambda: "Complete" in condition_types(kube.get(f"{jobs(ns)}/hello") or {}) and kube.get(f"{jobs(ns)}/hello")
    )
    status = done["status"]
    assert [(c["type"], c["reason"], c["message"]) for c in status["conditions"]] == [
        ("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods"),
        ("Complete", "CompletionsReached", "Reached expected number of succeeded pods"),
    ]
    assert status["succeeded"] == 1 and "active" not in status and "failed" not in status
    assert status["uncountedTerminatedPods"] == {} and status["ready"] == 0 and status["terminating"] == 0
    assert "completionTime" in status
    finished = kube.get(f"/api/v1/namespaces/{ns}/pods/{meta['name']}")
    assert "finalizers" not in finished["metadata"]
    events = kube.events(ns, "hello")
    assert ("SuccessfulCreate", f"Created pod: {meta['name']}") in events
    assert ("Completed", "Job completed") in events


def pods_of(kube: Kube, ns: str, name: str) -> list[dict[str, Any]]:
    return kube.pods(ns, f"batch.kubernetes.io/job-name={name}")


def get_job(kube: Kube, ns: str, name: str) -> dict[str, Any]:
    found = kube.get(f"{jobs(ns)}/{name}")
    assert found is not None
    return found


def test_a_failing_job_retries_then_fails_with_backoff_limit_exceeded(kube: Kube, ns: str):
    kube.create(jobs(ns), job("flaky", backoffLimit=1))
    [first] = wait_for(lambda: pods_of(kube, ns, "flaky"))
    kube.set_pod(first, "Failed", exit_code=3)
    # The replacement comes after the (shortened) pod-failure back-off.
    second = wait_for(
        lambda: [p for p in pods_of(kube, ns, "flaky") if p["metadata"]["uid"] != first["metadata"]["uid"]],
        what="a second pod",
    )[0]
    assert get_job(kube, ns, "flaky")["status"]["failed"] == 1
    kube.set_pod(second, "Failed", exit_code=3)
    failed = wait_for(lambda: "Failed" in condition_types(get_job(kube, ns, "flaky")) and get_job(kube, ns, "flaky"))
    status = failed["status"]
    assert [(c["type"], c["reason"], c["message"]) for c in status["conditions"]] == [
        ("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
        ("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
    ]
    assert status["failed"] == 2 and "succeeded" not in status and "active" not in status
    assert "completionTime" not in status
    assert len(pods_of(kube, ns, "flaky")) == 2
    assert ("BackoffLimitExceeded", "Job has reached the specified backoff limit") in kube.events(ns, "flaky")


def test_active_deadline_fails_a_running_job_and_deletes_its_pod(kube: Kube, ns: str):
    kube.create(jobs(ns), job("slow", activeDeadlineSeconds=1))
    [pod] = wait_for(lambda: pods_of(kube, ns, "slow"))
    kube.set_pod(pod, "Running", ready=True)
    failed = wait_for(lambda: "Failed" in condition_types(get_job(kube, ns, "slow")) and get_job(kube, ns, "slow"))
    reasons = [(c["type"], c["reason"], c["message"]) for c in failed["status"]["conditions"]]
    assert reasons == [
        ("FailureTarget", "DeadlineExceeded", "Job was active longer than specified deadline"),
        ("Failed", "DeadlineExceeded", "Job was active longer than specified deadline"),
    ]
    assert failed["status"]["failed"] == 1
    wait_for(lambda: not pods_of(kube, ns, "slow"), what="the pod to be deleted")
    events = kube.events(ns, "slow")
    assert ("DeadlineExceeded", "Job was active longer than specified deadline") in events
    assert ("SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}") in events


def test_parallelism_and_completions(kube: Kube, ns: str):
    kube.create(jobs(ns), job("batch", parallelism=2, completions=3))
    running = wait_for(lambda: len(pods_of(kube, ns, "batch")) == 2 and pods_of(kube, ns, "batch"))
    assert get_job(kube, ns, "batch")["status"]["active"] == 2
    kube.set_pod(running[0], "Succeeded", exit_code=0)
    # Two more are needed, at most two at a time: one replacement.
    wait_for(lambda: len(pods_of(kube, ns, "batch")) == 3)
    for pod in pods_of(kube, ns, "batch"):
        if pod["status"]["phase"] == "Pending":
            kube.set_pod(pod, "Running", ready=True)
    wait_for(lambda: get_job(kube, ns, "batch")["status"].get("ready") == 2)
    for pod in pods_of(kube, ns, "batch"):
        if pod["status"]["phase"] == "Running":
            kube.set_pod(pod, "Succeeded", exit_code=0)
    done = wait_for(lambda: "Complete" in condition_types(get_job(kube, ns, "batch")) and get_job(kube, ns, "batch"))
    assert done["status"]["succeeded"] == 3 and len(pods_of(kube, ns, "batch")) == 3


def test_suspend_deletes_active_pods_and_resume_starts_again(kube: Kube, ns: str):
    kube.create(jobs(ns), job("later", suspend=True))
    suspended = wait_for(
        lambda: "Suspended" in condition_types(get_job(kube, ns, "later")) and get_job(kube, ns, "later")
    )
    cond = suspended["status"]["conditions"][0]
    assert (cond["reason"], cond["message"]) == ("JobSuspended", "Job suspended")
    assert "startTime" not in suspended["status"] and not pods_of(kube, ns, "later")
    kube.patch(f"{jobs(ns)}/later", {"spec": {"suspend": False}})
    wait_for(lambda: pods_of(kube, ns, "later"))
    resumed = get_job(kube, ns, "later")
    cond = resumed["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"], cond["message"]) == (
        "Suspended",
        "False",
        "JobResumed",
        "Job resumed",
    )
    assert "startTime" in resumed["status"]
    kube.patch(f"{jobs(ns)}/later", {"spec": {"suspend": True}})
    wait_for(lambda: not pods_of(kube, ns, "later"), what="the suspended job's pod to go")
    status = get_job(kube, ns, "later")["status"]
    assert "failed" not in status and "active" not in status
    reasons = [r for r, _ in kube.events(ns, "later")]
    assert "Suspended" in reasons and "Resumed" in reasons


def test_ttl_after_finished_deletes_the_job_and_its_pods(kube: Kube, ns: str):
    kube.create(jobs(ns), job("brief", ttlSecondsAfterFinished=0))
    [pod] = wait_for(lambda: pods_of(kube, ns, "brief"))
    kube.set_pod(pod, "Succeeded", exit_code=0)
    wait_for(lambda: kube.get(f"{jobs(ns)}/brief") is None, what="the job to expire")
    wait_for(lambda: not pods_of(kube, ns, "brief"), what="its pod to follow")


def test_deleting_a_job_releases_the_tracking_finalizers_of_its_pods(kube: Kube, ns: str):
    kube.create(jobs(ns), job("gone", parallelism=2, completions=2))
    wait_for(lambda: len(pods_of(kube, ns, "gone")) == 2)
    kube.delete(f"{jobs(ns)}/gone", propagation="Background")
    wait_for(lambda: not pods_of(kube, ns, "gone"), what="the pods to be deleted")


def test_orphaned_pods_lose_the_tracking_finalizer(kube: Kube, ns: str):
    kube.create(jobs(ns), job("orphans"))
    [pod] = wait_for(lambda: pods_of(kube, ns, "orphans"))
    kube.delete(f"{jobs(ns)}/orphans", propagation="Orphan")

    def released() -> dict[str, Any] | None:
        live = kube.get(f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}")
        assert live is not None
        meta = live["metadata"]
        return live if not meta.get("finalizers") and not meta.get("ownerReferences") else None

    wait_for(released, what="the orphaned pod to be released")
