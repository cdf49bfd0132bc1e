"""Deployments, ReplicaSets and their pods against the real server, pods made ready by hand."""

from __future__ import annotations

from typing import Any

from .helpers import Kube, pod_template, wait_for


def deployment(name: str, *, replicas: int = 2, image: str = "nginx:1.27", **spec: Any) -> dict[str, Any]:
    template = pod_template({"app": name})
    template["spec"]["containers"][0]["image"] = image
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": template, **spec},
    }


def deploys(ns: str) -> str:
    return f"/apis/apps/v1/namespaces/{ns}/deployments"


def replicasets(kube: Kube, ns: str, name: str) -> list[dict[str, Any]]:
    return kube.items(f"/apis/apps/v1/namespaces/{ns}/replicasets", f"app={name}")


def conditions(obj: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in obj.get("status", {}).get("conditions", [])}


def ready_everything(kube: Kube, ns: str, name: str) -> None:
    for pod in kube.pods(ns, f"app={name}"):
        if pod["status"]["phase"] == "Pending" and not pod["metadata"].get("deletionTimestamp"):
            kube.set_pod(pod, "Running", ready=True)


def test_a_deployment_of_two_becomes_available_through_its_replicaset(kube: Kube, ns: str):
    kube.create(deploys(ns), deployment("web"))
    [rs] = wait_for(lambda: replicasets(kube, ns, "web"), what="the replicaset")
    digest = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{digest}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": digest}
    assert rs["spec"]["replicas"] == 2
    annotations = rs["metadata"]["annotations"]
    assert annotations["deployment.kubernetes.io/revision"] == "1"
    assert annotations["deployment.kubernetes.io/desired-replicas"] == "2"
    assert annotations["deployment.kubernetes.io/max-replicas"] == "3"
    pods = wait_for(lambda: len(kube.pods(ns, "app=web")) == 2 and kube.pods(ns, "app=web"))
    assert all(p["metadata"]["name"].startswith(f"web-{digest}-") for p in pods)
    assert all(p["metadata"]["labels"]["pod-template-hash"] == digest for p in pods)

    early = kube.get(f"{deploys(ns)}/web")
    assert early["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert conditions(early)["Available"] == (
        "False",
        "MinimumReplicasUnavailable",
        "Deployment does not have minimum availability.",
    )

    ready_everything(kube, ns, "web")

    def available() -> dict[str, Any] | None:
        d = kube.get(f"{deploys(ns)}/web")
        return d if conditions(d).get("Progressing", ("",) * 3)[1] == "NewReplicaSetAvailable" else None

    d = wait_for(available, what="the deployment to complete")
    status = d["status"]
    assert status["observedGeneration"] == 1
    assert (status["replicas"], status["updatedReplicas"], status["readyReplicas"], status["availableReplicas"]) == (
        2,
        2,
        2,
        2,
    )
    assert "unavailableReplicas" not in status
    assert [c["type"] for c in status["conditions"]] == ["Available", "Progressing"]
    assert conditions(d)["Available"] == ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    assert conditions(d)["Progressing"] == (
        "True",
        "NewReplicaSetAvailable",
        f'ReplicaSet "web-{digest}" has successfully progressed.',
    )
    events = kube.events(ns, "web")
    assert ("ScalingReplicaSet", f"Scaled up replica set web-{digest} to 2 from 0") in events
    rs = kube.get(f"/apis/apps/v1/namespaces/{ns}/replicasets/web-{digest}")
    assert rs["status"] == {
        "replicas": 2,
        "fullyLabeledReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
        "observedGeneration": 1,
    }


def roll_until_complete(kube: Kube, ns: str, name: str, *, budget: tuple[int, int]) -> dict[str, Any]:
    """Play the kubelet until the rollout completes, checking the surge and availability budgets."""
    max_total, min_ready = budget

    def step() -> dict[str, Any] | None:
        # The surge budget holds for the replica sets' desired counts, as upstream's controller keeps
        # it; actual pods may exceed it for the instant an old replica set has not yet deleted one.
        desired = {rs["metadata"]["name"]: rs["spec"]["replicas"] for rs in replicasets(kube, ns, name)}
        assert sum(desired.values()) <= max_total, desired
        pods = [p for p in kube.pods(ns, f"app={name}") if not p["metadata"].get("deletionTimestamp")]
        assert sum(1 for p in pods if p["status"]["phase"] == "Running") >= min_ready
        ready_everything(kube, ns, name)
        d = kube.get(f"{deploys(ns)}/{name}")
        status, want = d.get("status", {}), d["spec"]["replicas"]
        counts = [status.get(k, 0) for k in ("replicas", "updatedReplicas", "availableReplicas")]
        done = conditions(d).get("Progressing", ("",) * 3)[1] == "NewReplicaSetAvailable" and counts == [want] * 3
        return d if done and status["observedGeneration"] == d["metadata"]["generation"] else None

    return wait_for(step, interval=0.05, what=f"{name} to roll out")


def test_a_rollout_replaces_the_pods_within_surge_and_unavailability(kube: Kube, ns: str):
    kube.create(deploys(ns), deployment("roll", replicas=4))
    roll_until_complete(kube, ns, "roll", budget=(4, 0))
    [old] = replicasets(kube, ns, "roll")
    old_pods = {p["metadata"]["name"] for p in kube.pods(ns, "app=roll")}

    kube.patch(
        f"{deploys(ns)}/roll",
        {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:1.28"}]}}}},
        kind="strategic-merge",
    )
    # 25% of 4: one extra pod, one unavailable.
    d = roll_until_complete(kube, ns, "roll", budget=(5, 3))
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    rss = {rs["metadata"]["name"]: rs for rs in replicasets(kube, ns, "roll")}
    assert len(rss) == 2
    old = rss.pop(old["metadata"]["name"])
    [new] = rss.values()
    assert old["spec"]["replicas"] == 0 and new["spec"]["replicas"] == 4
    assert new["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    new_pods = wait_for(lambda: len(kube.pods(ns, "app=roll")) == 4 and kube.pods(ns, "app=roll"))
    assert not old_pods & {p["metadata"]["name"] for p in new_pods}
    assert all(p["spec"]["containers"][0]["image"] == "nginx:1.28" for p in new_pods)
    reasons = [m for r, m in kube.events(ns, "roll") if r == "ScalingReplicaSet"]
    assert f"Scaled up replica set {new['metadata']['name']} to 1 from 0" in reasons
    assert f"Scaled down replica set {old['metadata']['name']} to 3 from 4" in reasons
    assert f"Scaled down replica set {old['metadata']['name']} to 0 from 1" in reasons


def test_recreate_removes_every_old_pod_before_the_new_ones(kube: Kube, ns: str):
    kube.create(deploys(ns), deployment("re", replicas=2, strategy={"type": "Recreate"}))
    roll_until_complete(kube, ns, "re", budget=(2, 0))
    [old] = replicasets(kube, ns, "re")
    kube.patch(f"{deploys(ns)}/re", {"spec": {"template": {"metadata": {"annotations": {"v": "2"}}}}})

    def step() -> dict[str, Any] | None:
        pods = kube.pods(ns, "app=re")
        hashes = {p["metadata"]["labels"]["pod-template-hash"] for p in pods}
        assert len(hashes) <= 1, "old and new pods at once"
        ready_everything(kube, ns, "re")
        d = kube.get(f"{deploys(ns)}/re")
        done = conditions(d)["Progressing"][1] == "NewReplicaSetAvailable" and d["status"].get("updatedReplicas") == 2
        return d if done and d["status"]["observedGeneration"] == 2 else None

    wait_for(step, interval=0.05)
    reasons = [m for r, m in kube.events(ns, "re") if r == "ScalingReplicaSet"]
    assert f"Scaled down replica set {old['metadata']['name']} to 0 from 2" in reasons


def test_scaling_a_deployment_scales_its_replicaset(kube: Kube, ns: str):
    kube.create(deploys(ns), deployment("scale", replicas=1))
    roll_until_complete(kube, ns, "scale", budget=(1, 0))
    kube.patch(f"{deploys(ns)}/scale", {"spec": {"replicas": 3}})
    d = roll_until_complete(kube, ns, "scale", budget=(3, 1))
    assert d["status"]["availableReplicas"] == 3
    [rs] = replicasets(kube, ns, "scale")
    assert rs["spec"]["replicas"] == 3
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "3"
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "4"
    assert f"Scaled up replica set {rs['metadata']['name']} to 3 from 1" in [m for _, m in kube.events(ns, "scale")]


def test_a_paused_deployment_does_not_roll_out_until_resumed(kube: Kube, ns: str):
    kube.create(deploys(ns), deployment("held", replicas=1))
    roll_until_complete(kube, ns, "held", budget=(1, 0))
    kube.patch(f"{deploys(ns)}/held", {"spec": {"paused": True}})
    paused = wait_for(lambda: conditions(kube.get(f"{deploys(ns)}/held"))["Progressing"][1] == "DeploymentPaused")
    assert paused
    assert conditions(kube.get(f"{deploys(ns)}/held"))["Progressing"] == (
        "Unknown",
        "DeploymentPaused",
        "Deployment is paused",
    )
    kube.patch(f"{deploys(ns)}/held", {"spec": {"template": {"metadata": {"annotations": {"v": "2"}}}}})
    wait_for(lambda: kube.get(f"{deploys(ns)}/held")["status"].get("observedGeneration") == 3)
    assert len(replicasets(kube, ns, "held")) == 1
    kube.patch(f"{deploys(ns)}/held", {"spec": {"paused": False}})
    roll_until_complete(kube, ns, "held", budget=(2, 1))
    assert len(replicasets(kube, ns, "held")) == 2


def test_revision_history_limit_deletes_old_replicasets(kube: Kube, ns: str):
    kube.create(deploys(ns), deployment("hist", replicas=1, revisionHistoryLimit=1))
    roll_until_complete(kube, ns, "hist", budget=(1, 0))
    for version in ("2", "3"):
        kube.patch(f"{deploys(ns)}/hist", {"spec": {"template": {"metadata": {"annotations": {"v": version}}}}})
        roll_until_complete(kube, ns, "hist", budget=(2, 0))
    rss = wait_for(lambda: len(replicasets(kube, ns, "hist")) == 2 and replicasets(kube, ns, "hist"))
    revisions = sorted(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for rs in rss)
    assert revisions == ["2", "3"]


def test_progress_deadline_exceeded(kube: Kube, ns: str):
    kube.create(deploys(ns), deployment("stuck", replicas=1, progressDeadlineSeconds=1))

    def timed_out() -> dict[str, Any] | None:
        d = kube.get(f"{deploys(ns)}/stuck")
        return d if conditions(d).get("Progressing", ("",) * 3)[1] == "ProgressDeadlineExceeded" else None

    d = wait_for(timed_out, timeout=10, what="the progress deadline")
    [rs] = replicasets(kube, ns, "stuck")
    assert conditions(d)["Progressing"] == (
        "False",
        "ProgressDeadlineExceeded",
        f'ReplicaSet "{rs["metadata"]["name"]}" has timed out progressing.',
    )


def test_min_ready_seconds_delays_availability(kube: Kube, ns: str):
    # Two seconds: Ready's transition time has whole seconds, so one could pass at once.
    kube.create(deploys(ns), deployment("warm", replicas=1, minReadySeconds=2))
    [pod] = wait_for(lambda: kube.pods(ns, "app=warm"))
    kube.set_pod(pod, "Running", ready=True)
    wait_for(lambda: kube.get(f"{deploys(ns)}/warm")["status"].get("readyReplicas") == 1)
    assert "availableReplicas" not in kube.get(f"{deploys(ns)}/warm")["status"]
    wait_for(lambda: kube.get(f"{deploys(ns)}/warm")["status"].get("availableReplicas") == 1, timeout=5)


def test_deleting_a_deployment_removes_its_replicasets_and_pods(kube: Kube, ns: str):
    kube.create(deploys(ns), deployment("bye", replicas=2))
    roll_until_complete(kube, ns, "bye", budget=(2, 0))
    kube.delete(f"{deploys(ns)}/bye")
    wait_for(lambda: not replicasets(kube, ns, "bye") and not kube.pods(ns, "app=bye"), what="everything to go")


def test_a_replicaset_replaces_deleted_pods_and_adopts_orphans(kube: Kube, ns: str):
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "solo"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "solo"}},
            "template": pod_template({"app": "solo"}),
        },
    }
    kube.create(f"/apis/apps/v1/namespaces/{ns}/replicasets", rs)
    pods = wait_for(lambda: len(kube.pods(ns, "app=solo")) == 2 and kube.pods(ns, "app=solo"))
    kube.delete(f"/api/v1/namespaces/{ns}/pods/{pods[0]['metadata']['name']}")
    wait_for(
        lambda: (
            len(kube.pods(ns, "app=solo")) == 2
            and pods[0]["metadata"]["name"] not in {p["metadata"]["name"] for p in kube.pods(ns, "app=solo")}
        )
    )
    # A third pod with the labels is adopted, then deleted as surplus.
    kube.create(
        f"/api/v1/namespaces/{ns}/pods",
        {"metadata": {"name": "stray", "labels": {"app": "solo"}}, **{"spec": pod_template({"app": "solo"})["spec"]}},
    )
    wait_for(lambda: len(kube.pods(ns, "app=solo")) == 2, what="the surplus pod to be removed")
    reasons = [r for r, _ in kube.events(ns, "solo")]
    assert reasons.count("SuccessfulCreate") == 3 and "SuccessfulDelete" in reasons
