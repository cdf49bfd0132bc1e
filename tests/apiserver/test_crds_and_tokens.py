"""CRDs beyond the kubectl tour (cluster scope, status subresource, validation, discovery) and
ServiceAccount tokens issued by the cluster's own signing key."""

from __future__ import annotations

import time
import uuid

import pytest

from tiphys.cluster.pki import ServiceAccountIdentity, ensure_credentials


def _crd(plural: str, group: str, scope: str) -> dict:
    kind = plural[:-1].capitalize()
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"plural": plural, "singular": plural[:-1], "kind": kind},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
                                "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
                            },
                        }
                    },
                }
            ],
        },
    }


def _wait_established(api, name: str) -> dict:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        crd = api.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}").json()
        conditions = {c["type"]: c["status"] for c in crd.get("status", {}).get("conditions", [])}
        if conditions.get("Established") == "True":
            return crd
        time.sleep(0.05)
    raise AssertionError(f"{name} never became Established")


def test_cluster_scoped_crd_with_status_subresource(cluster):
    group = f"g{uuid.uuid4().hex[:6]}.example.com"
    with cluster.client() as api:
        created = api.post(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=_crd("gadgets", group, "Cluster")
        )
        assert created.status_code == 201, created.text
        crd = _wait_established(api, f"gadgets.{group}")
        assert crd["status"]["acceptedNames"]["listKind"] == "GadgetList"
        assert crd["status"]["storedVersions"] == ["v1"]
        resources = api.get(f"/apis/{group}/v1").json()["resources"]
        assert {r["name"]: r["namespaced"] for r in resources} == {"gadgets": False, "gadgets/status": False}

        url = f"/apis/{group}/v1/gadgets"
        body = {
            "apiVersion": f"{group}/v1",
            "kind": "Gadget",
            "metadata": {"name": "g1"},
            "spec": {"replicas": 2, "unknown": "dropped"},
            "status": {"phase": "ignored"},
        }
        obj = api.post(url, json=body).json()
        assert obj["metadata"]["generation"] == 1
        assert obj["spec"] == {"replicas": 2}  # unknown fields are pruned
        assert "status" not in obj  # the main resource ignores status
        status = api.patch(
            f"{url}/g1/status",
            json={"status": {"phase": "Ready"}},
            headers={"Content-Type": "application/merge-patch+json"},
        ).json()
        assert status["status"] == {"phase": "Ready"}
        assert status["metadata"]["generation"] == 1
        wrong_type = api.post(url, json={"metadata": {"name": "g2"}, "spec": {"replicas": "two"}})
        assert wrong_type.status_code == 400
        smp = api.patch(
            f"{url}/g1",
            json={"spec": {"replicas": 3}},
            headers={"Content-Type": "application/strategic-merge-patch+json"},
        )
        assert smp.status_code == 415
        namespaced_path = api.get(f"/apis/{group}/v1/namespaces/default/gadgets")
        assert namespaced_path.status_code == 404


def test_crd_name_must_be_plural_dot_group(cluster):
    body = _crd("things", "example.org", "Namespaced")
    body["metadata"]["name"] = "wrong.example.org"
    with cluster.client() as api:
        response = api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=body)
    assert response.status_code == 422
    assert (
        'metadata.name: Invalid value: "wrong.example.org": must be spec.names.plural+"."+spec.group'
        in (response.json()["message"])
    )


def test_service_account_tokens_issued_by_the_cluster_are_accepted(cluster):
    credentials = ensure_credentials(cluster.home / "cluster" / "pki")
    token = credentials.issue_service_account_token(ServiceAccountIdentity("default", "default", "uid-1"))
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with cluster.client() as api:
        ok = api.get("/api/v1/namespaces/default/configmaps", headers={"Authorization": f"Bearer {token}"})
        bad = api.get("/api/v1/namespaces/default/configmaps", headers={"Authorization": f"Bearer {forged}"})
    assert ok.status_code == 200
    assert bad.status_code == 401


def test_a_crd_schema_may_require_metadata(kubectl, tmp_path):
    crd = tmp_path / "crd.yaml"
    crd.write_text(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: gadgets.required.example.com}\n"
        "spec:\n  group: required.example.com\n  scope: Namespaced\n"
        "  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}\n"
        "  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n"
        "        type: object\n        required: [metadata, spec]\n"
        "        properties:\n          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}\n"
    )
    kubectl("apply", "-f", str(crd))
    kubectl("wait", "--for=condition=Established", "crd/gadgets.required.example.com", "--timeout=30s")
    gadget = tmp_path / "gadget.yaml"
    gadget.write_text(
        "apiVersion: required.example.com/v1\nkind: Gadget\nmetadata: {name: g1, namespace: default}\nspec: {a: 1}\n"
    )
    assert "created" in kubectl("apply", "-f", str(gadget))
    no_spec = tmp_path / "no-spec.yaml"
    no_spec.write_text("apiVersion: required.example.com/v1\nkind: Gadget\nmetadata: {name: g2, namespace: default}\n")
    with pytest.raises(AssertionError, match="spec: Required value"):
        kubectl("apply", "-f", str(no_spec))
