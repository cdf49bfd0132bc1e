"""The per-write fast paths against what they replace or must keep: pure logic, no server.

The creating manager's fieldsV1 is built in one walk (``managed._create``) and must equal the
general ``encode(_created(...))``; the schema walks over compiled nodes (``schemawalk``) must
keep upstream's decoding errors, unknown-field handling, omitempty and required fields.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from tiphys.cluster.apiserver import errors, managed, schema, validation
from tiphys.cluster.apiserver.managed import _create, _fields, _shape
from tiphys.cluster.apiserver.resources import Registry

SCHEMAS = schema.Schemas()
REGISTRY = Registry()


def rt_of(group: str, plural: str) -> Any:
    rt = REGISTRY.lookup(group, "v1", plural)
    assert rt is not None
    return rt


def root_of(rt: Any) -> schema.Node | None:
    return SCHEMAS.root(rt.group, rt.version, rt.kind)


CONTAINER = {
    "name": "web",
    "image": "nginx:1.27",
    "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
    "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
    "resources": {},
    "args": [],
}
OBJECTS: list[tuple[str, str, dict[str, Any]]] = [
    ("", "configmaps", {"metadata": {"name": "c", "labels": {"a": "b"}}, "data": {"x": "1", "y": ""}}),
    ("", "configmaps", {"metadata": {"name": "c"}, "data": {}, "immutable": False}),
    ("", "configmaps", {"metadata": {"name": "c"}}),
    (
        "apps",
        "deployments",
        {
            "metadata": {"name": "d", "annotations": {"n": "1"}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "d"}},
                "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [CONTAINER]}},
            },
        },
    ),
    ("apps", "deployments", {"metadata": {"name": "d"}, "spec": {"template": {}, "strategy": {}}}),
    ("apps", "deployments", {"metadata": {"name": "d"}, "spec": {}}),
    (
        "",
        "pods",
        {
            "metadata": {"name": "p", "finalizers": ["a/b", "c/d"]},
            "spec": {"containers": [CONTAINER], "initContainers": [{"name": "i", "image": "busybox"}]},
            "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]},
        },
    ),
    ("", "services", {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80, "name": "h"}], "selector": {}}}),
    (
        "apps",
        "statefulsets",
        {
            "metadata": {"name": "st"},
            "spec": {
                "serviceName": "s",
                "volumeClaimTemplates": [{"metadata": {"name": "d"}, "spec": {"accessModes": ["ReadWriteOnce"]}}],
            },
        },
    ),
    (
        "rbac.authorization.k8s.io",
        "roles",
        {"metadata": {"name": "r"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
    ),
]


@pytest.mark.parametrize(("group", "plural", "obj"), OBJECTS, ids=[f"{p}-{i}" for i, (_, p, _) in enumerate(OBJECTS)])
@pytest.mark.parametrize("status_subresource", [False, True])
def test_the_creators_fields_v1_in_one_walk_equal_the_general_encoding(group, plural, obj, status_subresource):
    root = _shape._root(root_of(rt_of(group, plural)))
    view = _fields._view(obj, status_subresource=status_subresource, subresource=None)
    expected = managed.encode(_fields._created(view, root))
    built = _create.created_fields_v1(view, root)
    assert built == expected
    assert orjson.dumps(built) == orjson.dumps(expected)  # the same key order, as stored and served


def test_schemaless_objects_and_repeated_list_keys_take_the_general_path():
    view = {"spec": {"a": [1, {"b": None}], "c": {}}, "metadata": {"labels": {"x": "y"}}}
    root = _shape._root(None)
    assert _create.created_fields_v1(view, root) == managed.encode(_fields._created(view, root))
    pod_root = _shape._root(root_of(rt_of("", "pods")))
    twice = {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]}}
    assert _create.created_fields_v1(twice, pod_root) is None
    (entry,) = managed.record_update(
        None, twice, manager="m", schema=root_of(rt_of("", "pods")), api_version="v1", now="T"
    )
    assert entry["fieldsV1"] == managed.encode(_fields._created(twice, pod_root))


def test_a_create_records_one_update_entry_for_its_manager():
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "uid": "u"}, "data": {"k": "v"}}
    entries = managed.record_update(
        None, obj, manager="kubectl", schema=root_of(rt_of("", "configmaps")), api_version="v1", now="T"
    )
    assert list(entries[0]) == ["manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1"]
    assert entries == [
        {
            "manager": "kubectl",
            "operation": "Update",
            "apiVersion": "v1",
            "time": "T",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {".": {}, "f:k": {}}},
        }
    ]
    bare = {"metadata": {"name": "c"}}
    assert managed.record_update(None, bare, manager="m", schema=None, api_version="v1", now="T") == []


# Decoding -------------------------------------------------------------------------------------


def decode(group: str, plural: str, obj: dict[str, Any], mode: str = "Warn") -> tuple[list[str], dict[str, Any]]:
    rt = rt_of(group, plural)
    copied = copy.deepcopy(obj)
    return validation.check_decoding(rt, root_of(rt), copied, mode), copied


def test_unknown_fields_are_reported_in_order_at_every_depth_and_dropped():
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "bogus": 1},
        "spec": {
            "replicas": 1,
            "extra": True,
            "template": {"spec": {"containers": [{"name": "c", "image": "i", "colour": "red"}]}},
        },
        "top": {},
    }
    warnings, kept = decode("apps", "deployments", obj)
    assert warnings == [
        'unknown field "metadata.bogus"',
        'unknown field "spec.extra"',
        'unknown field "spec.template.spec.containers[0].colour"',
        'unknown field "top"',
    ]
    assert "bogus" not in kept["metadata"] and "extra" not in kept["spec"] and "top" not in kept
    assert kept["spec"]["template"]["spec"]["containers"] == [{"name": "c", "image": "i"}]
    assert decode("apps", "deployments", obj, "Ignore") == ([], kept)
    with pytest.raises(errors.StatusError) as failed:
        decode("apps", "deployments", obj, "Strict")
    assert failed.value.code == 400
    assert failed.value.message == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'unknown field "metadata.bogus", unknown field "spec.extra", '
        'unknown field "spec.template.spec.containers[0].colour", unknown field "top"'
    )


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"data": {"k": 1}}, "json: cannot unmarshal number into Go struct field data.k of type string"),
        ({"data": "x"}, "json: cannot unmarshal string into Go struct field data of type map"),
        ({"immutable": "yes"}, "json: cannot unmarshal string into Go struct field immutable of type bool"),
        ({"metadata": {"name": "c", "labels": {"a": True}}}, "json: cannot unmarshal bool into Go struct field "
         "metadata.labels.a of type string"),
        ({"metadata": {"name": "c", "finalizers": [1]}}, "json: cannot unmarshal number into Go struct field "
         "metadata.finalizers[0] of type string"),
    ],
)  # fmt: skip
def test_type_errors_name_the_field_and_the_go_type(obj, message):
    with pytest.raises(errors.StatusError) as failed:
        decode("", "configmaps", {"metadata": {"name": "c"}, **obj})
    assert failed.value.code == 400
    assert failed.value.message == 'ConfigMap in version "v1" cannot be handled as a ConfigMap: ' + message


def test_bools_are_not_integers_but_int_or_string_takes_both_and_nulls_pass():
    port = {"metadata": {"name": "s"}, "spec": {"ports": [{"port": True}]}}
    with pytest.raises(errors.StatusError, match=r"cannot unmarshal bool into Go struct field spec.ports\[0\].port"):
        decode("", "services", port)
    for target in (8080, "http", None):
        ok = {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80, "targetPort": target}], "type": None}}
        assert decode("", "services", ok) == ([], ok)


def test_custom_resources_keep_preserved_fields_and_prune_the_rest():
    crd_schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {"replicas": {"type": "integer"}, "free": {"x-kubernetes-preserve-unknown-fields": True}},
            }
        },
    }
    rt = rt_of("", "configmaps")  # any type: the schema decides
    obj = {"apiVersion": "x/v1", "kind": "W", "metadata": {}, "spec": {"replicas": 2, "free": {"a": [1]}, "no": 1}}
    assert validation.check_decoding(rt, crd_schema, obj, "Warn") == ['unknown field "spec.no"']
    assert obj["spec"] == {"replicas": 2, "free": {"a": [1]}}


# Omitempty and required fields ------------------------------------------------------------------


def test_normalize_drops_empty_maps_and_optional_lists_but_keeps_required_and_struct_fields():
    rt = rt_of("", "pods")
    pod = {
        "metadata": {"name": "p", "labels": {}, "finalizers": []},
        "spec": {"containers": [{"name": "c", "image": "i", "args": [], "env": []}], "nodeSelector": {}},
        "status": {},
    }
    validation.normalize(rt, root_of(rt), pod)
    assert pod == {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": {}}
    empty = {"metadata": {"name": "p"}, "spec": {"containers": []}}
    validation.normalize(rt, root_of(rt), empty)
    assert empty == {"metadata": {"name": "p"}, "spec": {"containers": []}}  # required: stays


def test_missing_required_fields_are_each_named():
    rt = rt_of("rbac.authorization.k8s.io", "rolebindings")
    binding = {"metadata": {"name": "b"}, "subjects": [{"name": "x"}, {"kind": "User"}]}
    with pytest.raises(errors.StatusError) as failed:
        validation.validate_create(rt, root_of(rt), binding)
    causes = failed.value.body()["details"]["causes"]
    assert [(c["field"], c["message"]) for c in causes] == [
        ("roleRef", "Required value"),
        ("subjects[0].kind", "Required value"),
        ("subjects[1].name", "Required value"),
    ]
