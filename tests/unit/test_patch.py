"""The non-apply patch types, on the objects and patches kubectl and the client libraries send."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tiphys.cluster.apiserver import errors, patch, schema

SCHEMAS = schema.Schemas()
DEPLOYMENT = SCHEMAS.root("apps", "v1", "Deployment")
POD = SCHEMAS.root("", "v1", "Pod")
PDB = SCHEMAS.root("policy", "v1", "PodDisruptionBudget")


def configmap(**data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm1", "namespace": "default", "labels": {"app": "demo", "tier": "web"}},
        "data": dict(data),
    }


def container(name: str, image: str = "nginx:1.27", **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": image, **extra}


def deployment(*containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "finalizers": ["example.com/a"]},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": list(containers)},
            },
            **spec,
        },
    }


def pod_spec_patch(spec: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"template": {"spec": spec}}}


def containers_of(obj: dict[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"]
    return containers


def directives(value: Any) -> list[str]:
    """Every `$` key left anywhere in a document."""
    if isinstance(value, dict):
        found = [k for k in value if k.startswith("$")]
        return found + [d for v in value.values() for d in directives(v)]
    if isinstance(value, list):
        return [d for v in value for d in directives(v)]
    return []


# --- RFC 7386 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target, body, expected",
    [
        pytest.param(
            configmap(a="1"),
            {"metadata": {"labels": {"tier": None}}},
            {**configmap(a="1"), "metadata": {"name": "cm1", "namespace": "default", "labels": {"app": "demo"}}},
            id="kubectl-label-minus-deletes",
        ),
        pytest.param(
            configmap(a="1"),
            {"data": {"b": "2"}},
            configmap(a="1", b="2"),
            id="objects-merge",
        ),
        pytest.param(
            deployment(container("main"), container("side")),
            pod_spec_patch({"containers": [container("only", "busybox")]}),
            deployment(container("only", "busybox")),
            id="lists-are-replaced-whole",
        ),
        pytest.param(
            configmap(a="1"),
            {"metadata": {"annotations": {"x": "1", "gone": None}}},
            {
                **configmap(a="1"),
                "metadata": {**configmap()["metadata"], "annotations": {"x": "1"}},
            },
            id="nulls-inside-a-new-object-vanish",
        ),
        pytest.param({"a": {"b": 1}}, {"a": "flat"}, {"a": "flat"}, id="scalar-replaces-object"),
        pytest.param({"a": "flat"}, {"a": {"b": 1}}, {"a": {"b": 1}}, id="object-replaces-scalar"),
        pytest.param({"a": 1}, ["x"], ["x"], id="non-object-patch-replaces-the-document"),
        pytest.param({}, {}, {}, id="empty-patch"),
    ],
)
def test_merge_patch(target: Any, body: Any, expected: Any) -> None:
    before = copy.deepcopy(target)
    assert patch.merge_patch(target, body) == expected
    assert target == before


def test_merge_patch_result_shares_nothing_with_target() -> None:
    target = configmap(a="1")
    result = patch.merge_patch(target, {"data": {"b": "2"}})
    result["metadata"]["labels"]["new"] = "x"
    assert "new" not in target["metadata"]["labels"]


# --- RFC 6902 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ops, expected_data, expected_labels",
    [
        pytest.param(
            [{"op": "add", "path": "/metadata/labels/c", "value": "d"}],
            {"a": "1"},
            {"app": "demo", "tier": "web", "c": "d"},
            id="add-label",
        ),
        pytest.param(
            [{"op": "remove", "path": "/metadata/labels/tier"}], {"a": "1"}, {"app": "demo"}, id="remove-label"
        ),
        pytest.param([{"op": "replace", "path": "/data/a", "value": "2"}], {"a": "2"}, None, id="replace"),
        pytest.param([{"op": "move", "from": "/data/a", "path": "/data/b"}], {"b": "1"}, None, id="move"),
        pytest.param([{"op": "copy", "from": "/data/a", "path": "/data/b"}], {"a": "1", "b": "1"}, None, id="copy"),
        pytest.param(
            [{"op": "test", "path": "/data/a", "value": "1"}, {"op": "replace", "path": "/data/a", "value": "3"}],
            {"a": "3"},
            None,
            id="test-then-replace",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/labels/example.com~1team", "value": "x"}],
            {"a": "1"},
            {"app": "demo", "tier": "web", "example.com/team": "x"},
            id="tilde-one-is-slash",
        ),
    ],
)
def test_json_patch(ops: list[dict[str, Any]], expected_data: Any, expected_labels: Any) -> None:
    target = configmap(a="1")
    before = copy.deepcopy(target)
    result = patch.json_patch(target, ops)
    assert result["data"] == expected_data
    assert result["metadata"]["labels"] == (expected_labels or before["metadata"]["labels"])
    assert target == before


def test_json_patch_appends_with_dash() -> None:
    result = patch.json_patch(
        deployment(container("main")),
        [{"op": "add", "path": "/spec/template/spec/containers/-", "value": container("side", "busybox")}],
    )
    assert [c["name"] for c in containers_of(result)] == ["main", "side"]


def test_json_patch_can_rewrite_managed_fields() -> None:
    # kubectl's client-side-apply migration (csaupgrade) does exactly this.
    target = configmap(a="1")
    target["metadata"]["managedFields"] = [{"manager": "kubectl-client-side-apply", "operation": "Update"}]
    entries = [{"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": {}}]
    result = patch.json_patch(target, [{"op": "replace", "path": "/metadata/managedFields", "value": entries}])
    assert result["metadata"]["managedFields"] == entries


@pytest.mark.parametrize(
    "ops",
    [
        pytest.param([{"op": "test", "path": "/data/a", "value": "other"}], id="test-fails"),
        pytest.param([{"op": "remove", "path": "/data/missing"}], id="remove-missing"),
        pytest.param([{"op": "replace", "path": "/data/missing", "value": "x"}], id="replace-missing"),
        pytest.param([{"op": "add", "path": "/spec/missing/x", "value": "x"}], id="add-under-missing-parent"),
        pytest.param([{"op": "test", "path": "/data/a", "value": 1}], id="test-compares-types"),
    ],
)
def test_json_patch_failed_operation_is_422(ops: list[dict[str, Any]]) -> None:
    with pytest.raises(errors.StatusError) as caught:
        patch.json_patch(configmap(a="1"), ops)
    assert caught.value.body() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "the server rejected our request due to an error in our request",
        "reason": "Invalid",
        "details": {},
        "code": 422,
    }


@pytest.mark.parametrize(
    "ops",
    [
        pytest.param({"op": "add", "path": "/a", "value": 1}, id="object-not-list"),
        pytest.param(["add"], id="list-of-strings"),
        pytest.param([{"op": "frobnicate", "path": "/a"}], id="unknown-op"),
        pytest.param([{"path": "/a", "value": 1}], id="missing-op"),
        pytest.param([{"op": "add", "value": 1}], id="missing-path"),
        pytest.param([{"op": "add", "path": "data/a", "value": 1}], id="path-without-slash"),
        pytest.param([{"op": "add", "path": "/data/b"}], id="missing-value"),
        pytest.param([{"op": "move", "path": "/data/b"}], id="missing-from"),
        pytest.param([{"op": "replace", "path": "", "value": ["not", "an", "object"]}], id="result-not-object"),
    ],
)
def test_json_patch_malformed_is_400(ops: Any) -> None:
    with pytest.raises(errors.StatusError) as caught:
        patch.json_patch(configmap(a="1"), ops)
    assert (caught.value.code, caught.value.reason) == (400, "BadRequest")


def test_json_patch_too_many_operations_is_413() -> None:
    ops = [{"op": "test", "path": "/data/a", "value": "1"}] * (patch.MAX_JSON_PATCH_OPERATIONS + 1)
    with pytest.raises(errors.StatusError) as caught:
        patch.json_patch(configmap(a="1"), ops)
    assert caught.value.code == 413
    assert caught.value.message == (
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
    )


# --- strategic merge patch: what `kubectl apply` (client side) sends ----------------------------


def test_kubectl_apply_changed_image_keeps_container_order() -> None:
    live = deployment(container("main"), container("side", "busybox:1"))
    body = pod_spec_patch(
        {
            "$setElementOrder/containers": [{"name": "main"}, {"name": "side"}],
            "containers": [{"image": "nginx:1.28", "name": "main"}],
        }
    )
    result = patch.strategic_merge_patch(live, body, DEPLOYMENT)
    assert containers_of(result) == [container("main", "nginx:1.28"), container("side", "busybox:1")]


def test_kubectl_apply_set_element_order_places_new_container() -> None:
    live = deployment(container("main"), container("side", "busybox:1"))
    body = pod_spec_patch(
        {
            "$setElementOrder/containers": [{"name": "side"}, {"name": "init-proxy"}, {"name": "main"}],
            "containers": [{"image": "envoy:1", "name": "init-proxy"}],
        }
    )
    result = patch.strategic_merge_patch(live, body, DEPLOYMENT)
    assert [c["name"] for c in containers_of(result)] == ["side", "init-proxy", "main"]
    assert directives(result) == []


def test_kubectl_apply_added_env_var_and_removed_port() -> None:
    live = deployment(
        container(
            "main",
            env=[{"name": "MODE", "value": "prod"}],
            ports=[{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "protocol": "TCP"}],
        )
    )
    body = pod_spec_patch(
        {
            "$setElementOrder/containers": [{"name": "main"}],
            "containers": [
                {
                    "$setElementOrder/env": [{"name": "MODE"}, {"name": "LOG_LEVEL"}],
                    "$setElementOrder/ports": [{"containerPort": 80}],
                    "env": [{"name": "LOG_LEVEL", "value": "debug"}],
                    "name": "main",
                    "ports": [{"$patch": "delete", "containerPort": 443}],
                }
            ],
        }
    )
    result = patch.strategic_merge_patch(live, body, DEPLOYMENT)
    (main,) = containers_of(result)
    assert main["env"] == [{"name": "MODE", "value": "prod"}, {"name": "LOG_LEVEL", "value": "debug"}]
    assert main["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert directives(result) == []


@pytest.mark.parametrize(
    "live_names, order, expected",
    [
        # A server-only item goes before the first patch item that the live list has after it.
        pytest.param(["a", "injected", "b"], ["b", "a"], ["injected", "b", "a"], id="before-a-later-item"),
        pytest.param(["a", "b", "injected"], ["b", "a"], ["b", "a", "injected"], id="last-stays-last"),
        pytest.param(["injected", "a", "b"], ["a", "b"], ["injected", "a", "b"], id="first-stays-first"),
    ],
)
def test_kubectl_apply_weaves_in_server_only_items(
    live_names: list[str], order: list[str], expected: list[str]
) -> None:
    live = deployment(*(container(n) for n in live_names))
    body = pod_spec_patch({"$setElementOrder/containers": [{"name": n} for n in order]})
    result = patch.strategic_merge_patch(live, body, DEPLOYMENT)
    assert [c["name"] for c in containers_of(result)] == expected


def test_kubectl_apply_strategy_change_uses_retain_keys() -> None:
    live = deployment(container("main"))
    body = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    result = patch.strategic_merge_patch(live, body, DEPLOYMENT)
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_retain_keys_on_a_volume_switches_its_source() -> None:
    live = deployment(container("main"))
    live["spec"]["template"]["spec"]["volumes"] = [{"name": "cfg", "configMap": {"name": "cm1"}}]
    body = pod_spec_patch(
        {
            "$setElementOrder/volumes": [{"name": "cfg"}],
            "volumes": [{"$retainKeys": ["emptyDir", "name"], "emptyDir": {}, "name": "cfg"}],
        }
    )
    result = patch.strategic_merge_patch(live, body, DEPLOYMENT)
    assert result["spec"]["template"]["spec"]["volumes"] == [{"name": "cfg", "emptyDir": {}}]


# --- strategic merge patch: the rules one by one ---------------------------------------------------


@pytest.mark.parametrize(
    "live, body, path, expected",
    [
        pytest.param(
            deployment(container("main")),
            {"metadata": {"finalizers": ["example.com/b", "example.com/a"]}},
            ("metadata", "finalizers"),
            ["example.com/b", "example.com/a"],
            id="finalizers-are-a-set",
        ),
        pytest.param(
            deployment(container("main")),
            {"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/a"], "finalizers": ["example.com/b"]}},
            ("metadata", "finalizers"),
            ["example.com/b"],
            id="delete-from-primitive-list",
        ),
        pytest.param(
            deployment(container("main")),
            {
                "metadata": {
                    "$setElementOrder/finalizers": ["example.com/a", "example.com/b"],
                    "finalizers": ["example.com/b"],
                }
            },
            ("metadata", "finalizers"),
            ["example.com/a", "example.com/b"],
            id="set-element-order-on-primitives",
        ),
        pytest.param(
            deployment(container("main", args=["--a", "--b"])),
            pod_spec_patch({"containers": [{"name": "main", "args": ["--c"]}]}),
            ("spec", "template", "spec", "containers", 0, "args"),
            ["--c"],
            id="list-without-strategy-is-replaced",
        ),
        pytest.param(
            deployment(container("main", resources={"limits": {"cpu": "1"}})),
            pod_spec_patch({"containers": [{"name": "main", "resources": None}]}),
            ("spec", "template", "spec", "containers", 0),
            container("main"),
            id="null-deletes-a-key-in-a-list-item",
        ),
        pytest.param(
            deployment(container("main"), container("side")),
            pod_spec_patch({"containers": [{"name": "side", "$patch": "delete"}]}),
            ("spec", "template", "spec", "containers"),
            [container("main")],
            id="patch-delete-removes-a-list-item",
        ),
        pytest.param(
            deployment(container("main"), container("side")),
            pod_spec_patch({"containers": [{"$patch": "replace"}, container("solo", "busybox")]}),
            ("spec", "template", "spec", "containers"),
            [container("solo", "busybox")],
            id="patch-replace-in-a-list-replaces-it",
        ),
        pytest.param(
            deployment(container("main")),
            {"spec": {"selector": {"$patch": "replace", "matchLabels": {"app": "other"}}}},
            ("spec", "selector"),
            {"matchLabels": {"app": "other"}},
            id="patch-replace-in-a-map",
        ),
        pytest.param(
            deployment(container("main")),
            {"spec": {"strategy": {"$patch": "delete"}}},
            ("spec", "strategy"),
            {},
            id="patch-delete-in-a-map-empties-it-as-upstream",
        ),
        pytest.param(
            deployment(container("main")),
            {"metadata": {"ownerReferences": [{"uid": "u1", "kind": "App", "name": "a", "apiVersion": "x/v1"}]}},
            ("metadata", "ownerReferences"),
            [{"uid": "u1", "kind": "App", "name": "a", "apiVersion": "x/v1"}],
            id="owner-references-merge-by-uid",
        ),
        pytest.param(
            deployment(container("main", env=[{"name": "A", "value": "1"}])),
            pod_spec_patch({"containers": [{"name": "main", "env": [{"name": "A", "value": "2"}]}]}),
            ("spec", "template", "spec", "containers", 0, "env"),
            [{"name": "A", "value": "2"}],
            id="patch-item-updates-the-matching-element",
        ),
        pytest.param(
            deployment(container("main")),
            pod_spec_patch({"containers": [{"name": "main"}], "nodeSelector": {"disk": "ssd", "gone": None}}),
            ("spec", "template", "spec", "nodeSelector"),
            {"disk": "ssd"},
            id="new-map-drops-its-nulls",
        ),
    ],
)
def test_strategic_merge_rules(
    live: dict[str, Any], body: dict[str, Any], path: tuple[Any, ...], expected: Any
) -> None:
    before = copy.deepcopy(live)
    result: Any = patch.strategic_merge_patch(live, body, DEPLOYMENT)
    for step in path:
        result = result[step]
    assert result == expected
    assert live == before


def test_plain_strategic_patch_puts_new_items_first_like_upstream() -> None:
    # Without $setElementOrder upstream orders patch items (new ones included) before server-only ones.
    live = deployment(container("main", env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]))
    body = pod_spec_patch({"containers": [{"name": "main", "env": [{"name": "C", "value": "3"}]}]})
    result = patch.strategic_merge_patch(live, body, DEPLOYMENT)
    assert [e["name"] for e in containers_of(result)[0]["env"]] == ["C", "A", "B"]


def test_replace_strategy_on_a_map_from_the_property() -> None:
    # PodDisruptionBudgetSpec.selector is `patchStrategy: replace`, written beside its $ref.
    selector = {"matchLabels": {"app": "web", "tier": "fe"}}
    live = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "p"},
        "spec": {"selector": selector},
    }
    body = {"spec": {"selector": {"matchLabels": {"app": "api"}}}}
    result = patch.strategic_merge_patch(live, body, PDB)
    assert result["spec"]["selector"] == {"matchLabels": {"app": "api"}}


def test_without_schema_lists_are_replaced() -> None:
    live = {"spec": {"items": [{"name": "a"}, {"name": "b"}]}}
    result = patch.strategic_merge_patch(live, {"spec": {"items": [{"name": "c"}]}}, None)
    assert result == {"spec": {"items": [{"name": "c"}]}}


def test_pod_containers_merge_by_name() -> None:
    live = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [container("a")]}}
    body = {"spec": {"containers": [{"name": "a", "image": "nginx:2"}]}}
    result = patch.strategic_merge_patch(live, body, POD)
    assert result["spec"]["containers"] == [container("a", "nginx:2")]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"metadata": {"$frobnicate": 1}}, id="unknown-directive"),
        pytest.param({"spec": {"$patch": "merge"}}, id="unknown-map-patch-type"),
        pytest.param(pod_spec_patch({"containers": [{"image": "x"}]}), id="item-without-merge-key"),
        pytest.param(pod_spec_patch({"containers": [{"$patch": "delete"}]}), id="delete-without-merge-key"),
        pytest.param(pod_spec_patch({"containers": [{"$patch": "merge"}]}), id="merge-directive-in-list"),
        pytest.param(pod_spec_patch({"containers": [{"$patch": "explode", "name": "main"}]}), id="bad-list-patch"),
        pytest.param(
            pod_spec_patch(
                {
                    "$setElementOrder/containers": [{"name": "side"}, {"name": "main"}],
                    "containers": [{"name": "main"}, {"name": "side"}],
                }
            ),
            id="patch-list-out-of-set-element-order",
        ),
        pytest.param(pod_spec_patch({"$setElementOrder/containers": "main"}), id="set-element-order-not-list"),
        pytest.param({"metadata": {"$deleteFromPrimitiveList/finalizers": "x"}}, id="delete-list-not-list"),
        pytest.param({"spec": {"strategy": {"$retainKeys": "type"}}}, id="retain-keys-not-list"),
        pytest.param(
            {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 1}}}},
            id="patch-key-outside-retain-keys",
        ),
    ],
)
def test_strategic_merge_malformed_is_400(body: dict[str, Any]) -> None:
    live = deployment(container("main"), container("side"))
    with pytest.raises(errors.StatusError) as caught:
        patch.strategic_merge_patch(live, body, DEPLOYMENT)
    assert (caught.value.code, caught.value.reason) == (400, "BadRequest")


def test_strategic_merge_out_of_order_message_names_the_directive() -> None:
    body = pod_spec_patch(
        {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}], "containers": [{"name": "a"}, {"name": "b"}]}
    )
    with pytest.raises(errors.StatusError) as caught:
        patch.strategic_merge_patch(deployment(container("a"), container("b")), body, DEPLOYMENT)
    assert "doesn't match $setElementOrder list" in caught.value.message
