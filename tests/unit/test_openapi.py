"""``/openapi/v3``: the index, and documents shaped the way kubectl's readers walk them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tiphys.cluster.apiserver import crds, openapi, schema
from tiphys.cluster.apiserver.resources import Registry

COMPONENTS = "#/components/schemas/"

WIDGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A widget.",
    "properties": {
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "description": "What the widget should be.",
            "properties": {
                "size": {"type": "integer", "description": "How big."},
                "port": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            },
        },
    },
}


def widget_crd(scope: str = "Namespaced", schema_: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": scope,
            "names": {"kind": "Widget", "plural": "widgets"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema_ or WIDGET_SCHEMA},
                }
            ],
        },
    }


def serve(registry: Registry, schemas: schema.Schemas, crd: dict[str, Any]) -> None:
    types = crds.crd_types(crd)
    registry.set_crd(crd["metadata"]["name"], types)
    for rt in types:
        schemas.set_crd(rt.group, rt.version, rt.kind, rt.schema)


@pytest.fixture
def cluster() -> tuple[Registry, schema.Schemas]:
    registry, schemas = Registry(), schema.Schemas()
    serve(registry, schemas, widget_crd())
    return registry, schemas


def served_group_versions() -> list[tuple[str, str]]:
    return [(g, v) for g, versions in Registry().groups() for v in versions]


def walk(node: Any) -> Any:
    """Every dict in a JSON document."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


# --- what kubectl's readers do, re-stated -----------------------------------------------------------


def supports_field_validation(doc: dict[str, Any], gvk: dict[str, str]) -> bool:
    """query_param_verifier_v3.supportsQueryParamV3: the PATCH of the GVK lists fieldValidation."""
    for item in doc["paths"].values():
        op = item.get("patch")
        if op is None or op.get("x-kubernetes-group-version-kind") != gvk:
            continue
        return any(p["name"] == "fieldValidation" and p["in"] == "query" for p in op.get("parameters", ()))
    raise AssertionError(f"no PATCH path for {gvk}")


def explain(doc: dict[str, Any], resource_path: str, field_path: list[str]) -> tuple[dict[str, Any], list[str]]:
    """kubectl explain's template: GVK from a path's operation, the component listing it, then the fields.

    Returns the resolved schema at ``field_path`` and the descriptions printed for it.
    """
    gvk = next(
        op["x-kubernetes-group-version-kind"]
        for op in doc["paths"][resource_path].values()
        if "x-kubernetes-group-version-kind" in op
    )
    schemas = doc["components"]["schemas"]
    node = next(s for _, s in sorted(schemas.items()) if gvk in s.get("x-kubernetes-group-version-kind", ()))

    def resolve(n: dict[str, Any]) -> dict[str, Any]:
        while True:
            if "$ref" in n:
                n = schemas[n["$ref"].removeprefix(COMPONENTS)]
            elif len(n.get("allOf", ())) == 1 and "properties" not in n:
                n = n["allOf"][0]
            else:
                return n

    descriptions: list[str] = []
    for field in field_path:
        prop = resolve(node)["properties"][field]
        target = resolve(prop)
        descriptions = [d for d in (prop.get("description"), target is not prop and target.get("description")) if d]
        node = prop
    return resolve(node), descriptions


# --- index ------------------------------------------------------------------------------------------


def test_index_lists_every_served_group_version_with_its_fingerprint(cluster: Any) -> None:
    registry, _ = cluster
    paths = openapi.index(registry)["paths"]
    assert paths["api/v1"] == {"serverRelativeURL": f"/openapi/v3/api/v1?hash={registry.fingerprint('', 'v1')}"}
    assert paths["apis/apps/v1"]["serverRelativeURL"].startswith("/openapi/v3/apis/apps/v1?hash=")
    assert "apis/example.com/v1" in paths
    assert len(paths) == len([v for _, versions in registry.groups() for v in versions])


def test_index_hash_changes_when_a_crd_changes(cluster: Any) -> None:
    registry, schemas = cluster
    before = openapi.index(registry)["paths"]
    changed = copy.deepcopy(WIDGET_SCHEMA)
    changed["properties"]["spec"]["properties"]["color"] = {"type": "string"}
    serve(registry, schemas, widget_crd(schema_=changed))
    after = openapi.index(registry)["paths"]
    assert after["apis/example.com/v1"] != before["apis/example.com/v1"]
    assert after["apis/apps/v1"] == before["apis/apps/v1"]


# --- documents for built-in group-versions ----------------------------------------------------------


@pytest.mark.parametrize(
    "group, version",
    [pytest.param("nope.example.com", "v1", id="unknown-group"), pytest.param("apps", "v9", id="unknown-version")],
)
def test_unknown_group_version_has_no_document(group: str, version: str) -> None:
    assert openapi.document(Registry(), schema.Schemas(), group, version) is None


@pytest.mark.parametrize(
    "group, version", [pytest.param(g, v, id=f"{g or 'core'}/{v}") for g, v in served_group_versions()]
)
def test_every_writable_kind_advertises_field_validation(group: str, version: str) -> None:
    registry = Registry()
    doc = openapi.document(registry, schema.Schemas(), group, version)
    assert doc is not None
    assert doc["openapi"] == "3.0.0"
    assert doc["info"] == {"title": "Kubernetes", "version": "v1.31.9"}
    for rt in registry.in_group_version(group, version):
        gvk = {"group": group, "kind": rt.kind, "version": version}
        if rt.read_only:
            assert not any(item.get("patch") for item in doc["paths"].values())
        else:
            assert supports_field_validation(doc, gvk), rt.kind


@pytest.mark.parametrize(
    "group, version", [pytest.param(g, v, id=f"{g or 'core'}/{v}") for g, v in served_group_versions()]
)
def test_documents_are_openapi_3_0_and_closed_over_refs(group: str, version: str) -> None:
    doc = openapi.document(Registry(), schema.Schemas(), group, version)
    assert doc is not None
    schemas = doc["components"]["schemas"]
    for node in walk(doc):
        assert not isinstance(node.get("type"), list), node
        ref = node.get("$ref")
        if isinstance(ref, str):  # JSONSchemaProps also has a property that is named "$ref"
            assert ref.startswith(COMPONENTS), ref
            assert ref.removeprefix(COMPONENTS) in schemas, ref
            assert set(node) == {"$ref"}, "siblings of $ref are ignored in OpenAPI 3.0; wrap it in allOf"


def test_paths_for_a_namespaced_kind() -> None:
    doc = openapi.document(Registry(), schema.Schemas(), "batch", "v1")
    assert doc is not None
    collection = doc["paths"]["/apis/batch/v1/namespaces/{namespace}/jobs"]
    item = doc["paths"]["/apis/batch/v1/namespaces/{namespace}/jobs/{name}"]
    everywhere = doc["paths"]["/apis/batch/v1/jobs"]
    assert {k: v["x-kubernetes-action"] for k, v in collection.items() if k != "parameters"} == {
        "get": "list",
        "post": "post",
        "delete": "deletecollection",
    }
    assert {k: v["x-kubernetes-action"] for k, v in item.items() if k != "parameters"} == {
        "get": "get",
        "put": "put",
        "patch": "patch",
        "delete": "delete",
    }
    assert everywhere["get"]["operationId"] == "listBatchV1JobForAllNamespaces"
    assert item["patch"]["operationId"] == "patchBatchV1NamespacedJob"
    assert [p["name"] for p in item["patch"]["parameters"]] == ["dryRun", "fieldManager", "fieldValidation", "force"]
    assert {p["name"]: p["in"] for p in item["parameters"]} == {"name": "path", "namespace": "path", "pretty": "query"}
    assert item["patch"]["x-kubernetes-group-version-kind"] == {"group": "batch", "kind": "Job", "version": "v1"}
    assert "application/strategic-merge-patch+json" in item["patch"]["requestBody"]["content"]


def test_paths_for_a_cluster_scoped_kind() -> None:
    doc = openapi.document(Registry(), schema.Schemas(), "", "v1")
    assert doc is not None
    assert "/api/v1/namespaces/{name}" in doc["paths"]
    assert doc["paths"]["/api/v1/namespaces/{name}"]["patch"]["operationId"] == "patchCoreV1Namespace"
    assert "/api/v1/namespaces/{namespace}/namespaces" not in doc["paths"]
    assert "/api/v1/namespaces/{namespace}/configmaps/{name}" in doc["paths"]


def test_kind_schema_looks_like_upstreams() -> None:
    doc = openapi.document(Registry(), schema.Schemas(), "apps", "v1")
    assert doc is not None
    deployment = doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]
    assert deployment["type"] == "object"
    assert deployment["x-kubernetes-group-version-kind"] == [{"group": "apps", "kind": "Deployment", "version": "v1"}]
    assert deployment["properties"]["apiVersion"] == {
        "description": deployment["properties"]["apiVersion"]["description"],
        "type": "string",
    }
    assert deployment["properties"]["metadata"]["allOf"] == [
        {"$ref": COMPONENTS + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    ]
    assert "io.k8s.api.apps.v1.DeploymentList" in doc["components"]["schemas"]


@pytest.mark.parametrize(
    "name, expected",
    [
        pytest.param(
            "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
            {
                "format": "int-or-string",
                "oneOf": [{"type": "integer"}, {"type": "string"}],
                "x-kubernetes-int-or-string": True,
            },
            id="int-or-string",
        ),
        pytest.param(
            "io.k8s.apimachinery.pkg.api.resource.Quantity",
            {"oneOf": [{"type": "string"}, {"type": "number"}]},
            id="quantity",
        ),
        pytest.param(
            "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
            {"format": "date-time", "type": "string"},
            id="time-is-a-plain-string",
        ),
    ],
)
def test_scalar_definitions(name: str, expected: dict[str, Any]) -> None:
    doc = openapi.document(Registry(), schema.Schemas(), "apps", "v1")
    assert doc is not None
    found = {k: v for k, v in doc["components"]["schemas"][name].items() if k != "description"}
    assert found == expected


def test_strategic_merge_keys_survive() -> None:
    doc = openapi.document(Registry(), schema.Schemas(), "", "v1")
    assert doc is not None
    containers = doc["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["items"] == {"$ref": COMPONENTS + "io.k8s.api.core.v1.Container"}


@pytest.mark.parametrize(
    "group, version, path, fields, expected_type, expected_field",
    [
        pytest.param(
            "apps",
            "v1",
            "/apis/apps/v1/namespaces/{namespace}/deployments",
            ["spec", "template"],
            "PodTemplateSpec",
            "spec",
            id="deployment.spec.template",
        ),
        pytest.param(
            "",
            "v1",
            "/api/v1/namespaces/{namespace}/pods",
            ["spec", "containers"],
            "Container",
            "image",
            id="pod.spec.containers",
        ),
        pytest.param(
            "batch",
            "v1",
            "/apis/batch/v1/namespaces/{namespace}/cronjobs",
            ["spec", "jobTemplate", "spec"],
            "JobSpec",
            "backoffLimit",
            id="cronjob.spec.jobTemplate.spec",
        ),
    ],
)
def test_explain_walks_to_described_fields(
    group: str, version: str, path: str, fields: list[str], expected_type: str, expected_field: str
) -> None:
    doc = openapi.document(Registry(), schema.Schemas(), group, version)
    assert doc is not None
    found, descriptions = explain(doc, path, fields)
    if found.get("type") == "array":
        found = doc["components"]["schemas"][found["items"]["$ref"].removeprefix(COMPONENTS)]
    assert found["description"]
    assert descriptions and all(descriptions)
    assert expected_field in found["properties"]
    assert any(name.endswith("." + expected_type) and s is found for name, s in doc["components"]["schemas"].items())


# --- documents for CRD group-versions ---------------------------------------------------------------


def test_crd_document(cluster: Any) -> None:
    registry, schemas = cluster
    doc = openapi.document(registry, schemas, "example.com", "v1")
    assert doc is not None
    components = doc["components"]["schemas"]
    widget = components["com.example.v1.Widget"]
    assert widget["x-kubernetes-group-version-kind"] == [{"group": "example.com", "kind": "Widget", "version": "v1"}]
    assert widget["properties"]["metadata"]["allOf"] == [
        {"$ref": COMPONENTS + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    ]
    assert widget["properties"]["apiVersion"]["type"] == "string"
    assert widget["properties"]["spec"]["properties"]["port"]["x-kubernetes-int-or-string"] is True
    widget_list = components["com.example.v1.WidgetList"]
    assert widget_list["properties"]["items"]["items"] == {"$ref": COMPONENTS + "com.example.v1.Widget"}
    assert widget_list["x-kubernetes-group-version-kind"][0]["kind"] == "WidgetList"
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry" in components
    patch = doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert supports_field_validation(doc, {"group": "example.com", "kind": "Widget", "version": "v1"})
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]
    found, descriptions = explain(doc, "/apis/example.com/v1/namespaces/{namespace}/widgets", ["spec", "size"])
    assert found["type"] == "integer"
    assert descriptions == ["How big."]
    # The CRD's own schema is not changed in place.
    assert WIDGET_SCHEMA["properties"]["metadata"] == {"type": "object"}


def test_cluster_scoped_crd_paths() -> None:
    registry, schemas = Registry(), schema.Schemas()
    serve(registry, schemas, widget_crd(scope="Cluster"))
    doc = openapi.document(registry, schemas, "example.com", "v1")
    assert doc is not None
    assert set(doc["paths"]) == {"/apis/example.com/v1/widgets", "/apis/example.com/v1/widgets/{name}"}


def test_crd_without_schema_preserves_unknown_fields() -> None:
    registry, schemas = Registry(), schema.Schemas()
    crd = widget_crd()
    del crd["spec"]["versions"][0]["schema"]
    serve(registry, schemas, crd)
    doc = openapi.document(registry, schemas, "example.com", "v1")
    assert doc is not None
    widget = doc["components"]["schemas"]["com.example.v1.Widget"]
    assert widget["x-kubernetes-preserve-unknown-fields"] is True
    assert set(widget["properties"]) == {"apiVersion", "kind", "metadata"}


def test_documents_are_cached_until_the_fingerprint_changes(cluster: Any) -> None:
    registry, schemas = cluster
    first = openapi.document(registry, schemas, "example.com", "v1")
    assert openapi.document(registry, schemas, "example.com", "v1") is first
    changed = copy.deepcopy(WIDGET_SCHEMA)
    changed["properties"]["spec"]["properties"]["color"] = {"type": "string", "description": "Paint."}
    serve(registry, schemas, widget_crd(schema_=changed))
    second = openapi.document(registry, schemas, "example.com", "v1")
    assert second is not first
    assert second is not None
    assert "color" in second["components"]["schemas"]["com.example.v1.Widget"]["properties"]["spec"]["properties"]


def test_removed_crd_group_version_has_no_document(cluster: Any) -> None:
    registry, schemas = cluster
    registry.set_crd("widgets.example.com", [])
    assert openapi.document(registry, schemas, "example.com", "v1") is None
    assert "apis/example.com/v1" not in openapi.index(registry)["paths"]
