"""DaemonSets against the real server: one pod on the one node, status by node, rolling update."""

from __future__ import annotations

from typing import Any

from .helpers import Kube, wait_for


def daemonset(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}], "terminationGracePeriodSeconds": 0},
            },
        },
    }


def live_pods(kube: Kube, ns: str, name: str) -> list[dict[str, Any]]:
    return [p for p in kube.pods(ns, f"app={name}") if not p["metadata"].get("deletionTimestamp")]


def make_ready(kube: Kube, ns: str, name: str) -> bool:
    """Ready every daemon pod: the kubelet does it when it runs, else the test does."""
    pods = live_pods(kube, ns, name)
    kubelet = kube.get("/api/v1/nodes/tiphys-local") is not None
    for pod in pods:
        if not kubelet and pod["status"]["phase"] == "Pending":
            kube.set_pod(pod, "Running", ready=True)
    return bool(pods) and all(
        any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
        for p in live_pods(kube, ns, name)
    )


def test_one_pod_pinned_to_the_node_and_counted(kube: Kube, ns: str):
    kube.create(f"/apis/apps/v1/namespaces/{ns}/daemonsets", daemonset("agent"))
    [pod] = wait_for(lambda: live_pods(kube, ns, "agent"))
    assert pod["metadata"]["name"].startswith("agent-")
    terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["tiphys-local"]}]}]
    assert {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"} in pod["spec"][
        "tolerations"
    ]
    assert "controller-revision-hash" in pod["metadata"]["labels"]
    assert pod["metadata"]["labels"]["pod-template-generation"] == "1"
    wait_for(lambda: make_ready(kube, ns, "agent"), interval=0.05)

    def counted() -> dict[str, Any] | None:
        ds = kube.get(f"/apis/apps/v1/namespaces/{ns}/daemonsets/agent")
        return ds if ds["status"].get("numberAvailable") == 1 else None

    ds = wait_for(counted)
    assert ds["status"] == {
        "currentNumberScheduled": 1,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 1,
        "numberReady": 1,
        "observedGeneration": 1,
        "updatedNumberScheduled": 1,
        "numberAvailable": 1,
    }
    assert ("SuccessfulCreate", f"Created pod: {pod['metadata']['name']}") in kube.events(ns, "agent")


def test_a_template_change_replaces_the_pod(kube: Kube, ns: str):
    kube.create(f"/apis/apps/v1/namespaces/{ns}/daemonsets", daemonset("roll"))
    [first] = wait_for(lambda: live_pods(kube, ns, "roll"))
    wait_for(lambda: make_ready(kube, ns, "roll"), interval=0.05)
    kube.patch(
        f"/apis/apps/v1/namespaces/{ns}/daemonsets/roll",
        {"spec": {"template": {"metadata": {"annotations": {"v": "2"}}}}},
    )

    def replaced() -> bool:
        pods = live_pods(kube, ns, "roll")
        return (
            len(pods) == 1 and pods[0]["metadata"]["uid"] != first["metadata"]["uid"] and make_ready(kube, ns, "roll")
        )

    wait_for(replaced, interval=0.05)
    ds = wait_for(
        lambda: (
            (d := kube.get(f"/apis/apps/v1/namespaces/{ns}/daemonsets/roll"))["status"].get("numberAvailable") == 1
            and d["status"].get("observedGeneration") == 2
            and d
        )
    )
    assert ds["status"]["updatedNumberScheduled"] == 1
    assert len(kube.items(f"/apis/apps/v1/namespaces/{ns}/controllerrevisions")) == 2
