"""PersistentVolumeClaims bound to local directories through the default StorageClass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .helpers import Kube, wait_for


def claim(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, **spec},
    }


def claims(ns: str) -> str:
    return f"/api/v1/namespaces/{ns}/persistentvolumeclaims"


def test_the_default_storage_class_exists(kube: Kube):
    sc = kube.get("/apis/storage.k8s.io/v1/storageclasses/standard")
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert sc["provisioner"] == "tiphys.io/local-path"


def test_a_claim_is_bound_to_a_new_local_volume_and_both_go_together(kube: Kube, ns: str, cluster):
    created = kube.create(claims(ns), claim("data"))
    assert created["spec"]["storageClassName"] == "standard"
    assert created["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    bound = wait_for(lambda: (c := kube.get(f"{claims(ns)}/data"))["status"].get("phase") == "Bound" and c)
    pv_name = f"pvc-{created['metadata']['uid']}"
    assert bound["spec"]["volumeName"] == pv_name
    assert bound["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}
    assert bound["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    pv = wait_for(
        lambda: (v := kube.get(f"/api/v1/persistentvolumes/{pv_name}"))["status"].get("phase") == "Bound" and v
    )
    assert pv["spec"]["claimRef"]["name"] == "data" and pv["spec"]["claimRef"]["uid"] == created["metadata"]["uid"]
    assert pv["spec"]["storageClassName"] == "standard"
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    path = Path(pv["spec"]["hostPath"]["path"])
    assert path.is_dir() and path.is_relative_to(cluster.home)
    events = [r for r, _ in kube.events(ns, "data")]
    assert "ProvisioningSucceeded" in events

    kube.delete(f"{claims(ns)}/data")
    wait_for(lambda: kube.get(f"/api/v1/persistentvolumes/{pv_name}") is None, what="the volume to be reclaimed")
    assert kube.get(f"{claims(ns)}/data") is None
    assert not path.exists()


def test_a_claim_of_an_unknown_class_stays_pending(kube: Kube, ns: str):
    kube.create(claims(ns), claim("odd", storageClassName="gold"))
    wait_for(lambda: ("ProvisioningFailed", 'storageclass.storage.k8s.io "gold" not found') in kube.events(ns, "odd"))
    assert kube.get(f"{claims(ns)}/odd")["status"]["phase"] == "Pending"


def test_a_claim_binds_to_a_matching_available_volume(kube: Kube, ns: str, tmp_path: Path):
    name = f"manual-{ns}"
    kube.create(
        "/api/v1/persistentvolumes",
        {
            "metadata": {"name": name, "labels": {"disk": ns}},
            "spec": {
                "capacity": {"storage": "5Gi"},
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "",
                "persistentVolumeReclaimPolicy": "Retain",
                "hostPath": {"path": str(tmp_path)},
            },
        },
    )
    wait_for(lambda: kube.get(f"/api/v1/persistentvolumes/{name}")["status"].get("phase") == "Available")
    kube.create(claims(ns), claim("static", storageClassName="", selector={"matchLabels": {"disk": ns}}))
    bound = wait_for(lambda: (c := kube.get(f"{claims(ns)}/static"))["status"].get("phase") == "Bound" and c)
    assert bound["spec"]["volumeName"] == name
    assert bound["status"]["capacity"] == {"storage": "5Gi"}
    kube.delete(f"{claims(ns)}/static")
    wait_for(lambda: kube.get(f"/api/v1/persistentvolumes/{name}")["status"].get("phase") == "Released")
    assert tmp_path.exists()
    kube.delete(f"/api/v1/persistentvolumes/{name}")
    wait_for(lambda: kube.get(f"/api/v1/persistentvolumes/{name}") is None)
