"""managedFields and server-side apply, on the objects and write sequences kubectl produces."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tiphys.cluster.apiserver import errors, managed, schema

SCHEMAS = schema.Schemas()
CONFIGMAP = SCHEMAS.root("", "v1", "ConfigMap")
DEPLOYMENT = SCHEMAS.root("apps", "v1", "Deployment")
POD = SCHEMAS.root("", "v1", "Pod")

T0, T1, T2, T3 = "2026-11-26T05:52:50Z", "2026-11-26T05:53:00Z", "2026-11-26T05:54:00Z", "2026-11-26T05:55:00Z"
NGINX = 'k:{"name":"nginx"}'


def configmap(labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "cm1", "namespace": "default"}
    if labels is not None:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": dict(data)}


def deployment(*containers: dict[str, Any], replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": list(containers)}},
        },
    }


def nginx(**extra: Any) -> dict[str, Any]:
    return {"name": "nginx", "image": "nginx:1.27", **extra}


def stored(obj: dict[str, Any], entries: list[dict[str, Any]], rv: str = "1") -> dict[str, Any]:
    """``obj`` as the server stores it: server metadata and the given managedFields."""
    out = copy.deepcopy(obj)
    out["metadata"].update(uid="0b7c5d3e", resourceVersion=rv, creationTimestamp=T0, managedFields=entries)
    return out


def entry(
    manager: str, operation: str, fields: dict[str, Any], *, api_version: str = "v1", time: str = T0
) -> dict[str, Any]:
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }


def apply_cm(
    live: dict[str, Any] | None, intent: dict[str, Any], manager: str = "kubectl", **kw: Any
) -> dict[str, Any]:
    kw.setdefault("force", False)
    return managed.apply(
        live,
        intent,
        manager=manager,
        schema=CONFIGMAP,
        api_version="v1",
        now=kw.pop("now", T1),
        status_subresource=False,
        **kw,
    )


def apply_deploy(
    live: dict[str, Any] | None, intent: dict[str, Any], manager: str = "kubectl", **kw: Any
) -> dict[str, Any]:
    kw.setdefault("force", False)
    return managed.apply(
        live,
        intent,
        manager=manager,
        schema=DEPLOYMENT,
        api_version="apps/v1",
        now=kw.pop("now", T1),
        status_subresource=True,
        **kw,
    )


def update(old: dict[str, Any] | None, new: dict[str, Any], manager: str, **kw: Any) -> list[dict[str, Any]]:
    kw.setdefault("schema", CONFIGMAP)
    kw.setdefault("api_version", "v1")
    kw.setdefault("now", T1)
    return managed.record_update(old, new, manager=manager, **kw)


def managers(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["manager"]: e["fieldsV1"] for e in obj["metadata"].get("managedFields", [])}


# --- fieldsV1 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, fields_v1",
    [
        pytest.param(
            {("f:data", "f:a"), ("f:metadata", "f:labels", "f:app")},
            {"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {"f:app": {}}}},
            id="apply-of-a-configmap",
        ),
        pytest.param(
            {("f:data",), ("f:data", "f:a"), ("f:metadata", "f:labels"), ("f:metadata", "f:labels", "f:app")},
            {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:data": {".": {}, "f:a": {}}},
            id="update-owns-the-maps-themselves",
        ),
        pytest.param(
            {
                ("f:spec", "f:containers", NGINX),
                ("f:spec", "f:containers", NGINX, "f:image"),
                ("f:spec", "f:containers", NGINX, "f:name"),
            },
            {"f:spec": {"f:containers": {NGINX: {".": {}, "f:image": {}, "f:name": {}}}}},
            id="list-map-item",
        ),
        pytest.param(
            {("f:metadata", "f:finalizers", 'v:"example.com/a"')},
            {"f:metadata": {"f:finalizers": {'v:"example.com/a"': {}}}},
            id="set-item",
        ),
        pytest.param(set(), {}, id="nothing"),
    ],
)
def test_encode_and_decode(fields: set[managed.Path], fields_v1: dict[str, Any]) -> None:
    assert managed.encode(fields) == fields_v1
    assert managed.decode(fields_v1) == fields


def test_encode_orders_like_upstream() -> None:
    fields = {
        ("f:spec", "f:ports", 'k:{"port":8080,"protocol":"TCP"}'),
        ("f:spec", "f:ports", 'k:{"port":443,"protocol":"TCP"}'),
        ("f:spec", "f:ports", 'k:{"port":443,"protocol":"TCP"}', "f:port"),
        ("f:spec", "f:type"),
        ("f:spec", "f:clusterIP"),
    }
    encoded = managed.encode(fields)
    assert list(encoded["f:spec"]) == ["f:clusterIP", "f:ports", "f:type"]
    # Keys compare by value, so port 443 sorts before 8080, and "." comes first.
    assert list(encoded["f:spec"]["f:ports"]) == ['k:{"port":443,"protocol":"TCP"}', 'k:{"port":8080,"protocol":"TCP"}']
    assert list(encoded["f:spec"]["f:ports"]['k:{"port":443,"protocol":"TCP"}']) == [".", "f:port"]


# --- which fields an applied configuration owns -------------------------------------------------


@pytest.mark.parametrize(
    "obj, node, status_subresource, expected",
    [
        pytest.param(
            configmap({"app": "demo"}, a="2", b="x"),
            CONFIGMAP,
            False,
            {"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:labels": {"f:app": {}}}},
            id="configmap-of-the-spec-example",
        ),
        pytest.param(
            deployment(nginx(ports=[{"containerPort": 80}], env=[{"name": "MODE", "value": "prod"}])),
            DEPLOYMENT,
            True,
            {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:template": {
                        "f:metadata": {"f:labels": {"f:app": {}}},
                        "f:spec": {
                            "f:containers": {
                                NGINX: {
                                    ".": {},
                                    "f:env": {'k:{"name":"MODE"}': {".": {}, "f:name": {}, "f:value": {}}},
                                    "f:image": {},
                                    "f:name": {},
                                    "f:ports": {
                                        # protocol is a key with default TCP, even when left out.
                                        'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}
                                    },
                                }
                            }
                        },
                    },
                },
            },
            id="deployment-selector-is-atomic-containers-are-keyed",
        ),
        pytest.param(
            {**deployment(nginx()), "status": {"replicas": 2}},
            DEPLOYMENT,
            True,
            None,
            id="status-is-not-owned-on-the-main-resource",
        ),
        pytest.param(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": "p",
                    "uid": "u",
                    "resourceVersion": "3",
                    "generation": 1,
                    "creationTimestamp": T0,
                    "finalizers": ["example.com/a"],
                },
                "spec": {"containers": [{"name": "c", "image": "busybox", "args": ["sleep", "1"]}], "volumes": []},
            },
            POD,
            True,
            {
                "f:metadata": {"f:finalizers": {'v:"example.com/a"': {}}},
                "f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:args": {}, "f:image": {}, "f:name": {}}}},
            },
            id="server-metadata-untracked-args-atomic-empty-list-unowned",
        ),
        pytest.param(
            {
                "apiVersion": "example.com/v1",
                "kind": "Widget",
                "metadata": {"name": "w", "labels": {"a": "b"}},
                "spec": {"size": 3, "tags": ["x"], "empty": {}},
            },
            None,
            False,
            {
                "f:metadata": {"f:labels": {"f:a": {}}},
                "f:spec": {".": {}, "f:empty": {}, "f:size": {}, "f:tags": {}},
            },
            id="schemaless-maps-are-granular-lists-atomic",
        ),
    ],
)
def test_fields_of(obj: dict[str, Any], node: Any, status_subresource: bool, expected: Any) -> None:
    fields = managed.fields_of(obj, node, status_subresource=status_subresource)
    if expected is None:
        assert not any(path[0] == "f:status" for path in fields)
    else:
        assert managed.encode(fields) == expected


@pytest.mark.parametrize(
    "containers, message",
    [
        pytest.param(
            [{"image": "nginx"}],
            "failed to create typed patch object: .spec.template.spec.containers: element 0: associative list "
            'with keys has an element that omits key field "name" (and doesn\'t have default value)',
            id="missing-key",
        ),
        pytest.param(
            [nginx(), nginx()],
            "failed to create typed patch object: .spec.template.spec.containers: "
            'duplicate entries for key [name="nginx"]',
            id="duplicate-key",
        ),
    ],
)
def test_fields_of_rejects_bad_list_maps(containers: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(errors.StatusError) as caught:
        managed.fields_of(deployment(*containers), DEPLOYMENT)
    assert (caught.value.code, caught.value.message) == (400, message)


# --- non-apply writes ----------------------------------------------------------------------------


def test_create_records_the_spec_example() -> None:
    entries = update(None, configmap({"app": "demo"}, a="1"), "kubectl-client-side-apply", now=T0)
    assert entries == [
        entry(
            "kubectl-client-side-apply",
            "Update",
            {"f:data": {".": {}, "f:a": {}}, "f:metadata": {"f:labels": {".": {}, "f:app": {}}}},
        )
    ]


def test_create_of_a_deployment_matches_upstream_shape() -> None:
    # The Go zero value of a Deployment already has spec, template, template.metadata/spec and a null
    # containers list, so those nodes carry no "." while new maps and list items do.
    obj = deployment(nginx(ports=[{"containerPort": 80, "protocol": "TCP"}], resources={}))
    obj["spec"]["template"]["metadata"]["creationTimestamp"] = None
    obj["status"] = {"replicas": 0}
    (created,) = managed.record_update(
        None,
        obj,
        manager="kubectl-create",
        schema=DEPLOYMENT,
        api_version="apps/v1",
        now=T0,
        status_subresource=True,
    )
    assert created["fieldsV1"] == {
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {
                    "f:containers": {
                        NGINX: {
                            ".": {},
                            "f:image": {},
                            "f:name": {},
                            "f:ports": {
                                ".": {},
                                'k:{"containerPort":80,"protocol":"TCP"}': {
                                    ".": {},
                                    "f:containerPort": {},
                                    "f:protocol": {},
                                },
                            },
                            "f:resources": {},
                        }
                    }
                },
            },
        },
    }


@pytest.mark.parametrize(
    "change, first_owns, second_owns",
    [
        pytest.param(
            lambda o: o["data"].update(k="v"),
            {"f:data": {".": {}, "f:a": {}}, "f:metadata": {"f:labels": {".": {}, "f:app": {}}}},
            {"f:data": {"f:k": {}}},
            id="added-field",
        ),
        pytest.param(
            lambda o: o["data"].update(a="2"),
            {"f:data": {}, "f:metadata": {"f:labels": {".": {}, "f:app": {}}}},
            {"f:data": {"f:a": {}}},
            id="changed-field-moves-to-the-writer",
        ),
        pytest.param(
            lambda o: o["metadata"].pop("labels"),
            {"f:data": {".": {}, "f:a": {}}},
            None,
            id="removed-field-leaves-every-owner",
        ),
    ],
)
def test_update_moves_ownership(change: Any, first_owns: dict[str, Any], second_owns: Any) -> None:
    live = stored(configmap({"app": "demo"}, a="1"), update(None, configmap({"app": "demo"}, a="1"), "first", now=T0))
    new = copy.deepcopy(live)
    change(new)
    entries = update(live, new, "second", now=T2)
    owned = {e["manager"]: e["fieldsV1"] for e in entries}
    assert owned["first"] == first_owns
    assert owned.get("second") == second_owns
    if second_owns:
        assert entries[-1] == entry("second", "Update", second_owns, time=T2)


def test_noop_write_keeps_entries_and_time() -> None:
    entries = update(None, configmap(a="1"), "first", now=T0)
    live = stored(configmap(a="1"), entries)
    new = copy.deepcopy(live)  # a PUT carries back the managedFields it read
    again = update(live, new, "second", now=T2)
    assert again == entries
    assert again[0] is new["metadata"]["managedFields"][0]


def test_writer_without_changes_gets_no_entry_but_server_fields_do_not_count() -> None:
    live = stored(configmap(a="1"), update(None, configmap(a="1"), "first", now=T0))
    new = copy.deepcopy(live)
    new["metadata"].update(resourceVersion="9", generation=4, uid="other")
    assert [e["manager"] for e in update(live, new, "second")] == ["first"]


def test_status_write_records_the_subresource_and_only_status() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        "status": {"phase": "Pending"},
    }
    created = managed.record_update(
        None, pod, manager="kubectl-run", schema=POD, api_version="v1", now=T0, status_subresource=True
    )
    assert "f:status" not in created[0]["fieldsV1"]
    live = stored(pod, created)
    new = copy.deepcopy(live)
    new["status"]["phase"] = "Running"
    entries = managed.record_update(
        live, new, manager="kubectl-patch", schema=POD, api_version="v1", now=T1, subresource="status"
    )
    assert entries[-1] == {
        **entry("kubectl-patch", "Update", {"f:status": {"f:phase": {}}}, time=T1),
        "subresource": "status",
    }


def test_main_resource_write_ignores_status_with_a_status_subresource() -> None:
    live = stored(deployment(nginx()), [entry("kubectl", "Apply", {"f:spec": {"f:replicas": {}}})])
    new = copy.deepcopy(live)
    new["status"] = {"replicas": 5}
    entries = managed.record_update(
        live, new, manager="ctl", schema=DEPLOYMENT, api_version="apps/v1", now=T1, status_subresource=True
    )
    assert entries == live["metadata"]["managedFields"]


def test_entries_sort_apply_first_then_by_time() -> None:
    live = stored(
        configmap(a="1", b="2"),
        [
            entry("zz", "Update", {"f:data": {"f:b": {}}}, time=T0),
            entry("kubectl", "Apply", {"f:data": {"f:a": {}}}, time=T2),
        ],
    )
    new = copy.deepcopy(live)
    new["data"]["c"] = "3"
    assert [(e["manager"], e["operation"]) for e in update(live, new, "aa", now=T3)] == [
        ("kubectl", "Apply"),
        ("zz", "Update"),
        ("aa", "Update"),
    ]


# --- clients writing managedFields themselves -------------------------------------------------


@pytest.mark.parametrize(
    "written, expected",
    [
        pytest.param([{}], True, id="one-empty-entry"),
        pytest.param([{}, {}], True, id="several-empty-entries"),
        pytest.param([{"manager": ""}], True, id="zero-valued-entry"),
        pytest.param([], False, id="empty-list-keeps"),
        pytest.param(None, False, id="missing-keeps"),
        pytest.param([{"manager": "x"}], False, id="real-entry"),
    ],
)
def test_is_reset(written: Any, expected: bool) -> None:
    assert managed.is_reset(written) is expected


def test_reset_clears_managed_fields() -> None:
    live = stored(configmap(a="1"), update(None, configmap(a="1"), "first", now=T0))
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = [{}]
    entries = update(live, new, "kubectl-patch")
    assert entries == []
    managed.attach(new, entries)
    assert "managedFields" not in new["metadata"]


def test_written_entries_replace_the_stored_ones() -> None:
    live = stored(configmap(a="1"), update(None, configmap(a="1"), "kubectl-client-side-apply", now=T0))
    migrated = [entry("kubectl", "Apply", {"f:data": {"f:a": {}}}, time=T0)]
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = migrated
    assert update(live, new, "kubectl-patch") == migrated


@pytest.mark.parametrize(
    "written",
    [
        pytest.param([], id="empty"),
        pytest.param([{"manager": "x", "fieldsType": "FieldsV2", "fieldsV1": {}}], id="undecodable"),
        pytest.param("garbage", id="not-a-list"),
    ],
)
def test_unusable_written_entries_keep_the_stored_ones(written: Any) -> None:
    live = stored(configmap(a="1"), update(None, configmap(a="1"), "first", now=T0))
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = written
    assert managed.incoming(live, new) == live["metadata"]["managedFields"]


def test_subresource_write_ignores_written_entries() -> None:
    live = stored(configmap(a="1"), update(None, configmap(a="1"), "first", now=T0))
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = [{}]
    assert managed.incoming(live, new, subresource="status") == live["metadata"]["managedFields"]


# --- server-side apply ---------------------------------------------------------------------------


def test_apply_creates_with_one_apply_entry() -> None:
    intent = configmap({"app": "demo"}, a="2", b="x")
    result = apply_cm(None, intent)
    assert result["data"] == {"a": "2", "b": "x"}
    assert result["metadata"]["managedFields"] == [
        entry(
            "kubectl", "Apply", {"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:labels": {"f:app": {}}}}, time=T1
        )
    ]


def test_reapplying_the_same_intent_is_a_noop() -> None:
    intent = configmap({"app": "demo"}, a="2")
    first = apply_cm(None, intent, now=T1)
    live = stored(first, first["metadata"]["managedFields"])
    again = apply_cm(live, intent, now=T3)
    assert again == live


def test_apply_does_not_mutate_its_inputs() -> None:
    live = stored(configmap(a="1"), update(None, configmap(a="1"), "kubectl-create", now=T0))
    intent = configmap(b="2")
    before_live, before_intent = copy.deepcopy(live), copy.deepcopy(intent)
    apply_cm(live, intent)
    assert (live, intent) == (before_live, before_intent)


def test_conflict_message_matches_upstream() -> None:
    live = stored(configmap(a="1", k="v"), [entry("kubectl-patch", "Update", {"f:data": {"f:k": {}}})])
    with pytest.raises(errors.StatusError) as caught:
        apply_cm(live, configmap(k="other"))
    assert caught.value.body() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'Apply failed with 1 conflict: conflict with "kubectl-patch" using v1: .data.k',
        "reason": "Conflict",
        "details": {
            "causes": [
                {
                    "reason": "FieldManagerConflict",
                    "message": 'conflict with "kubectl-patch" using v1',
                    "field": ".data.k",
                }
            ]
        },
        "code": 409,
    }


def test_conflicts_with_several_managers_are_grouped() -> None:
    live = stored(
        configmap(a="1", b="2", c="3"),
        [
            entry("kubectl-edit", "Update", {"f:data": {"f:a": {}, "f:b": {}}}),
            entry("argocd", "Apply", {"f:data": {"f:c": {}}}),
            entry("ci", "Update", {"f:data": {"f:d": {}}}, api_version="v1"),
        ],
    )
    with pytest.raises(errors.StatusError) as caught:
        apply_cm(live, configmap(a="9", b="9", c="9"))
    assert caught.value.message == (
        "Apply failed with 3 conflicts: "
        'conflicts with "argocd":\n- .data.c\n'
        'conflicts with "kubectl-edit" using v1:\n- .data.a\n- .data.b'
    )
    causes = (caught.value.details or {})["causes"]
    assert [c["field"] for c in causes] == [".data.c", ".data.a", ".data.b"]
    assert causes[0]["message"] == 'conflict with "argocd"'


def test_conflict_path_names_list_items_like_upstream() -> None:
    live = stored(
        deployment(nginx()),
        [
            entry(
                "kubectl-client-side-apply",
                "Update",
                {"f:spec": {"f:template": {"f:spec": {"f:containers": {NGINX: {"f:image": {}}}}}}},
                api_version="apps/v1",
            )
        ],
    )
    with pytest.raises(errors.StatusError) as caught:
        apply_deploy(live, deployment(nginx(image="nginx:1.28")))
    assert caught.value.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: '
        '.spec.template.spec.containers[name="nginx"].image'
    )


def test_conflict_with_a_status_writer_names_the_subresource() -> None:
    status_owner = {**entry("kubelet", "Update", {"f:data": {"f:a": {}}}), "subresource": "status"}
    live = stored(configmap(a="1"), [status_owner])
    with pytest.raises(errors.StatusError) as caught:
        apply_cm(live, configmap(a="2"))
    assert caught.value.message == (
        'Apply failed with 1 conflict: conflict with "kubelet" with subresource "status" using v1: .data.a'
    )


def test_equal_values_are_shared_without_conflict() -> None:
    live = stored(configmap(a="1"), [entry("kubectl-patch", "Update", {"f:data": {"f:a": {}}})])
    result = apply_cm(live, configmap(a="1"))
    assert managers(result) == {"kubectl": {"f:data": {"f:a": {}}}, "kubectl-patch": {"f:data": {"f:a": {}}}}


def test_force_takes_ownership() -> None:
    live = stored(configmap(a="1", k="v"), [entry("kubectl-patch", "Update", {"f:data": {"f:a": {}, "f:k": {}}})])
    result = apply_cm(live, configmap(k="mine"), force=True)
    assert result["data"] == {"a": "1", "k": "mine"}
    assert managers(result) == {"kubectl": {"f:data": {"f:k": {}}}, "kubectl-patch": {"f:data": {"f:a": {}}}}


def test_force_drops_a_manager_left_with_nothing() -> None:
    live = stored(configmap(k="v"), [entry("kubectl-patch", "Update", {"f:data": {"f:k": {}}})])
    result = apply_cm(live, configmap(k="mine"), force=True)
    assert list(managers(result)) == ["kubectl"]


@pytest.mark.parametrize(
    "others, expected_data",
    [
        pytest.param([], {"a": "1"}, id="unshared-field-is-removed"),
        pytest.param(
            [entry("kubectl-edit", "Update", {"f:data": {"f:b": {}}})], {"a": "1", "b": "2"}, id="co-owned-field-stays"
        ),
        pytest.param(
            [entry("helm", "Apply", {"f:data": {"f:b": {}}})], {"a": "1", "b": "2"}, id="field-of-another-applier-stays"
        ),
    ],
)
def test_apply_prunes_what_it_stopped_applying(others: list[dict[str, Any]], expected_data: dict[str, str]) -> None:
    mine = entry("kubectl", "Apply", {"f:data": {"f:a": {}, "f:b": {}}})
    live = stored(configmap(a="1", b="2"), [mine, *others])
    result = apply_cm(live, configmap(a="1"))
    assert result["data"] == expected_data
    assert managers(result)["kubectl"] == {"f:data": {"f:a": {}}}


def test_apply_removes_a_field_it_no_longer_applies_at_all() -> None:
    mine = entry("kubectl", "Apply", {"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {"f:app": {}}}})
    live = stored(configmap({"app": "demo"}, a="1"), [mine])
    result = apply_cm(live, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm1"}})
    assert "data" not in result
    assert "labels" not in result["metadata"]
    assert result["metadata"]["name"] == "cm1"
    assert "managedFields" not in result["metadata"]


def test_apply_merges_containers_by_name_and_keeps_other_managers_items() -> None:
    live_obj = deployment(nginx(env=[{"name": "MODE", "value": "prod"}, {"name": "INJECTED", "value": "1"}]))
    live_obj["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "envoy:1"})
    env: dict[str, Any] = {"f:env": {'k:{"name":"INJECTED"}': {".": {}, "f:name": {}, "f:value": {}}}}
    sidecar: dict[str, Any] = {'k:{"name":"sidecar"}': {".": {}, "f:image": {}, "f:name": {}}}
    injector = entry(
        "injector",
        "Update",
        {"f:spec": {"f:template": {"f:spec": {"f:containers": {NGINX: env, **sidecar}}}}},
        api_version="apps/v1",
    )
    first = apply_deploy(None, deployment(nginx(env=[{"name": "MODE", "value": "prod"}])), now=T0)
    live = stored(live_obj, [*first["metadata"]["managedFields"], injector])

    intent = deployment(
        nginx(image="nginx:1.28", env=[{"name": "MODE", "value": "debug"}, {"name": "NEW", "value": "x"}])
    )
    result = apply_deploy(live, intent)
    containers = result["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["nginx", "sidecar"]
    assert containers[0]["image"] == "nginx:1.28"
    assert containers[0]["env"] == [
        {"name": "MODE", "value": "debug"},
        {"name": "INJECTED", "value": "1"},
        {"name": "NEW", "value": "x"},
    ]


def test_apply_removes_a_container_port_it_stopped_applying() -> None:
    ports = [{"containerPort": 80}, {"containerPort": 443}]
    first = apply_deploy(None, deployment(nginx(ports=ports)), now=T0)
    live = stored(first, first["metadata"]["managedFields"])
    for port in live["spec"]["template"]["spec"]["containers"][0]["ports"]:
        port["protocol"] = "TCP"  # server defaulting
    result = apply_deploy(live, deployment(nginx(ports=[{"containerPort": 80}])))
    assert result["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]


@pytest.mark.parametrize(
    "live_finalizers, applied, expected",
    [
        pytest.param(
            ["example.com/other"], ["example.com/mine"], ["example.com/other", "example.com/mine"], id="union"
        ),
        pytest.param(["example.com/mine"], ["example.com/mine"], ["example.com/mine"], id="no-duplicates"),
    ],
)
def test_apply_finalizers_are_a_set(live_finalizers: list[str], applied: list[str], expected: list[str]) -> None:
    obj = configmap(a="1")
    obj["metadata"]["finalizers"] = live_finalizers
    live = stored(obj, [entry("controller", "Update", {"f:metadata": {"f:finalizers": {".": {}}}})])
    intent = configmap(a="1")
    intent["metadata"]["finalizers"] = applied
    result = apply_cm(live, intent)
    assert result["metadata"]["finalizers"] == expected


def test_apply_replaces_atomic_lists_and_maps() -> None:
    live_obj = deployment(nginx(args=["--a", "--b"]))
    live_obj["spec"]["selector"] = {"matchLabels": {"app": "web", "old": "x"}}
    first = apply_deploy(None, live_obj, now=T0)
    live = stored(first, first["metadata"]["managedFields"])
    intent = deployment(nginx(args=["--c"]))
    result = apply_deploy(live, intent)
    assert result["spec"]["template"]["spec"]["containers"][0]["args"] == ["--c"]
    assert result["spec"]["selector"] == {"matchLabels": {"app": "web"}}


def test_apply_keeps_live_status_with_a_status_subresource() -> None:
    first = apply_deploy(None, deployment(nginx()), now=T0)
    live = stored({**first, "status": {"replicas": 2}}, first["metadata"]["managedFields"])
    result = apply_deploy(live, {**deployment(nginx()), "status": {"replicas": 99}})
    assert result["status"] == {"replicas": 2}
    assert result == live


def test_apply_to_an_object_without_managed_fields_conflicts_with_before_first_apply() -> None:
    live = stored(configmap(a="1"), [])
    del live["metadata"]["managedFields"]
    with pytest.raises(errors.StatusError) as caught:
        apply_cm(live, configmap(a="2"))
    assert caught.value.message == 'Apply failed with 1 conflict: conflict with "before-first-apply" using v1: .data.a'


def test_apply_keeps_server_metadata() -> None:
    live = stored(configmap(a="1"), [entry("kubectl", "Apply", {"f:data": {"f:a": {}}})])
    result = apply_cm(live, configmap(a="2"))
    assert {k: result["metadata"][k] for k in ("uid", "resourceVersion", "creationTimestamp")} == {
        "uid": "0b7c5d3e",
        "resourceVersion": "1",
        "creationTimestamp": T0,
    }
    assert result["metadata"]["managedFields"] == [entry("kubectl", "Apply", {"f:data": {"f:a": {}}}, time=T1)]


@pytest.mark.parametrize(
    "intent, message",
    [
        pytest.param(
            {**configmap(a="1"), "metadata": {"name": "cm1", "managedFields": []}},
            "metadata.managedFields must be nil",
            id="managed-fields-in-intent",
        ),
        pytest.param(
            {**configmap(a="1"), "apiVersion": "v2"},
            "Incorrect version specified in apply patch. Specified patch version: v2, expected: v1",
            id="wrong-version",
        ),
    ],
)
def test_apply_rejects_bad_intents(intent: dict[str, Any], message: str) -> None:
    with pytest.raises(errors.StatusError) as caught:
        apply_cm(None, intent)
    assert (caught.value.code, caught.value.message) == (400, message)


def test_apply_null_removes_the_value_but_owns_the_field() -> None:
    first = apply_cm(None, configmap({"app": "demo", "tier": "web"}, a="1"), now=T0)
    live = stored(first, first["metadata"]["managedFields"])
    intent = configmap({"app": "demo"}, a="1")
    intent["metadata"]["labels"]["tier"] = None
    result = apply_cm(live, intent)
    assert result["metadata"]["labels"] == {"app": "demo"}
    assert managers(result)["kubectl"]["f:metadata"] == {"f:labels": {"f:app": {}, "f:tier": {}}}


@pytest.mark.parametrize(
    "live_names, intent_names, expected",
    [
        pytest.param(["a", "b"], ["b", "a"], ["b", "a"], id="intent-reorders-its-items"),
        pytest.param(["a", "x", "b"], ["b", "a"], ["x", "b", "a"], id="live-only-item-keeps-its-place"),
        pytest.param(["a", "b"], ["a", "new", "b"], ["a", "new", "b"], id="new-item-where-the-intent-puts-it"),
        pytest.param(["a", "x"], ["a", "new"], ["a", "x", "new"], id="new-item-after-live-only-ones"),
    ],
)
def test_apply_orders_keyed_lists(live_names: list[str], intent_names: list[str], expected: list[str]) -> None:
    live_obj = deployment(*({"name": n, "image": "img"} for n in live_names))
    owner = entry("ctl", "Update", {"f:spec": {"f:replicas": {}}}, api_version="apps/v1")
    live = stored(live_obj, [owner])
    result = apply_deploy(live, deployment(*({"name": n, "image": "img"} for n in intent_names)))
    assert [c["name"] for c in result["spec"]["template"]["spec"]["containers"]] == expected


@pytest.mark.parametrize(
    "owned, add, remove",
    [
        pytest.param({("f:data", "f:a")}, {("f:data", "f:b")}, set(), id="add-sibling"),
        pytest.param({("f:data",), ("f:data", "f:a")}, set(), {("f:data", "f:a")}, id="map-keeps-itself"),
        pytest.param({("f:data", "f:a")}, set(), {("f:data", "f:a")}, id="last-leaf-takes-parent"),
        pytest.param({("f:data",)}, {("f:data", "f:a")}, set(), id="leaf-grows-children"),
        pytest.param(
            {("f:spec", "f:c", NGINX), ("f:spec", "f:c", NGINX, "f:image"), ("f:spec", "f:r")},
            {("f:spec", "f:c", 'k:{"name":"a"}')},
            {("f:spec", "f:c", NGINX), ("f:spec", "f:c", NGINX, "f:image")},
            id="swap-list-items",
        ),
        pytest.param({("f:a",)}, set(), {("f:zzz", "f:b")}, id="removing-what-is-not-owned"),
    ],
)
def test_structural_edit_matches_set_algebra(
    owned: set[managed.Path], add: set[managed.Path], remove: set[managed.Path]
) -> None:
    # record_update edits fieldsV1 in place of decode, set algebra, encode: both must agree.
    edited = managed._edit(managed.encode(owned), managed._trie(add), managed._trie(remove))
    assert edited == managed.encode((owned - remove) | add)
    assert list(edited) == list(managed.encode((owned - remove) | add))


def test_update_drops_an_owner_left_with_nothing() -> None:
    live = stored(configmap(a="1", b="2"), [entry("first", "Update", {"f:data": {"f:a": {}}})])
    new = copy.deepcopy(live)
    new["data"]["a"] = "changed"
    assert [e["manager"] for e in update(live, new, "second")] == ["second"]
