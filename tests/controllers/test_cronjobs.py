"""CronJobs against the real server. A missed schedule is made by backdating ``lastScheduleTime``.

The schedule fires once a year (New Year), so no second run can start while a test looks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from .helpers import Kube, pod_template, wait_for


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def cronjob(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {
            "schedule": "0 0 1 1 *",
            "jobTemplate": {
                "metadata": {"labels": {"cron": name}},
                "spec": {"template": pod_template({"cron": name}, restart="Never")},
            },
            **spec,
        },
    }


def path(ns: str, name: str = "") -> str:
    return f"/apis/batch/v1/namespaces/{ns}/cronjobs" + (f"/{name}" if name else "")


def backdate(kube: Kube, ns: str, name: str) -> None:
    when = stamp(datetime.now(UTC) - timedelta(days=400))
    kube.patch(f"{path(ns, name)}/status", {"status": {"lastScheduleTime": when}})


def jobs(kube: Kube, ns: str, name: str) -> list[dict[str, Any]]:
    return kube.items(f"/apis/batch/v1/namespaces/{ns}/jobs", f"cron={name}")


def owned_job(
    kube: Kube, ns: str, cj: dict[str, Any], name: str, *, finished: str | None, started: datetime
) -> dict[str, Any]:
    """A Job the CronJob owns, suspended so it runs nothing, optionally marked finished."""
    job = kube.create(
        f"/apis/batch/v1/namespaces/{ns}/jobs",
        {
            "metadata": {
                "name": name,
                "labels": {"cron": cj["metadata"]["name"]},
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "CronJob",
                        "name": cj["metadata"]["name"],
                        "uid": cj["metadata"]["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": {"suspend": True, "template": pod_template({"cron": cj["metadata"]["name"]}, restart="Never")},
        },
    )
    if finished:
        status = {
            "startTime": stamp(started),
            "completionTime": stamp(started + timedelta(seconds=5)),
            "conditions": [{"type": finished, "status": "True", "lastTransitionTime": stamp(started)}],
        }
        if finished != "Complete":
            del status["completionTime"]
        kube.patch(f"/apis/batch/v1/namespaces/{ns}/jobs/{name}/status", {"status": status})
    return job


def test_a_missed_schedule_starts_a_job_named_for_its_minute(kube: Kube, ns: str):
    kube.create(path(ns), cronjob("tick"))
    backdate(kube, ns, "tick")
    [job] = wait_for(lambda: jobs(kube, ns, "tick"), what="the scheduled job")
    minute = int(job["metadata"]["name"].rsplit("-", 1)[1])
    scheduled = datetime.fromtimestamp(minute * 60, UTC)
    assert job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] == stamp(scheduled)
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    cj = wait_for(lambda: (c := kube.get(path(ns, "tick")))["status"].get("active") and c)
    assert cj["status"]["lastScheduleTime"] == stamp(scheduled)
    assert [(a["kind"], a["name"]) for a in cj["status"]["active"]] == [("Job", job["metadata"]["name"])]
    assert ("SuccessfulCreate", f"Created job {job['metadata']['name']}") in kube.events(ns, "tick")

    [pod] = wait_for(lambda: kube.pods(ns, f"job-name={job['metadata']['name']}"))
    kube.set_pod(pod, "Succeeded", exit_code=0)
    done = wait_for(lambda: (c := kube.get(path(ns, "tick")))["status"].get("lastSuccessfulTime") and c)
    assert "active" not in done["status"]
    condition = "Complete"
    assert ("SawCompletedJob", f"Saw completed job: {job['metadata']['name']}, condition: {condition}") in kube.events(
        ns, "tick"
    )


def test_forbid_skips_a_run_while_one_is_active(kube: Kube, ns: str):
    cj = kube.create(path(ns), cronjob("strict", concurrencyPolicy="Forbid"))
    running = owned_job(kube, ns, cj, "strict-1", finished=None, started=datetime.now(UTC))
    ref = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": "strict-1",
        "namespace": ns,
        "uid": running["metadata"]["uid"],
    }
    when = stamp(datetime.now(UTC) - timedelta(days=400))
    kube.patch(f"{path(ns, 'strict')}/status", {"status": {"lastScheduleTime": when, "active": [ref]}})
    message = "Not starting job because prior execution is running and concurrency policy is Forbid"
    wait_for(lambda: ("JobAlreadyActive", message) in kube.events(ns, "strict"))
    assert [j["metadata"]["name"] for j in jobs(kube, ns, "strict")] == ["strict-1"]


def test_replace_deletes_the_running_job_for_the_new_one(kube: Kube, ns: str):
    cj = kube.create(path(ns), cronjob("fresh", concurrencyPolicy="Replace"))
    running = owned_job(kube, ns, cj, "fresh-1", finished=None, started=datetime.now(UTC))
    ref = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": "fresh-1",
        "namespace": ns,
        "uid": running["metadata"]["uid"],
    }
    when = stamp(datetime.now(UTC) - timedelta(days=400))
    kube.patch(f"{path(ns, 'fresh')}/status", {"status": {"lastScheduleTime": when, "active": [ref]}})
    wait_for(lambda: [j["metadata"]["name"] for j in jobs(kube, ns, "fresh")] not in ([], ["fresh-1"]))
    wait_for(lambda: "fresh-1" not in [j["metadata"]["name"] for j in jobs(kube, ns, "fresh")])
    assert ("SuccessfulDelete", "Deleted job fresh-1") in kube.events(ns, "fresh")


def test_history_limits_delete_the_oldest_finished_jobs(kube: Kube, ns: str):
    cj = kube.create(path(ns), cronjob("hist", successfulJobsHistoryLimit=1, failedJobsHistoryLimit=1, suspend=True))
    base = datetime.now(UTC) - timedelta(hours=1)
    for i, outcome in enumerate(["Complete", "Complete", "Complete", "Failed", "Failed"]):
        owned_job(kube, ns, cj, f"hist-{i}", finished=outcome, started=base + timedelta(minutes=i))
    kube.patch(path(ns, "hist"), {"metadata": {"annotations": {"poke": "1"}}})
    wait_for(lambda: sorted(j["metadata"]["name"] for j in jobs(kube, ns, "hist")) == ["hist-2", "hist-4"])
    events = kube.events(ns, "hist")
    assert ("SuccessfulDelete", "Deleted job hist-0") in events and ("SuccessfulDelete", "Deleted job hist-3") in events


def test_an_unparseable_schedule_is_reported(kube: Kube, ns: str):
    body = cronjob("bad")
    body["spec"]["schedule"] = "61 * * * *"
    kube.create(path(ns), body)
    wait_for(lambda: any(r == "UnparseableSchedule" for r, _ in kube.events(ns, "bad")))
