"""StatefulSets against the real server: ordinals, order, claims, revisions and updates."""

from __future__ import annotations

from typing import Any

from .helpers import Kube, pod_template, wait_for


def statefulset(name: str, *, replicas: int = 3, claims: bool = False, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": pod_template({"app": name}),
            **spec,
        },
    }
    if claims:
        body["spec"]["volumeClaimTemplates"] = [
            {
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            }
        ]
    return body


def sets(ns: str) -> str:
    return f"/apis/apps/v1/namespaces/{ns}/statefulsets"


def names(kube: Kube, ns: str, app: str) -> list[str]:
    return sorted(
        p["metadata"]["name"] for p in kube.pods(ns, f"app={app}") if not p["metadata"].get("deletionTimestamp")
    )


def ready(kube: Kube, ns: str, name: str) -> None:
    pod = kube.get(f"/api/v1/namespaces/{ns}/pods/{name}")
    assert pod is not None
    kube.set_pod(pod, "Running", ready=True)


def test_ordered_ready_starts_one_pod_at_a_time_with_identity_and_claims(kube: Kube, ns: str):
    kube.create(sets(ns), statefulset("db", claims=True))
    wait_for(lambda: names(kube, ns, "db") == ["db-0"])
    pod = kube.get(f"/api/v1/namespaces/{ns}/pods/db-0")
    labels = pod["metadata"]["labels"]
    assert labels["statefulset.kubernetes.io/pod-name"] == "db-0"
    assert labels["apps.kubernetes.io/pod-index"] == "0"
    assert labels["controller-revision-hash"].startswith("db-")
    assert pod["spec"]["hostname"] == "db-0" and pod["spec"]["subdomain"] == "db"
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}} in pod["spec"]["volumes"]
    claim = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/data-db-0")
    assert claim["metadata"]["labels"] == {"app": "db"}
    assert names(kube, ns, "db") == ["db-0"]  # db-1 waits for db-0 to be Ready
    ready(kube, ns, "db-0")
    wait_for(lambda: names(kube, ns, "db") == ["db-0", "db-1"])
    ready(kube, ns, "db-1")
    wait_for(lambda: names(kube, ns, "db") == ["db-0", "db-1", "db-2"])
    ready(kube, ns, "db-2")
    sts = wait_for(
        lambda: (kube.get(f"{sets(ns)}/db")["status"].get("readyReplicas") == 3) and kube.get(f"{sets(ns)}/db")
    )
    status = sts["status"]
    revision = labels["controller-revision-hash"]
    assert status == {
        "observedGeneration": 1,
        "replicas": 3,
        "readyReplicas": 3,
        "currentReplicas": 3,
        "updatedReplicas": 3,
        "currentRevision": revision,
        "updateRevision": revision,
        "collisionCount": 0,
        "availableReplicas": 3,
    }
    [cr] = kube.items(f"/apis/apps/v1/namespaces/{ns}/controllerrevisions")
    assert cr["metadata"]["name"] == revision and cr["revision"] == 1
    assert cr["data"]["spec"]["template"]["$patch"] == "replace"
    events = kube.events(ns, "db")
    assert ("SuccessfulCreate", "create Pod db-0 in StatefulSet db successful") in events
    assert ("SuccessfulCreate", "create Claim data-db-0 Pod db-0 in StatefulSet db success") in events


def test_rolling_update_goes_from_the_highest_ordinal_down_to_the_partition(kube: Kube, ns: str):
    kube.create(sets(ns), statefulset("web", podManagementPolicy="Parallel"))
    wait_for(lambda: names(kube, ns, "web") == ["web-0", "web-1", "web-2"], what="all three at once")
    for n in ("web-0", "web-1", "web-2"):
        ready(kube, ns, n)
    wait_for(lambda: kube.get(f"{sets(ns)}/web")["status"].get("readyReplicas") == 3)
    old = kube.get(f"{sets(ns)}/web")["status"]["currentRevision"]
    kube.patch(
        f"{sets(ns)}/web",
        {
            "spec": {
                "updateStrategy": {"rollingUpdate": {"partition": 1}},
                "template": {"metadata": {"annotations": {"v": "2"}}},
            }
        },
    )
    order = []
    for expected in ("web-2", "web-1"):

        def replaced(name: str = expected) -> bool:
            pod = kube.get(f"/api/v1/namespaces/{ns}/pods/{name}")
            return pod is not None and pod["metadata"]["labels"]["controller-revision-hash"] != old

        wait_for(replaced, what=f"{expected} to be replaced")
        order.append(expected)
        ready(kube, ns, expected)
    sts = wait_for(
        lambda: kube.get(f"{sets(ns)}/web")["status"].get("updatedReplicas") == 2 and kube.get(f"{sets(ns)}/web")
    )
    assert sts["status"]["currentRevision"] == old and sts["status"]["updateRevision"] != old
    assert kube.get(f"/api/v1/namespaces/{ns}/pods/web-0")["metadata"]["labels"]["controller-revision-hash"] == old
    kube.patch(f"{sets(ns)}/web", {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}})

    def web0_replaced() -> bool:
        pod = kube.get(f"/api/v1/namespaces/{ns}/pods/web-0")
        return pod is not None and pod["metadata"]["labels"]["controller-revision-hash"] != old

    wait_for(web0_replaced)
    ready(kube, ns, "web-0")
    done = wait_for(
        lambda: kube.get(f"{sets(ns)}/web")["status"].get("currentRevision") != old and kube.get(f"{sets(ns)}/web")
    )
    assert done["status"]["currentRevision"] == done["status"]["updateRevision"]
    assert done["status"]["currentReplicas"] == 3
    assert len(kube.items(f"/apis/apps/v1/namespaces/{ns}/controllerrevisions")) == 2


def test_scale_down_removes_the_highest_ordinals(kube: Kube, ns: str):
    kube.create(sets(ns), statefulset("down", podManagementPolicy="Parallel"))
    wait_for(lambda: len(names(kube, ns, "down")) == 3)
    for n in names(kube, ns, "down"):
        ready(kube, ns, n)
    kube.patch(f"{sets(ns)}/down", {"spec": {"replicas": 1}})
    wait_for(lambda: names(kube, ns, "down") == ["down-0"])
    assert ("SuccessfulDelete", "delete Pod down-2 in StatefulSet down successful") in kube.events(ns, "down")


def test_on_delete_waits_for_pods_to_be_deleted(kube: Kube, ns: str):
    kube.create(sets(ns), statefulset("od", replicas=1, updateStrategy={"type": "OnDelete"}))
    wait_for(lambda: names(kube, ns, "od") == ["od-0"])
    ready(kube, ns, "od-0")
    first = kube.get(f"/api/v1/namespaces/{ns}/pods/od-0")["metadata"]["labels"]["controller-revision-hash"]
    kube.patch(f"{sets(ns)}/od", {"spec": {"template": {"metadata": {"annotations": {"v": "2"}}}}})
    wait_for(lambda: kube.get(f"{sets(ns)}/od")["status"].get("updateRevision") not in (None, first))
    assert kube.get(f"/api/v1/namespaces/{ns}/pods/od-0")["metadata"]["labels"]["controller-revision-hash"] == first
    kube.delete(f"/api/v1/namespaces/{ns}/pods/od-0")

    def recreated() -> bool:
        pod = kube.get(f"/api/v1/namespaces/{ns}/pods/od-0")
        return pod is not None and pod["metadata"]["labels"]["controller-revision-hash"] != first

    wait_for(recreated)
