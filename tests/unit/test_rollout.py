"""Deployment rollout arithmetic, with the numbers upstream's own tests and docs use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tiphys.cluster.controllers import rollout, rollout_status
from tiphys.cluster.controllers._meta import template_hash

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def deployment(replicas: int = 4, surge: Any = "25%", unavailable: Any = "25%", **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "generation": 2},
        "spec": {
            "replicas": replicas,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "a"}]}},
            "progressDeadlineSeconds": 600,
        },
        "status": status,
    }


def rs(name: str, replicas: int, available: int = 0, *, created: int = 0, ready: int | None = None, **annotations: str):
    return {
        "metadata": {
            "name": name,
            "uid": name,
            "creationTimestamp": (NOW + timedelta(minutes=created)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "annotations": annotations,
        },
        "spec": {"replicas": replicas},
        "status": {
            "replicas": replicas,
            "readyReplicas": available if ready is None else ready,
            "availableReplicas": available,
        },
    }


@pytest.mark.parametrize(
    "surge, unavailable, desired, expected",
    [
        pytest.param("25%", "25%", 4, (1, 1), id="defaults-of-4"),
        pytest.param("25%", "25%", 3, (1, 0), id="surge-rounds-up-unavailable-down"),
        pytest.param("25%", "25%", 1, (1, 0), id="one-replica"),
        pytest.param("25%", "25%", 10, (3, 2), id="ten-replicas"),
        pytest.param(0, 0, 5, (0, 1), id="both-zero-allows-one-unavailable"),
        pytest.param("0%", "0%", 5, (0, 1), id="both-zero-percent"),
        pytest.param(2, "50%", 5, (2, 2), id="absolute-and-percent"),
        pytest.param("100%", 0, 3, (3, 0), id="blue-green-like"),
    ],
)
def test_resolve_fenceposts(surge: Any, unavailable: Any, desired: int, expected: tuple[int, int]):
    assert rollout.resolve_fenceposts(surge, unavailable, desired) == expected


def test_max_unavailable_is_capped_by_replicas_and_zero_for_recreate():
    assert rollout.max_unavailable(deployment(replicas=2, unavailable=5)) == 2
    recreate = deployment()
    recreate["spec"]["strategy"] = {"type": "Recreate"}
    assert rollout.max_unavailable(recreate) == 0 and rollout.max_surge(recreate) == 0


@pytest.mark.parametrize(
    "old_replicas, new_replicas, expected",
    [
        pytest.param(4, 0, 1, id="first-step-uses-the-surge"),
        pytest.param(3, 1, 2, id="after-one-old-pod-went"),
        pytest.param(4, 1, 1, id="no-room-left"),
        pytest.param(0, 3, 4, id="never-above-desired"),
    ],
)
def test_new_replicaset_grows_within_the_surge(old_replicas: int, new_replicas: int, expected: int):
    d = deployment()
    new = rs("new", new_replicas, created=1)
    assert rollout.new_rs_replicas(d, [rs("old", old_replicas), new], new) == expected


def test_old_replicasets_shrink_within_the_availability_budget():
    d = deployment()  # 4 replicas: at least 3 available
    new = rs("new", 1, available=0, created=1)
    old = rs("old", 4, available=4)
    # 5 pods, 3 must stay available, the new pod is not available yet: one old pod may go.
    assert rollout.old_scale_down(d, [old, new], [old], new) == {"old": 3}
    # Once the new pod is available, another old pod may go (and no more).
    new = rs("new", 2, available=2, created=1)
    old = rs("old", 3, available=3)
    assert rollout.old_scale_down(d, [old, new], [old], new) == {"old": 1}


def test_unhealthy_old_pods_go_first():
    d = deployment()
    new = rs("new", 1, available=0, created=2)
    broken = rs("broken", 2, available=0, created=0)
    good = rs("good", 3, available=3, created=1)
    sizes = rollout.old_scale_down(d, [broken, good, new], [broken, good], new)
    assert sizes["broken"] == 0


def test_proportional_scaling_shares_new_replicas_by_size():
    d = deployment(replicas=20, surge=3, unavailable=2, replicas_=0)
    d["status"] = {"replicas": 13}
    old = rs("old", 8, created=0, **{rollout.MAX_REPLICAS: "13"})
    new = rs("new", 5, created=1, **{rollout.MAX_REPLICAS: "13"})
    sizes, operation = rollout.proportional_scale(d, new, [old])
    assert operation == "up"
    assert sum(sizes.values()) == 23
    assert sizes["old"] > sizes["new"]


def test_a_lone_replicaset_simply_takes_the_new_size():
    d = deployment(replicas=5)
    assert rollout.proportional_scale(d, rs("new", 2), []) == ({"new": 5}, "")


def test_template_hash_is_stable_and_ignores_nothing_but_is_safe_text():
    template = deployment()["spec"]["template"]
    digest = template_hash(template)
    assert digest == template_hash({"spec": template["spec"], "metadata": template["metadata"]})
    assert digest != template_hash(template, 1)
    assert set(digest) <= set("bcdfghjklmnpqrstvwxz2456789") and 1 <= len(digest) <= 10


def test_the_new_replicaset_is_found_ignoring_its_hash_label():
    d = deployment()
    template = {
        "metadata": {"labels": {"app": "web", "pod-template-hash": "abc"}},
        "spec": d["spec"]["template"]["spec"],
    }
    match = {
        "metadata": {"name": "web-abc", "uid": "1", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"template": template},
    }
    other = {
        "metadata": {"name": "web-x", "uid": "2", "creationTimestamp": "2025-01-01T00:00:00Z"},
        "spec": {"template": {}},
    }
    assert rollout.find_new_rs(d, [other, match]) is match


def test_revision_annotations_keep_the_history_on_rollback():
    d = deployment()
    d["metadata"]["annotations"] = {"team": "a", "kubectl.kubernetes.io/last-applied-configuration": "{}"}
    out = rollout.synced_rs_annotations(d, {rollout.REVISION: "1"}, 3, exists=True)
    assert out == {"team": "a", rollout.REVISION: "3", rollout.REVISION_HISTORY: "1"}
    fresh = rollout.synced_rs_annotations(d, {}, 1, exists=False)
    assert fresh[rollout.DESIRED] == "4" and fresh[rollout.MAX_REPLICAS] == "5"


def test_status_counts_and_available_condition():
    d = deployment()
    new = rs("new", 2, available=1, created=1, ready=2)
    old = rs("old", 3, available=3)
    status = rollout_status.calculate_status(d, [old, new], new, NOW)
    assert status["replicas"] == 5 and status["updatedReplicas"] == 2
    assert status["readyReplicas"] == 5 and status["availableReplicas"] == 4 and status["unavailableReplicas"] == 1
    assert status["observedGeneration"] == 2
    [available] = status["conditions"]
    assert (available["type"], available["status"], available["reason"]) == (
        "Available",
        "True",
        "MinimumReplicasAvailable",
    )


def test_progressing_moves_to_new_replicaset_available_when_complete():
    d = deployment()
    d["status"] = {"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3, "availableReplicas": 3}
    new = rs("web-1", 4, available=4)
    status = rollout_status.calculate_status(d, [new], new, NOW)
    wake = rollout_status.rollout_conditions(d, status, new, NOW)
    progressing = status["conditions"][-1]
    assert progressing["reason"] == "NewReplicaSetAvailable"
    assert progressing["message"] == 'ReplicaSet "web-1" has successfully progressed.'
    assert wake is None


def test_progress_deadline_times_out_from_the_last_update():
    d = deployment()
    d["spec"]["progressDeadlineSeconds"] = 60
    stale = rollout_status.new_condition(
        "Progressing", "True", "ReplicaSetUpdated", 'ReplicaSet "web-1" is progressing.', NOW
    )
    d["status"] = {
        "observedGeneration": 2,
        "replicas": 4,
        "updatedReplicas": 1,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "conditions": [stale],
    }
    new = rs("web-1", 1, available=0)
    status = rollout_status.calculate_status(d, [rs("old", 3, available=3), new], new, NOW)
    assert rollout_status.rollout_conditions(d, status, new, NOW + timedelta(seconds=10)) == pytest.approx(50.1)
    status = rollout_status.calculate_status(d, [rs("old", 3, available=3), new], new, NOW)
    assert rollout_status.rollout_conditions(d, status, new, NOW + timedelta(seconds=61)) is None
    progressing = status["conditions"][-1]
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "False",
        "ProgressDeadlineExceeded",
        'ReplicaSet "web-1" has timed out progressing.',
    )


def test_set_condition_keeps_transition_time_when_status_is_unchanged():
    status: dict[str, Any] = {}
    rollout_status.set_condition(
        status, rollout_status.new_condition("Available", "False", "MinimumReplicasUnavailable", "m", NOW)
    )
    later = NOW + timedelta(minutes=1)
    rollout_status.set_condition(status, rollout_status.new_condition("Available", "False", "Other", "m", later))
    [cond] = status["conditions"]
    assert cond["reason"] == "Other" and cond["lastTransitionTime"] == "2026-01-01T12:00:00Z"


def test_history_keeps_the_newest_and_never_deletes_busy_replicasets():
    d = deployment()
    d["spec"]["revisionHistoryLimit"] = 1
    olds = [rs(f"r{i}", 0, **{rollout.REVISION: str(i)}) for i in (1, 2, 3)]
    for r in olds:
        r["status"] = {"replicas": 0}
    busy = rs("r0", 1, **{rollout.REVISION: "0"})
    doomed = rollout.history_to_delete(d, [*olds, busy])
    assert [r["metadata"]["name"] for r in doomed] == ["r1", "r2"]
