"""``spec.ignoreDifferences`` rules: which objects, which fields, stripped for a diff and respected on sync."""

from __future__ import annotations

import json

from tiphys.engine import IgnoreRule, compare
from tiphys.engine.ignore import ignored_paths, respect, strip


def deployment(replicas: int, image: str = "web:1", **annotations: str) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod", "annotations": annotations},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "web", "image": image}, {"name": "proxy", "image": "p:1"}]}},
        },
    }


def test_rules_read_argo_cd_field_names_and_match_by_group_kind_name_namespace():
    rule = IgnoreRule.from_json({"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]})
    assert rule.json_pointers == ("/spec/replicas",) and rule.matches(deployment(1))
    assert IgnoreRule(group="apps", kind="*").matches(deployment(1))
    assert not IgnoreRule(group="", kind="Deployment").matches(deployment(1))
    assert not IgnoreRule(group="apps", kind="Deployment", name="other").matches(deployment(1))
    assert not IgnoreRule(group="apps", kind="Deployment", namespace="dev").matches(deployment(1))


def test_json_pointer_fields_are_left_out_of_the_diff():
    rule = IgnoreRule(group="apps", kind="Deployment", json_pointers=("/spec/replicas",))
    assert compare(deployment(3), deployment(5)).modified
    assert not compare(deployment(3), deployment(5), ignore=[rule]).modified
    assert compare(deployment(3, image="web:2"), deployment(5), ignore=[rule]).modified


def test_jq_path_expressions_select_list_elements():
    rule = IgnoreRule(
        group="apps",
        kind="Deployment",
        jq_path_expressions=('.spec.template.spec.containers[] | select(.name == "web") | .image',),
    )
    assert not compare(deployment(1, image="web:2"), deployment(1), ignore=[rule]).modified
    paths = ignored_paths([rule], deployment(1))
    assert paths == [("spec", "template", "spec", "containers", 0, "image")]
    stripped = strip(deployment(1), paths)
    assert stripped["spec"]["template"]["spec"]["containers"][0] == {"name": "web"}
    assert stripped["spec"]["template"]["spec"]["containers"][1]["image"] == "p:1"


def test_managed_fields_managers_ignore_what_that_manager_owns():
    live = deployment(7)
    live["metadata"]["managedFields"] = [
        {"manager": "hpa", "operation": "Update", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
        {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {"f:template": {}}}},
    ]
    rule = IgnoreRule(group="apps", kind="Deployment", managed_fields_managers=("hpa",))
    assert ignored_paths([rule], deployment(1), live=live) == [("spec", "replicas")]
    assert not compare(deployment(1), live, ignore=[rule]).modified


def test_respect_copies_live_values_into_the_target_and_drops_what_live_lacks():
    rule = IgnoreRule(group="apps", kind="Deployment", json_pointers=("/spec/replicas", "/metadata/annotations/x"))
    target = deployment(1, x="from-git")
    live = deployment(9)
    respected = respect(target, live, [rule])
    assert respected["spec"]["replicas"] == 9
    assert "x" not in respected["metadata"]["annotations"]
    assert target["spec"]["replicas"] == 1, "the target itself is a value: not changed in place"


def test_respect_never_touches_status_and_ignores_rules_of_other_kinds():
    rule = IgnoreRule(kind="*", group="*", json_pointers=("/status",))
    live = {**deployment(2), "status": {"replicas": 2}}
    assert "status" not in respect(deployment(2), live, [rule])
    other = IgnoreRule(group="", kind="ConfigMap", json_pointers=("/spec/replicas",))
    assert respect(deployment(1), deployment(9), [other])["spec"]["replicas"] == 1


def test_bad_rules_are_reported():
    rule = IgnoreRule(kind="Deployment", json_pointers=("spec/replicas",), jq_path_expressions=(".spec[",))
    problems = rule.problems()
    assert any("must start with '/'" in p for p in problems)
    assert any(".spec[" in p for p in problems)
    assert json.dumps(problems)
