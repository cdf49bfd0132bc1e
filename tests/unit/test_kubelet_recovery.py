"""A restarted kubelet reads the statuses it left: lost containers, waiting ones, finished ones."""

from __future__ import annotations

from tiphys.cluster.kubelet.recovery import LOST_ON_RESTART, restore
from tiphys.cluster.kubelet.status import ContainerRecord, Terminated, Waiting

NOW = "2026-01-01T00:01:00Z"
FINISHED = {"exitCode": 1, "reason": "Error", "startedAt": "t0", "finishedAt": "t1", "containerID": "tiphys://a"}


def test_a_running_container_was_lost():
    record = ContainerRecord("main", "busybox")
    reported = {"restartCount": 2, "containerID": "tiphys://b", "state": {"running": {"startedAt": "t2"}}}
    assert restore(record, reported, now=NOW) is True
    assert record.state == Terminated(137, "ContainerStatusUnknown", "t2", NOW, LOST_ON_RESTART, "tiphys://b")
    assert (record.restart_count, record.container_id, record.last) == (2, "tiphys://b", None)


def test_a_container_waiting_to_restart_gets_its_last_exit_back():
    record = ContainerRecord("main", "busybox")
    reported = {
        "restartCount": 1,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": FINISHED},
    }
    assert restore(record, reported, now=NOW) is False
    assert record.state == record.last == Terminated(1, "Error", "t0", "t1", "", "tiphys://a")


def test_finished_and_never_started_containers_stay_as_they_were():
    done = ContainerRecord("main", "busybox")
    assert restore(done, {"state": {"terminated": FINISHED}}, now=NOW) is False
    assert done.state == Terminated(1, "Error", "t0", "t1", "", "tiphys://a")
    creating = ContainerRecord("main", "busybox")
    assert restore(creating, {"state": {"waiting": {"reason": "ContainerCreating"}}}, now=NOW) is False
    assert creating.state == Waiting("ContainerCreating")
