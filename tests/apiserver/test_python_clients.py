"""The official ``kubernetes`` Python client (typed APIs, watch, dynamic client) against the embedded cluster.

It is an independent client nobody here wrote: what it sends (no Content-Type on POST, strategic
merge for dict patches, ``Accept: application/json``, legacy discovery only) is recorded in
shared/spec/kube-api.md §1. tests/kube/test_kube_client.py drives the same server through lightkube.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def api_client(cluster):
    api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    yield api
    api.close()


@pytest.fixture(scope="module")
def core(api_client):
    return client.CoreV1Api(api_client)


@pytest.fixture
def ns(core):
    name = unique("py")
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


@pytest.fixture
def dyn(api_client, tmp_path):
    # A private discovery cache file: the default one lives in /tmp and outlives the server.
    return dynamic.DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))


def status_of(error: ApiException) -> dict:
    return json.loads(error.body)


def configmap(name: str, labels: dict | None = None, **data: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels), data=data)


def deployment(name: str) -> client.V1Deployment:
    labels = {"app": name}
    container = client.V1Container(name="web", image="nginx:1.27", ports=[client.V1ContainerPort(container_port=80)])
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels), spec=client.V1PodSpec(containers=[container])
            ),
        ),
    )


def crd_manifest(group: str, kind: str, plural: str, scope: str = "Namespaced") -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"},
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
                                "spec": {
                                    "type": "object",
                                    "properties": {"size": {"type": "integer"}, "color": {"type": "string"}},
                                },
                                "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
                            },
                        }
                    },
                }
            ],
        },
    }


def wait_established(read, name: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conditions = (read(name).to_dict().get("status") or {}).get("conditions") or []
        if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
            return
        time.sleep(0.05)
    raise AssertionError(f"CRD {name} never became Established")


def test_configmap_create_read_list_patch_delete(core, ns):
    name = unique("cm")
    created = core.create_namespaced_config_map(ns, configmap(name, labels={"app": "py"}, a="1"))
    assert created.metadata.namespace == ns
    assert created.metadata.uid
    assert core.read_namespaced_config_map(name, ns).data == {"a": "1"}

    core.create_namespaced_config_map(ns, configmap(unique("other"), labels={"app": "other"}))
    listed = core.list_namespaced_config_map(ns, label_selector="app=py")
    assert [cm.metadata.name for cm in listed.items] == [name]
    assert int(listed.metadata.resource_version) >= int(created.metadata.resource_version)

    # A dict body is sent as a strategic merge patch: keys merge, null deletes.
    patched = core.patch_namespaced_config_map(name, ns, {"data": {"b": "2"}})
    assert patched.data == {"a": "1", "b": "2"}
    patched = core.patch_namespaced_config_map(name, ns, {"data": {"a": None}})
    assert patched.data == {"b": "2"}

    deleted = core.delete_namespaced_config_map(name, ns)  # 37.x types this as a plain dict
    assert (deleted["kind"], deleted["status"], deleted["details"]["name"]) == ("Status", "Success", name)
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_config_map(name, ns)
    assert caught.value.status == 404
    assert status_of(caught.value)["reason"] == "NotFound"
    assert status_of(caught.value)["message"] == f'configmaps "{name}" not found'


def test_namespace_create_read_list_delete(core):
    name = unique("nsx")
    created = core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"t": name})))
    assert created.status.phase == "Active"
    assert core.read_namespace(name).metadata.labels["t"] == name
    assert [n.metadata.name for n in core.list_namespace(label_selector=f"t={name}").items] == [name]
    core.delete_namespace(name)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            phase = core.read_namespace(name).status.phase
        except ApiException as e:
            assert e.status == 404
            break
        assert phase == "Terminating"
        time.sleep(0.05)
    else:
        raise AssertionError(f"namespace {name} was never removed")


def test_deployment_create_read_and_strategic_patch_merges_containers_by_name(api_client, ns):
    apps = client.AppsV1Api(api_client)
    name = unique("web")
    created = apps.create_namespaced_deployment(ns, deployment(name))
    assert created.metadata.generation == 1
    assert created.spec.replicas == 2
    assert created.spec.strategy.type == "RollingUpdate"  # defaulted by the server

    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "env": [{"name": "MODE", "value": "x"}]}]}}}}
    patched = apps.patch_namespaced_deployment(name, ns, patch)
    [container] = patched.spec.template.spec.containers
    assert container.image == "nginx:1.27"
    assert [(e.name, e.value) for e in container.env] == [("MODE", "x")]
    assert patched.metadata.generation == 2

    assert [d.metadata.name for d in apps.list_namespaced_deployment(ns).items] == [name]
    apps.delete_namespaced_deployment(name, ns, propagation_policy="Background")


def test_list_pages_with_limit_and_continue_then_delete_collection(core, ns):
    for i in range(5):
        core.create_namespaced_config_map(ns, configmap(f"c{i}", labels={"batch": "1"}))
    first = core.list_namespaced_config_map(ns, limit=2)
    assert [cm.metadata.name for cm in first.items] == ["c0", "c1"]
    assert first.metadata.remaining_item_count == 3
    second = core.list_namespaced_config_map(ns, limit=2, _continue=first.metadata._continue)
    third = core.list_namespaced_config_map(ns, limit=2, _continue=second.metadata._continue)
    assert [cm.metadata.name for cm in second.items + third.items] == ["c2", "c3", "c4"]
    assert not third.metadata._continue

    core.delete_collection_namespaced_config_map(ns, label_selector="batch=1")
    assert core.list_namespaced_config_map(ns, label_selector="batch=1").items == []


def test_dry_run_create_is_answered_but_not_stored(core, ns):
    name = unique("dry")
    preview = core.create_namespaced_config_map(ns, configmap(name, a="1"), dry_run="All")
    assert (preview.metadata.name, preview.data) == (name, {"a": "1"})
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_config_map(name, ns)
    assert caught.value.status == 404


def test_deployment_scale_subresource(api_client, ns):
    apps = client.AppsV1Api(api_client)
    name = unique("web")
    apps.create_namespaced_deployment(ns, deployment(name))
    scale = apps.read_namespaced_deployment_scale(name, ns)
    assert (scale.kind, scale.spec.replicas) == ("Scale", 2)
    assert apps.patch_namespaced_deployment_scale(name, ns, {"spec": {"replicas": 3}}).spec.replicas == 3
    assert apps.read_namespaced_deployment(name, ns).spec.replicas == 3


def test_job_create_and_delete_with_background_propagation(api_client, ns):
    batch = client.BatchV1Api(api_client)
    name = unique("job")
    job = client.V1Job(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1JobSpec(
            backoff_limit=0,
            template=client.V1PodTemplateSpec(
                spec=client.V1PodSpec(
                    restart_policy="Never",
                    containers=[client.V1Container(name="main", image="busybox", command=["true"])],
                )
            ),
        ),
    )
    created = batch.create_namespaced_job(ns, job)
    assert created.metadata.name == name
    assert created.spec.template.spec.restart_policy == "Never"
    # The server adds the controller-uid selector and labels, as upstream does.
    assert created.spec.selector.match_labels
    assert batch.read_namespaced_job(name, ns).metadata.uid == created.metadata.uid
    batch.delete_namespaced_job(name, ns, propagation_policy="Background")


def test_watch_streams_added_modified_deleted_and_ends_at_the_timeout(core, ns):
    start = core.list_namespaced_config_map(ns).metadata.resource_version
    name = unique("w")
    core.create_namespaced_config_map(ns, configmap(name, a="1"))
    core.patch_namespaced_config_map(name, ns, {"data": {"a": "2"}})
    core.delete_namespaced_config_map(name, ns)

    began = time.monotonic()
    events = [
        (event["type"], event["object"].metadata.name, (event["object"].data or {}).get("a"))
        for event in watch.Watch().stream(
            core.list_namespaced_config_map, ns, resource_version=start, timeout_seconds=2
        )
    ]
    assert events == [("ADDED", name, "1"), ("MODIFIED", name, "2"), ("DELETED", name, "2")]
    assert time.monotonic() - began < 10


def test_watch_without_resource_version_lists_existing_objects_first(core, ns):
    name = unique("w")
    core.create_namespaced_config_map(ns, configmap(name))
    stream = watch.Watch()
    for event in stream.stream(core.list_namespaced_config_map, ns, timeout_seconds=5):
        assert (event["type"], event["object"].metadata.name) == ("ADDED", name)
        stream.stop()
        break
    else:
        raise AssertionError("no event")


def test_server_side_apply_creates_then_conflicts_then_forces(core, ns):
    name = unique("ssa")
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "a"}}
    created = core.patch_namespaced_config_map(name, ns, body, field_manager="alice", _content_type=APPLY)
    assert created.data == {"k": "a"}
    assert [(f.manager, f.operation) for f in created.metadata.managed_fields] == [("alice", "Apply")]

    rival = {**body, "data": {"k": "b"}}
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_config_map(name, ns, rival, field_manager="bob", _content_type=APPLY)
    assert caught.value.status == 409
    status = status_of(caught.value)
    assert status["reason"] == "Conflict"
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "alice": .data.k'

    forced = core.patch_namespaced_config_map(name, ns, rival, field_manager="bob", force=True, _content_type=APPLY)
    assert forced.data == {"k": "b"}
    assert [f.manager for f in forced.metadata.managed_fields] == ["bob"]


def test_dynamic_client_on_built_in_kinds(dyn, api_client, ns):
    configmaps = dyn.resources.get(api_version="v1", kind="ConfigMap")
    assert configmaps.namespaced is True
    assert configmaps.name == "configmaps"
    name = unique("dyn")
    configmaps.create(
        body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}}, namespace=ns
    )
    assert configmaps.get(name=name, namespace=ns).data.a == "1"
    patched = configmaps.patch(name=name, namespace=ns, body={"data": {"b": "2"}}, content_type=MERGE)
    assert dict(patched.data) == {"a": "1", "b": "2"}
    assert [i.metadata.name for i in configmaps.get(namespace=ns).items] == [name]
    configmaps.delete(name=name, namespace=ns)

    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    web = unique("web")
    deployments.create(body=api_client.sanitize_for_serialization(deployment(web)), namespace=ns)
    assert deployments.get(name=web, namespace=ns).spec.replicas == 2

    # The Deployment controller may write status meanwhile: the stream starts with ADDED, then follows.
    events = [(e["type"], e["object"].metadata.name) for e in dyn.watch(deployments, namespace=ns, timeout=1)]
    assert events[0] == ("ADDED", web)
    assert {name for _, name in events} == {web}

    namespaces = dyn.resources.get(api_version="v1", kind="Namespace")
    assert namespaces.namespaced is False
    assert namespaces.get(name=ns).status.phase == "Active"


def test_dynamic_client_on_a_freshly_created_crd(dyn, api_client, ns):
    group = f"{uuid.uuid4().hex[:8]}.py.tiphys.test"
    crds = dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    crds.create(body=crd_manifest(group, "Gadget", "gadgets"))
    wait_established(client.ApiextensionsV1Api(api_client).read_custom_resource_definition, f"gadgets.{group}")

    # The dynamic client's discovery was read before the CRD existed; a miss makes it read again.
    gadgets = dyn.resources.get(api_version=f"{group}/v1", kind="Gadget")
    assert (gadgets.name, gadgets.namespaced) == ("gadgets", True)
    body = {"apiVersion": f"{group}/v1", "kind": "Gadget", "metadata": {"name": "g1"}, "spec": {"size": 3}}
    created = gadgets.create(body=body, namespace=ns)
    assert created.metadata.uid
    assert created.metadata.generation == 1

    patched = gadgets.patch(name="g1", namespace=ns, body={"spec": {"color": "red"}}, content_type=MERGE)
    assert (patched.spec.size, patched.spec.color, patched.metadata.generation) == (3, "red", 2)
    status = gadgets.status.patch(name="g1", namespace=ns, body={"status": {"ready": True}}, content_type=MERGE)
    assert status.status.ready is True
    assert status.metadata.generation == 2  # a status write is not a spec change

    applied = gadgets.server_side_apply(
        body={**body, "spec": {"size": 4}}, name="g1", namespace=ns, field_manager="py", force_conflicts=True
    )
    assert applied.spec.size == 4
    assert [i.metadata.name for i in gadgets.get(namespace=ns).items] == ["g1"]

    gadgets.delete(name="g1", namespace=ns)
    with pytest.raises(dynamic.exceptions.NotFoundError):
        gadgets.get(name="g1", namespace=ns)
    crds.delete(name=f"gadgets.{group}")


@pytest.mark.parametrize(
    "action, code, reason",
    [
        pytest.param("create-twice", 409, "AlreadyExists", id="already-exists"),
        pytest.param("read-missing", 404, "NotFound", id="not-found"),
        pytest.param("bad-name", 422, "Invalid", id="invalid-name"),
        pytest.param("stale-replace", 409, "Conflict", id="stale-resource-version"),
    ],
)
def test_errors_are_api_exceptions_with_the_status(core, ns, action, code, reason):
    name = unique("err")
    with pytest.raises(ApiException) as caught:
        if action == "create-twice":
            core.create_namespaced_config_map(ns, configmap(name))
            core.create_namespaced_config_map(ns, configmap(name))
        elif action == "read-missing":
            core.read_namespaced_config_map(name, ns)
        elif action == "bad-name":
            core.create_namespaced_config_map(ns, configmap("Bad_Name"))
        elif action == "stale-replace":
            first = core.create_namespaced_config_map(ns, configmap(name, a="1"))
            core.patch_namespaced_config_map(name, ns, {"data": {"a": "2"}})
            first.data = {"a": "3"}
            core.replace_namespaced_config_map(name, ns, first)
    assert caught.value.status == code
    status = status_of(caught.value)
    assert (status["kind"], status["status"], status["code"], status["reason"]) == ("Status", "Failure", code, reason)
    assert status["message"]


def test_a_bad_token_is_401(cluster):
    configuration = client.Configuration()
    configuration.host = cluster.server
    configuration.ssl_ca_cert = str(cluster.ca)
    configuration.api_key = {"authorization": "Bearer not-the-token"}
    with client.ApiClient(configuration) as api, pytest.raises(ApiException) as caught:
        client.CoreV1Api(api).list_namespace()
    assert caught.value.status == 401
    assert status_of(caught.value)["reason"] == "Unauthorized"
