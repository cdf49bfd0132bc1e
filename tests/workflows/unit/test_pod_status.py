import pytest

from tiphys.workflows.model import NodePhase
from tiphys.workflows.podstatus import assess_pod


def pod(phase, main=None, message=None, waiting=None, init=None, cond=None):
    status = {"phase": phase, "containerStatuses": []}
    if main is not None:
        status["containerStatuses"].append({"name": "main", "state": main})
    if waiting is not None:
        status["containerStatuses"].append({"name": "main", "state": {"waiting": waiting}})
    if init is not None:
        status["initContainerStatuses"] = [{"name": "init", "state": init}]
    if message:
        status["message"] = message
    if cond:
        status["conditions"] = [cond]
    return {"metadata": {"name": "p"}, "spec": {"nodeName": "n1"}, "status": status}


@pytest.mark.parametrize(
    "live, phase, message",
    [
        pytest.param(pod("Pending", waiting={"reason": "ContainerCreating"}), "Pending", "ContainerCreating",
                     id="pending"),
        pytest.param(pod("Pending", waiting={"reason": "ImagePullBackOff", "message": "Back-off pulling image x"}),
                     "Pending", "ImagePullBackOff: Back-off pulling image x", id="image-pull"),
        pytest.param(pod("Pending", cond={"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                          "message": "0/3 nodes are available"}),
                     "Pending", "Unschedulable: 0/3 nodes are available", id="unschedulable"),
        pytest.param(pod("Running", main={"running": {}}), "Running", "", id="running"),
        pytest.param(pod("Succeeded", main={"terminated": {"exitCode": 0}}), "Succeeded", "", id="succeeded"),
        pytest.param(pod("Failed", main={"terminated": {"exitCode": 1, "reason": "Error"}}), "Failed",
                     "main: Error (exit code 1)", id="main-failed"),
        pytest.param(pod("Failed", main={"terminated": {"exitCode": 137, "reason": "OOMKilled"}}), "Failed",
                     "main: OOMKilled (exit code 137)", id="oom"),
        pytest.param(pod("Failed", message="Pod was active on the node longer than the specified deadline"),
                     "Failed", "Pod was active on the node longer than the specified deadline", id="deadline"),
        pytest.param(pod("Failed", waiting={"reason": "CreateContainerError", "message": "no sh"}), "Error",
                     "Pod failed before main container starts due to CreateContainerError: no sh", id="never-started"),
        pytest.param(pod("Failed", init={"terminated": {"exitCode": 2, "reason": "Error"}}), "Error",
                     "init: Error (exit code 2)", id="init-failed"),
        pytest.param(pod("Unknown"), "Error", "Unexpected pod phase for p: Unknown", id="unknown"),
    ],
)
def test_pod_phase_to_node_phase(live, phase, message):
    outcome = assess_pod(live)
    assert (outcome.phase, outcome.message) == (NodePhase(phase), message)
    assert outcome.host == "n1"


def test_main_exited_with_sidecars_running_decides_the_node():
    live = pod("Running", main={"terminated": {"exitCode": 3, "reason": "Error"}})
    live["status"]["containerStatuses"].append({"name": "sidecar", "state": {"running": {}}})
    outcome = assess_pod(live)
    assert (outcome.phase, outcome.message, outcome.sidecars_left) == (NodePhase.FAILED, "main: Error (exit code 3)",
                                                                      True)
