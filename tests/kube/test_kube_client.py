"""``tiphys.kube`` (over lightkube) against the embedded cluster, the way every cluster is reached.

Real server, real HTTPS, no mocks: CRUD on built-in kinds and on a custom resource whose CRD the
test creates, discovery that notices the new CRD, server-side apply and its conflicts, watches,
and the error tree that stops lightkube and httpx2 at the package's edge.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import httpx2
import lightkube
import pytest
import yaml

from tiphys.kube import (
    AlreadyExists,
    Conflict,
    EventType,
    Invalid,
    Kube,
    KubeApiError,
    KubeConnectionError,
    NotFound,
    PatchType,
    Propagation,
    Unauthorized,
    UnknownKind,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def configmap(name: str, namespace: str | None = None, labels: dict | None = None, **data: str) -> dict:
    metadata: dict = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


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
                                "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                            },
                        }
                    },
                }
            ],
        },
    }


@pytest.fixture
async def kube(cluster):
    async with Kube.from_kubeconfig(cluster.kubeconfig) as client:
        yield client


@pytest.fixture
async def ns(kube):
    name = unique("kube")
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


async def wait_established(kube: Kube, name: str, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            crd = await kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
            conditions = crd.get("status", {}).get("conditions", [])
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                return
            await asyncio.sleep(0.05)


# --- built-in kinds --------------------------------------------------------------------------


async def test_discovery_maps_kinds_to_plurals_and_scopes(kube):
    deployments = await kube.resource("apps/v1", "Deployment")
    assert (deployments.plural, deployments.namespaced, deployments.api_version) == ("deployments", True, "apps/v1")
    assert {"status", "scale"} <= deployments.subresources
    assert "watch" in deployments.verbs
    namespaces = await kube.resource("v1", "Namespace")
    assert (namespaces.plural, namespaces.namespaced, namespaces.group) == ("namespaces", False, "")
    assert await kube.discovery.resource_for_plural("apps/v1", "deployments") == deployments


async def test_configmap_create_get_list_patch_replace_delete(kube, ns):
    name = unique("cm")
    created = await kube.create(configmap(name, labels={"app": "kube"}, a="1"), namespace=ns)
    assert type(created) is dict
    assert created["metadata"]["namespace"] == ns
    assert created["metadata"]["managedFields"][0]["manager"] == "tiphys"
    assert (await kube.get("v1", "ConfigMap", name, namespace=ns))["data"] == {"a": "1"}

    await kube.create(configmap(unique("other"), ns, labels={"app": "other"}))
    listed = await kube.list("v1", "ConfigMap", namespace=ns, labels={"app": "kube"})
    assert [cm["metadata"]["name"] for cm in listed.items] == [name]
    assert int(listed.resource_version) >= int(created["metadata"]["resourceVersion"])
    both = await kube.list("v1", "ConfigMap", namespace=ns, labels={"app": ["kube", "other"]}, chunk_size=1)
    assert len(both.items) == 2
    everywhere = await kube.list("v1", "ConfigMap", all_namespaces=True, fields={"metadata.name": name})
    assert [(cm["metadata"]["namespace"], cm["metadata"]["name"]) for cm in everywhere.items] == [(ns, name)]

    merged = await kube.patch("v1", "ConfigMap", name, {"data": {"b": "2"}}, namespace=ns)
    assert merged["data"] == {"a": "1", "b": "2"}
    json_patched = await kube.patch(
        "v1", "ConfigMap", name, [{"op": "remove", "path": "/data/a"}], namespace=ns, patch_type=PatchType.JSON
    )
    assert json_patched["data"] == {"b": "2"}
    strategic = await kube.patch(
        "v1", "ConfigMap", name, {"data": {"c": "3"}}, namespace=ns, patch_type=PatchType.STRATEGIC
    )
    assert strategic["data"] == {"b": "2", "c": "3"}

    replaced = await kube.replace({**strategic, "data": {"z": "26"}})
    assert replaced["data"] == {"z": "26"}
    assert int(replaced["metadata"]["resourceVersion"]) > int(strategic["metadata"]["resourceVersion"])

    assert await kube.delete("v1", "ConfigMap", name, namespace=ns) is None
    with pytest.raises(NotFound):
        await kube.get("v1", "ConfigMap", name, namespace=ns)


async def test_namespaced_calls_default_to_the_context_namespace(kube):
    assert kube.namespace == "default"
    name = unique("cm")
    created = await kube.create(configmap(name))
    assert created["metadata"]["namespace"] == "default"
    await kube.delete("v1", "ConfigMap", name)


async def test_a_namespace_argument_that_contradicts_the_object_is_refused(kube, ns):
    with pytest.raises(ValueError, match="is in namespace 'default', but namespace"):
        await kube.create(configmap(unique("cm"), "default"), namespace=ns)


async def test_generate_name_and_dry_run(kube, ns):
    generated = await kube.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "hook-", "namespace": ns}}
    )
    assert generated["metadata"]["name"].startswith("hook-")
    name = unique("dry")
    preview = await kube.create(configmap(name, ns), dry_run=True)
    assert preview["metadata"]["name"] == name
    with pytest.raises(NotFound):
        await kube.get("v1", "ConfigMap", name, namespace=ns)


async def test_deployment_strategic_patch_merges_containers_by_name(kube, ns):
    name = unique("web")
    labels = {"app": name}
    container = {"name": "web", "image": "nginx:1.27"}
    spec = {
        "replicas": 1,
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
    }
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns}}
    await kube.create({**deployment, "spec": spec})
    env = {"spec": {"template": {"spec": {"containers": [{"name": "web", "env": [{"name": "A", "value": "1"}]}]}}}}
    patched = await kube.patch("apps/v1", "Deployment", name, env, namespace=ns, patch_type=PatchType.STRATEGIC)
    [merged] = patched["spec"]["template"]["spec"]["containers"]
    assert (merged["image"], merged["env"]) == ("nginx:1.27", [{"name": "A", "value": "1"}])
    await kube.delete("apps/v1", "Deployment", name, namespace=ns, propagation=Propagation.FOREGROUND)


async def wait_gone(kube: Kube, api_version: str, kind: str, name: str, namespace: str) -> None:
    async with asyncio.timeout(10):
        while True:
            try:
                await kube.get(api_version, kind, name, namespace=namespace)
            except NotFound:
                return
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("propagation", [Propagation.BACKGROUND, Propagation.FOREGROUND, Propagation.ORPHAN])
async def test_delete_propagation_reaches_the_garbage_collector(kube, ns, propagation):
    owner = await kube.create(configmap(unique("owner"), ns))
    reference = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
    }
    child = configmap(unique("child"), ns)
    child["metadata"]["ownerReferences"] = [reference]
    child_name = (await kube.create(child))["metadata"]["name"]

    await kube.delete("v1", "ConfigMap", owner["metadata"]["name"], namespace=ns, propagation=propagation)
    await wait_gone(kube, "v1", "ConfigMap", owner["metadata"]["name"], ns)
    if propagation is Propagation.ORPHAN:
        orphan = await kube.get("v1", "ConfigMap", child_name, namespace=ns)
        assert "ownerReferences" not in orphan["metadata"]
    else:
        await wait_gone(kube, "v1", "ConfigMap", child_name, ns)


async def test_cluster_scoped_objects_ignore_the_namespace(kube):
    name = unique("cr")
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}}
    created = await kube.create({**role, "rules": []}, namespace="ignored")
    assert "namespace" not in created["metadata"]
    assert (await kube.get("rbac.authorization.k8s.io/v1", "ClusterRole", name))["metadata"]["uid"]
    await kube.delete("rbac.authorization.k8s.io/v1", "ClusterRole", name)


# --- a custom resource of a CRD created here ---------------------------------------------------


async def test_crud_on_a_custom_resource_of_a_crd_created_moments_ago(kube, ns):
    group = f"{uuid.uuid4().hex[:8]}.kube.tiphys.test"
    api_version = f"{group}/v1"
    # Discovery is asked first, so the cache holds "no such kind" when the CRD appears.
    with pytest.raises(UnknownKind) as unknown:
        await kube.resource(api_version, "Gizmo")
    assert unknown.value.status.message.startswith(f'no matches for kind "Gizmo" in version "{api_version}"')

    await kube.create(crd_manifest(group, "Gizmo", "gizmos"))
    await wait_established(kube, f"gizmos.{group}")
    info = await kube.resource(api_version, "Gizmo")
    assert (info.plural, info.namespaced, "status" in info.subresources) == ("gizmos", True, True)

    gizmo = {"apiVersion": api_version, "kind": "Gizmo", "metadata": {"name": "g1", "namespace": ns}}
    created = await kube.create({**gizmo, "spec": {"size": 1}})
    assert created["metadata"]["generation"] == 1
    patched = await kube.patch(api_version, "Gizmo", "g1", {"spec": {"color": "red"}}, namespace=ns)
    assert patched["spec"] == {"size": 1, "color": "red"}
    status = await kube.patch(
        api_version, "Gizmo", "g1", {"status": {"phase": "Ready"}}, namespace=ns, subresource="status"
    )
    assert status["status"] == {"phase": "Ready"}
    assert status["metadata"]["generation"] == 2
    listed = await kube.list(api_version, "Gizmo", namespace=ns)
    assert [g["metadata"]["name"] for g in listed.items] == ["g1"]

    await kube.delete(api_version, "Gizmo", "g1", namespace=ns)
    with pytest.raises(NotFound):
        await kube.get(api_version, "Gizmo", "g1", namespace=ns)
    await kube.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"gizmos.{group}")


async def test_cluster_scoped_custom_resource(kube):
    group = f"{uuid.uuid4().hex[:8]}.kube.tiphys.test"
    await kube.create(crd_manifest(group, "Realm", "realms", scope="Cluster"))
    await wait_established(kube, f"realms.{group}")
    realm = await kube.apply({"apiVersion": f"{group}/v1", "kind": "Realm", "metadata": {"name": "r1"}, "spec": {}})
    assert "namespace" not in realm["metadata"]
    assert (await kube.resource(f"{group}/v1", "Realm")).namespaced is False
    await kube.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"realms.{group}")


async def test_server_side_apply_to_the_status_subresource(kube, ns):
    group = f"{uuid.uuid4().hex[:8]}.kube.tiphys.test"
    await kube.create(crd_manifest(group, "Probe", "probes"))
    await wait_established(kube, f"probes.{group}")
    probe = {"apiVersion": f"{group}/v1", "kind": "Probe", "metadata": {"name": "p1", "namespace": ns}}
    await kube.apply({**probe, "spec": {"size": 1}}, field_manager="user")
    applied = await kube.apply({**probe, "status": {"phase": "Done"}}, subresource="status", field_manager="ctl")
    assert applied["status"] == {"phase": "Done"}
    assert applied["spec"] == {"size": 1}
    entry = next(f for f in applied["metadata"]["managedFields"] if f["manager"] == "ctl")
    assert (entry["operation"], entry["subresource"]) == ("Apply", "status")


# --- server-side apply -------------------------------------------------------------------------


async def test_server_side_apply_creates_updates_and_reports_conflicts(kube, ns):
    name = unique("ssa")
    created = await kube.apply(configmap(name, ns, k="a", keep="1"), field_manager="alice")
    assert created["data"] == {"k": "a", "keep": "1"}
    assert [(f["manager"], f["operation"]) for f in created["metadata"]["managedFields"]] == [("alice", "Apply")]

    with pytest.raises(Conflict) as conflict:
        await kube.apply(configmap(name, ns, k="b"), field_manager="bob")
    assert conflict.value.status.code == 409
    assert conflict.value.status.reason == "Conflict"
    assert conflict.value.status.message == 'Apply failed with 1 conflict: conflict with "alice": .data.k'
    assert isinstance(conflict.value.__cause__, lightkube.ApiError)

    forced = await kube.apply(configmap(name, ns, k="b"), field_manager="bob", force=True)
    assert forced["data"] == {"k": "b", "keep": "1"}
    # alice re-applies without k: she gives the field up, and bob's value stays.
    released = await kube.apply(configmap(name, ns, keep="1"), field_manager="alice")
    assert released["data"] == {"k": "b", "keep": "1"}
    dry = await kube.apply(configmap(name, ns, keep="2"), field_manager="alice", dry_run=True)
    assert dry["data"]["keep"] == "2"
    assert (await kube.get("v1", "ConfigMap", name, namespace=ns))["data"]["keep"] == "1"


# --- watch -------------------------------------------------------------------------------------


async def test_watch_from_a_list_resource_version_sees_every_change(kube, ns):
    start = (await kube.list("v1", "ConfigMap", namespace=ns)).resource_version
    name = unique("w")
    await kube.create(configmap(name, ns, a="1"))
    await kube.patch("v1", "ConfigMap", name, {"data": {"a": "2"}}, namespace=ns)
    await kube.delete("v1", "ConfigMap", name, namespace=ns)

    seen = []
    async with asyncio.timeout(10):
        events = kube.watch("v1", "ConfigMap", namespace=ns, resource_version=start, timeout_seconds=5)
        async with contextlib.aclosing(events):
            async for event in events:
                seen.append((event.type, event.object["metadata"]["name"], event.object["data"]["a"]))
                if event.type is EventType.DELETED:
                    break
    assert seen == [(EventType.ADDED, name, "1"), (EventType.MODIFIED, name, "2"), (EventType.DELETED, name, "2")]


async def test_watch_without_a_version_starts_with_what_exists_then_follows(kube, ns):
    first, second = unique("a"), unique("b")
    await kube.create(configmap(first, ns, labels={"w": "1"}))
    seen = []
    async with asyncio.timeout(10):
        events = kube.watch("v1", "ConfigMap", namespace=ns, labels={"w": "1"}, timeout_seconds=1)
        async with contextlib.aclosing(events):
            async for event in events:
                seen.append((event.type, event.object["metadata"]["name"]))
                if len(seen) == 1:
                    # Created after the watch began and after one server timeout: the watch resumes.
                    await asyncio.sleep(1.5)
                    await kube.create(configmap(second, ns, labels={"w": "1"}))
                if len(seen) == 2:
                    break
    assert seen == [(EventType.ADDED, first), (EventType.ADDED, second)]


async def test_watch_of_an_unknown_kind_raises_at_the_first_step(kube):
    with pytest.raises(UnknownKind):
        async for _ in kube.watch("nothing.tiphys.test/v1", "Nothing"):
            pass


# --- errors ------------------------------------------------------------------------------------


async def test_errors_carry_the_status_and_chain_the_lightkube_error(kube, ns):
    name = unique("err")
    await kube.create(configmap(name, ns))
    with pytest.raises(AlreadyExists) as exists:
        await kube.create(configmap(name, ns))
    assert (exists.value.status.code, exists.value.status.reason) == (409, "AlreadyExists")
    assert exists.value.status.message == f'configmaps "{name}" already exists'
    assert isinstance(exists.value.__cause__, lightkube.ApiError)

    with pytest.raises(NotFound) as missing:
        await kube.get("v1", "ConfigMap", "absent", namespace=ns)
    assert (missing.value.status.code, missing.value.status.reason) == (404, "NotFound")
    assert missing.value.status.details["name"] == "absent"

    with pytest.raises(Invalid) as invalid:
        await kube.create(configmap("Not_Valid", ns))
    assert (invalid.value.status.code, invalid.value.status.reason) == (422, "Invalid")
    assert "Not_Valid" in invalid.value.status.message

    stale = await kube.get("v1", "ConfigMap", name, namespace=ns)
    await kube.patch("v1", "ConfigMap", name, {"data": {"x": "1"}}, namespace=ns)
    with pytest.raises(Conflict) as conflict:
        await kube.replace({**stale, "data": {"x": "2"}})
    assert (conflict.value.status.code, conflict.value.status.reason) == (409, "Conflict")
    assert "the object has been modified" in conflict.value.status.message


async def test_a_bad_token_is_unauthorized(cluster, tmp_path):
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    config["users"][0]["user"]["token"] = "not-the-token"
    path = tmp_path / "bad-token"
    path.write_text(yaml.safe_dump(config))
    async with Kube.from_kubeconfig(path) as kube:
        with pytest.raises(Unauthorized) as caught:
            await kube.get("v1", "Namespace", "default")
    assert (caught.value.status.code, caught.value.status.reason) == (401, "Unauthorized")


async def test_an_unreachable_server_is_a_connection_error(cluster, tmp_path):
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    path = tmp_path / "closed-port"
    path.write_text(yaml.safe_dump(config))
    async with Kube.from_kubeconfig(path, timeout=5) as kube:
        with pytest.raises(KubeConnectionError) as caught:
            await kube.get("v1", "Namespace", "default")
    assert isinstance(caught.value.__cause__, httpx2.ConnectError)
    assert not isinstance(caught.value, KubeApiError)
