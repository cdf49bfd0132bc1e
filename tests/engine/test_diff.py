"""Three-way diff and client-side apply patches (kubectl's ``CreateThreeWayMergePatch``), Secrets masked."""

from __future__ import annotations

import base64
import json

import pytest

from tiphys.engine import compare
from tiphys.engine.diff import LAST_APPLIED, with_last_applied
from tiphys.engine.merge import apply_patch, three_way_patch
from tiphys.engine.schema import root


def deployment(image="nginx:1", env=None, replicas=None):
    container = {"name": "web", "image": image}
    if env is not None:
        container["env"] = env
    spec = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": spec,
    }


def served(desired, **server_fields):
    """What the server returns after applying ``desired``: defaults, status, metadata it owns."""
    live = with_last_applied(desired)
    live["metadata"].update(
        uid="u1",
        resourceVersion="7",
        creationTimestamp="2024-01-01T00:00:00Z",
        managedFields=[{"manager": "kubectl"}],
        generation=1,
    )
    live["spec"].setdefault("replicas", 1)
    live["spec"]["template"]["spec"]["containers"][0].setdefault("imagePullPolicy", "IfNotPresent")
    live["spec"]["template"]["spec"].setdefault("restartPolicy", "Always")
    live["status"] = {"replicas": 1}
    live.update(server_fields)
    return live


def test_server_defaults_and_metadata_are_not_a_difference():
    assert not compare(deployment(), served(deployment())).modified


def test_a_changed_image_is_a_difference_shown_as_yaml():
    result = compare(deployment(image="nginx:2"), served(deployment()))
    assert result.modified
    text = result.unified("apps/Deployment/apps/web")
    assert "-      - image: nginx:1" in text and "+      - image: nginx:2" in text
    assert "managedFields" not in text and "resourceVersion" not in text


def test_a_field_removed_from_the_manifest_is_a_difference_only_if_it_was_applied():
    applied = deployment(replicas=3)
    assert compare(deployment(), served(applied)).modified  # replicas: 3 was ours, now dropped
    assert not compare(deployment(), served(deployment())).modified  # replicas: 1 is the server's default


def test_merge_keyed_lists_merge_element_by_element():
    desired = deployment(env=[{"name": "A", "value": "1"}])
    live = served(deployment(env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]))
    patch = three_way_patch(
        json.loads(live["metadata"]["annotations"][LAST_APPLIED]),
        desired,
        live,
        node=root("apps", "v1", "Deployment"),
        strategic=True,
    )
    containers = patch["spec"]["template"]["spec"]["containers"]
    assert containers == [{"name": "web", "env": [{"name": "B", "$patch": "delete"}]}]
    result = apply_patch(live, patch, node=root("apps", "v1", "Deployment"), strategic=True)
    container = result["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "A", "value": "1"}]
    assert container["imagePullPolicy"] == "IfNotPresent"  # the server's default survives


def test_custom_resources_get_a_json_merge_patch_with_whole_lists():
    live = {"apiVersion": "example.io/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"items": [1, 2]}}
    desired = {**live, "spec": {"items": [3]}}
    assert three_way_patch(None, desired, live) == {"spec": {"items": [3]}}


@pytest.mark.parametrize(
    "desired_value, live_value, modified",
    [pytest.param("s3cret", "s3cret", False, id="same"), pytest.param("n3w", "0ld", True, id="changed")],
)
def test_secret_values_never_show(desired_value, live_value, modified):
    desired = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "apps"},
        "stringData": {"password": desired_value},
    }
    live = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "apps"},
        "data": {"password": base64.b64encode(live_value.encode()).decode()},
    }
    result = compare(desired, live)
    assert result.modified is modified
    text = result.unified("secret")
    for secret in (desired_value, live_value, base64.b64encode(live_value.encode()).decode()):
        assert secret not in text and secret not in repr(result)
    assert result.predicted["data"]["password"] == "++++++++"
    assert result.live["data"]["password"] == ("++++++++" if not modified else "++++++++++++")


def test_a_new_object_is_all_difference():
    result = compare(deployment(), None)
    assert result.modified and result.live is None
    assert result.unified("web").startswith("--- live/web")
