"""StatefulSet and DaemonSet steps as pure plans over pod dicts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tiphys.cluster.controllers import daemonsets, statefulsets

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
STAMP = "2026-01-01T11:00:00Z"
TEMPLATE = {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}


def sts(replicas: int = 3, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "n", "uid": "u", "generation": 1},
        "spec": {"replicas": replicas, "serviceName": "db", "template": TEMPLATE, **spec},
    }


def member(i: int, *, ready: bool = True, revision: str = "db-1", phase: str = "Running") -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if ready:
        status["conditions"] = [{"type": "Ready", "status": "True", "lastTransitionTime": STAMP}]
    return {
        "metadata": {"name": f"db-{i}", "uid": f"p{i}", "labels": {"controller-revision-hash": revision}},
        "status": status,
    }


def step(s: dict[str, Any], pods: list[dict[str, Any]], update: str = "db-1") -> list[tuple[str, str]]:
    actions = statefulsets.plan(s, pods, current=("db-1", TEMPLATE), update=(update, TEMPLATE), now=NOW)
    return [(a.verb, a.pod["metadata"]["name"]) for a in actions]


def test_ordered_ready_creates_the_next_ordinal_only_after_the_previous_is_ready():
    assert step(sts(), []) == [("create", "db-0")]
    assert step(sts(), [member(0, ready=False)]) == []
    assert step(sts(), [member(0)]) == [("create", "db-1")]


def test_parallel_creates_every_missing_ordinal_at_once():
    assert step(sts(podManagementPolicy="Parallel"), []) == [("create", f"db-{i}") for i in range(3)]


def test_scale_down_removes_the_highest_ordinal_first():
    assert step(sts(replicas=1), [member(0), member(1), member(2)]) == [("delete", "db-2")]


def test_a_failed_member_is_recreated_under_the_same_name():
    actions = statefulsets.plan(
        sts(), [member(0, phase="Failed")], current=("db-1", TEMPLATE), update=("db-1", TEMPLATE), now=NOW
    )
    assert [(a.verb, a.pod["metadata"]["name"]) for a in actions] == [("delete", "db-0"), ("create", "db-0")]
    assert actions[0].event == (True, "RecreatingFailedPod", "StatefulSet n/db is recreating failed Pod db-0")


def test_rolling_update_replaces_from_the_top_and_stops_at_the_partition():
    pods = [member(0), member(1), member(2)]
    assert step(sts(), pods, update="db-2") == [("delete", "db-2")]
    pods[2] = member(2, revision="db-2", ready=False)
    assert step(sts(), pods, update="db-2") == []  # waits for the updated pod to be healthy
    pods[2] = member(2, revision="db-2")
    partitioned = sts(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}})
    assert step(partitioned, pods, update="db-2") == []
    assert step(sts(updateStrategy={"type": "OnDelete"}), pods, update="db-2") == []


def test_new_pods_below_the_partition_use_the_current_revision():
    partitioned = sts(replicas=2, updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 1}})
    actions = statefulsets.plan(partitioned, [], current=("db-1", TEMPLATE), update=("db-2", TEMPLATE), now=NOW)
    assert actions[0].pod["metadata"]["labels"]["controller-revision-hash"] == "db-1"


def test_status_counts_revisions_and_completes_the_update():
    pods = [member(0, revision="db-2"), member(1, revision="db-2")]
    status = statefulsets.statefulset_status(sts(replicas=2), pods, current="db-1", update="db-2", collision=0, now=NOW)
    assert status["currentRevision"] == "db-2" and status["currentReplicas"] == 2
    assert status["availableReplicas"] == 2 and status["collisionCount"] == 0


def ds(**strategy: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "n", "uid": "u", "generation": 1},
        "spec": {"template": TEMPLATE, "updateStrategy": strategy or {"type": "RollingUpdate"}},
    }


def daemon(uid: str, digest: str, *, ready: bool = True, phase: str = "Running") -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if ready:
        status["conditions"] = [{"type": "Ready", "status": "True", "lastTransitionTime": STAMP}]
    return {
        "metadata": {
            "name": f"agent-{uid}",
            "uid": uid,
            "creationTimestamp": STAMP,
            "labels": {"controller-revision-hash": digest},
        },
        "spec": {"nodeName": "tiphys-local"},
        "status": status,
    }


NODES = [daemonsets.implicit_node()]


def test_a_daemon_pod_is_created_for_the_node_and_pinned_to_it():
    plan = daemonsets.plan_daemons(ds(), NODES, [], "h1", NOW)
    assert plan.create == ["tiphys-local"]
    body = daemonsets.daemon_pod(ds(), "tiphys-local", "h1")
    assert body["metadata"]["labels"]["controller-revision-hash"] == "h1"
    assert daemonsets.target_node(body) == "tiphys-local"


def test_a_node_selector_that_does_not_match_schedules_nothing():
    selective = ds()
    selective["spec"]["template"] = {**TEMPLATE, "spec": {**TEMPLATE["spec"], "nodeSelector": {"gpu": "yes"}}}
    assert daemonsets.plan_daemons(selective, NODES, [], "h1", NOW).create == []
    status = daemonsets.daemon_status(selective, NODES, [], "h1", NOW)
    assert status["desiredNumberScheduled"] == 0


def test_failed_daemon_pods_are_replaced_and_old_ones_rolled():
    failed = daemon("a", "h1", phase="Failed", ready=False)
    plan = daemonsets.plan_daemons(ds(), NODES, [failed], "h1", NOW)
    assert plan.delete == [failed] and plan.failed == [(failed, "tiphys-local")]
    old = daemon("b", "h0")
    assert daemonsets.plan_daemons(ds(), NODES, [old], "h1", NOW).delete == [old]
    surge = ds(type="RollingUpdate", rollingUpdate={"maxSurge": 1, "maxUnavailable": 0})
    assert daemonsets.plan_daemons(surge, NODES, [old], "h1", NOW).create == ["tiphys-local"]


def test_daemon_status_counts_the_node():
    status = daemonsets.daemon_status(ds(), NODES, [daemon("a", "h1")], "h1", NOW)
    assert status == {
        "currentNumberScheduled": 1,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 1,
        "numberReady": 1,
        "observedGeneration": 1,
        "updatedNumberScheduled": 1,
        "numberAvailable": 1,
    }
