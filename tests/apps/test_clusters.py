"""Destinations: an Application deploys to a second embedded cluster registered as an Argo CD cluster Secret."""

from __future__ import annotations

import base64
import json
import uuid

from .conftest import app_manifest, configmap, kube_get, wait_until


def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def register(cluster, target, name: str) -> None:
    """The Secret `tiphys cluster add` writes (Argo CD's format), made by hand here."""
    config = {
        "bearerToken": target.token,
        "tlsClientConfig": {"caData": _b64(target.ca.read_bytes()), "insecure": False},
    }
    secret = {
        "metadata": {
            "name": f"cluster-{name}",
            "namespace": "tiphys",
            "labels": {"argocd.argoproj.io/secret-type": "cluster"},
        },
        "data": {"name": _b64(name), "server": _b64(target.server), "config": _b64(json.dumps(config))},
    }
    with cluster.client() as http:
        answer = http.post("/api/v1/namespaces/tiphys/secrets", json=secret)
        assert answer.status_code == 201, answer.text


def test_an_app_deploys_to_a_second_cluster(git_server, apps, controller, cluster, second_cluster):
    name = f"second-{uuid.uuid4().hex[:6]}"
    register(cluster, second_cluster, name)
    repo = git_server.repo("remote", {"app/cm.yaml": configmap("far", where="second")})
    namespace = f"ns-{name}"
    by_name = app_manifest(
        f"{name}-a",
        repo=repo.url,
        path="app",
        namespace=namespace,
        server=None,
        dest_name=name,
        automated=True,
        sync_options=("CreateNamespace=true",),
    )
    apps.create(by_name)
    controller.start()
    status = wait_until(
        lambda: (s := apps.status(f"{name}-a")).get("sync", {}).get("status") == "Synced" and s,
        90,
        message="the app is synced to the second cluster",
    )
    assert status["resources"][0]["name"] == "far"
    far = kube_get(second_cluster, f"/api/v1/namespaces/{namespace}/configmaps/far")
    assert far is not None and far["data"] == {"where": "second"}
    assert kube_get(cluster, f"/api/v1/namespaces/{namespace}/configmaps/far") is None  # not in the home cluster
    # Drift in the second cluster is seen through its own watch.
    with second_cluster.client() as http:
        answer = http.patch(
            f"/api/v1/namespaces/{namespace}/configmaps/far",
            content=json.dumps({"data": {"where": "x"}}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert answer.status_code == 200
    status = wait_until(
        lambda: (s := apps.status(f"{name}-a")).get("sync", {}).get("status") == "OutOfSync" and s,
        30,
        message="the change in the second cluster is noticed (no selfHeal: it stays OutOfSync)",
    )
    assert status["resources"][0]["status"] == "OutOfSync"


def test_an_unknown_destination_is_an_invalid_spec(git_server, apps, controller):
    repo = git_server.repo("nowhere", {"app/cm.yaml": configmap("x")})
    apps.create(app_manifest("nowhere-name", repo=repo.url, path="app", server=None, dest_name="no-such-cluster"))
    apps.create(app_manifest("nowhere-server", repo=repo.url, path="app", server="https://10.9.9.9:6443"))
    controller.start()
    for name, message in (
        ("nowhere-name", "unable to find destination server: there are no clusters with this name: no-such-cluster"),
        ("nowhere-server", "cluster 'https://10.9.9.9:6443' has not been configured"),
    ):
        conditions = wait_until(lambda n=name: apps.status(n).get("conditions"), 60, message=f"{name} has a condition")
        assert [(c["type"], c["message"]) for c in conditions] == [("InvalidSpecError", message)]
        assert apps.sync_status(name) == "Unknown"
