"""Pod status from the kubelet's records: phase, conditions, container statuses (upstream kubelet_pods.go)."""

from __future__ import annotations

import pytest

from tiphys.cluster.kubelet.status import (
    ContainerRecord,
    PodFacts,
    Running,
    Terminated,
    Waiting,
    get_phase,
    image_id,
    normalize_image,
    pod_status,
)

NOW = "2026-01-01T00:00:10Z"
T0 = "2026-01-01T00:00:00Z"


def running(name="main", **kw):
    return ContainerRecord(name, "busybox", Running(T0), container_id="tiphys://1", **kw)


def exited(code, name="main", **kw):
    reason = "Completed" if code == 0 else "Error"
    return ContainerRecord(name, "busybox", Terminated(code, reason, T0, NOW, container_id="tiphys://1"), **kw)


def crashlooping(name="main"):
    last = Terminated(1, "Error", T0, NOW)
    return ContainerRecord(name, "busybox", Waiting("CrashLoopBackOff", "back-off"), last=last, restart_count=1)


def waiting(name="main", reason="ContainerCreating"):
    return ContainerRecord(name, "busybox", Waiting(reason))


def a_pod(policy="Always", containers=("main",), init=(), **spec):
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
        "spec": {
            "restartPolicy": policy,
            "containers": [{"name": n, "image": "busybox"} for n in containers],
            "initContainers": [{"name": n, "image": "busybox"} for n in init],
            **spec,
        },
        "status": {"phase": "Pending"},
    }


def status_of(pod, regular, init=(), facts=None):
    return pod_status(pod, list(init), list(regular), facts or PodFacts(start_time=T0, sandbox_ready=True), now=NOW)


@pytest.mark.parametrize(
    "policy, regular, init, terminal, expected",
    [
        pytest.param("Always", [waiting()], [], False, "Pending", id="creating"),
        pytest.param("Always", [running()], [], False, "Running", id="running"),
        pytest.param("Always", [crashlooping()], [], False, "Running", id="always-crashloop-is-running"),
        pytest.param("Never", [exited(0)], [], False, "Succeeded", id="never-success"),
        pytest.param("Never", [exited(3)], [], False, "Failed", id="never-failure"),
        pytest.param("OnFailure", [exited(3)], [], False, "Running", id="onfailure-restarting"),
        pytest.param("OnFailure", [exited(0)], [], False, "Succeeded", id="onfailure-success"),
        pytest.param("Always", [exited(0)], [], True, "Succeeded", id="terminal-all-zero"),
        pytest.param("Always", [exited(143)], [], True, "Failed", id="terminal-killed"),
        pytest.param("Never", [running(), exited(1, "b")], [], False, "Running", id="one-still-running"),
        pytest.param(
            "Never", [waiting("main", "PodInitializing")], [exited(1, "init")], False, "Failed", id="init-failed-never"
        ),
        pytest.param(
            "Always", [waiting("main", "PodInitializing")], [running("init")], False, "Pending", id="initializing"
        ),
        pytest.param(
            "OnFailure", [waiting("main", "PodInitializing")], [crashlooping("init")], False, "Pending", id="init-crash"
        ),
    ],
)
def test_get_phase(policy, regular, init, terminal, expected):
    names = [r.name for r in regular]
    pod = a_pod(policy, names, [r.name for r in init])
    status = status_of(pod, regular, init, PodFacts(start_time=T0, terminal=terminal))
    assert status["phase"] == expected
    init_statuses = status.get("initContainerStatuses", [])
    assert get_phase(pod["spec"], init_statuses, status["containerStatuses"], terminal=terminal) == expected


def conditions(status):
    return {c["type"]: (c["status"], c.get("reason", "")) for c in status["conditions"]}


def test_a_ready_running_pod():
    status = status_of(a_pod(), [running(ready=True, started=True)])
    assert conditions(status) == {
        "PodReadyToStartContainers": ("True", ""),
        "Initialized": ("True", ""),
        "Ready": ("True", ""),
        "ContainersReady": ("True", ""),
        "PodScheduled": ("True", ""),
    }
    main = status["containerStatuses"][0]
    assert main["state"] == {"running": {"startedAt": T0}}
    assert main["ready"] is True and main["started"] is True
    assert main["image"] == "docker.io/library/busybox:latest"
    assert main["imageID"].startswith("docker.io/library/busybox@sha256:")
    assert (status["podIP"], status["hostIP"], status["startTime"]) == ("127.0.0.1", "127.0.0.1", T0)


def sidecar_pod(policy="Always"):
    pod = a_pod(policy, init=("proxy",))
    pod["spec"]["initContainers"][0]["restartPolicy"] = "Always"
    return pod


def test_a_sidecar_that_has_started_initializes_the_pod_and_counts_for_readiness():
    pod = sidecar_pod()
    starting = status_of(pod, [waiting("main", "PodInitializing")], [running("proxy")])
    assert starting["phase"] == "Pending"
    assert conditions(starting)["Initialized"] == ("False", "ContainersNotInitialized")
    started = status_of(pod, [running(ready=True, started=True)], [running("proxy", started=True)])
    assert (started["phase"], conditions(started)["Initialized"]) == ("Running", ("True", ""))
    ready = next(c for c in started["conditions"] if c["type"] == "Ready")
    assert ready["message"] == "containers with unready status: [proxy]"


def test_a_stopped_sidecar_does_not_decide_the_phase():
    status = status_of(sidecar_pod("Never"), [exited(0)], [exited(143, "proxy")])
    assert status["phase"] == "Succeeded"


def test_unready_containers_are_named():
    status = status_of(a_pod(containers=("a", "b")), [running("a", ready=True), running("b")])
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "False",
        "ContainersNotReady",
        "containers with unready status: [b]",
    )


def test_incomplete_init_containers_are_named():
    pod = a_pod(init=("i1", "i2"))
    status = status_of(pod, [waiting("main", "PodInitializing")], [exited(0, "i1"), running("i2")])
    initialized = next(c for c in status["conditions"] if c["type"] == "Initialized")
    assert initialized["message"] == "containers with incomplete status: [i2]"
    assert [s["name"] for s in status["initContainerStatuses"]] == ["i1", "i2"]


def test_transition_times_hold_while_statuses_hold_and_other_conditions_are_kept():
    pod = a_pod(readinessGates=[{"conditionType": "example.com/gate"}])
    first = status_of(pod, [running(ready=True)])
    gate = next(c for c in first["conditions"] if c["type"] == "Ready")
    assert (gate["status"], gate["reason"]) == ("False", "ReadinessGatesNotReady")
    previous = [dict(c, lastTransitionTime=T0) for c in first["conditions"]]
    previous.append({"type": "example.com/gate", "status": "True", "lastTransitionTime": T0})
    pod["status"] = {**first, "conditions": previous}
    second = pod_status(pod, [], [running(ready=True)], PodFacts(start_time=T0, sandbox_ready=True), now="later")
    times = {c["type"]: c["lastTransitionTime"] for c in second["conditions"]}
    assert times["Ready"] == "later"  # it became True now
    assert times["ContainersReady"] == times["Initialized"] == times["example.com/gate"] == T0
    assert conditions(second)["Ready"] == ("True", "")


def test_a_decided_phase_wins_and_a_rejected_pod_has_no_container_statuses():
    facts = PodFacts(start_time=T0, phase="Failed", reason="HostPathNotAllowed", message="no", rejected=True)
    status = status_of(a_pod(), [waiting()], facts=facts)
    assert (status["phase"], status["reason"], status["message"]) == ("Failed", "HostPathNotAllowed", "no")
    assert "containerStatuses" not in status
    assert conditions(status)["Ready"] == ("False", "PodFailed")


def test_terminated_states_carry_their_details():
    record = ContainerRecord("main", "busybox", Terminated(137, "ContainerStatusUnknown", "", "", "lost"))
    state = status_of(a_pod("Never"), [record])["containerStatuses"][0]["state"]
    assert state == {
        "terminated": {
            "exitCode": 137,
            "reason": "ContainerStatusUnknown",
            "message": "lost",
            "startedAt": None,
            "finishedAt": None,
        }
    }


@pytest.mark.parametrize(
    "image, normalized",
    [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("bitnami/kubectl", "docker.io/bitnami/kubectl:latest"),
        ("ghcr.io/org/app:v1", "ghcr.io/org/app:v1"),
        ("localhost:5000/app", "localhost:5000/app:latest"),
        ("quay.io/x/y@sha256:abc", "quay.io/x/y@sha256:abc"),
    ],
)
def test_normalize_image(image, normalized):
    assert normalize_image(image) == normalized


def test_image_ids_are_stable_digests_of_the_name():
    assert image_id("busybox") == image_id("docker.io/library/busybox:latest")
    assert image_id("localhost:5000/app:v2").startswith("localhost:5000/app@sha256:")
