"""Wire-level behaviour of the embedded API server, checked with a raw HTTP client.

These pin what kubectl and the client libraries rely on (tests/apiserver/test_kubectl.py drives the
same server with the real kubectl): Status bodies, resourceVersion rules, no-op writes, watch
semantics, pagination, selectors, dry runs, body limits and auth.
"""

from __future__ import annotations

import json
import threading
import uuid

import httpx
import pytest

CM = "/api/v1/namespaces/default/configmaps"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def configmap(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


@pytest.fixture
def api(cluster):
    with cluster.client() as client:
        yield client


def test_requests_without_a_valid_token_get_401(cluster):
    with cluster.client() as client:
        bad = client.get(CM, headers={"Authorization": "Bearer nope"})
        missing = client.get(CM, headers={"Authorization": ""})
        public = client.get("/version", headers={"Authorization": ""})
    assert bad.status_code == 401
    assert bad.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    assert missing.status_code == 401
    assert public.status_code == 200
    assert public.json()["minor"] == "31"


def test_create_sets_server_fields_and_get_returns_them(api):
    name = unique("cm")
    created = api.post(CM, json=configmap(name, a="1"))
    assert created.status_code == 201, created.text
    meta = created.json()["metadata"]
    assert meta["namespace"] == "default"
    assert uuid.UUID(meta["uid"])
    assert meta["creationTimestamp"].endswith("Z")
    assert int(meta["resourceVersion"]) > 0
    assert "generation" not in meta
    fetched = api.get(f"{CM}/{name}").json()
    assert fetched == created.json()


def test_a_create_clears_deletion_fields_sent_with_the_object(api):
    """POST and a server-side apply that creates both store a live object, never one being deleted."""
    deleting = {"deletionTimestamp": "2024-01-01T00:00:00Z", "deletionGracePeriodSeconds": 30}
    posted, applied = unique("cm"), unique("cm")
    body = configmap(posted, a="1")
    body["metadata"].update(deleting)
    assert api.post(CM, json=body).status_code == 201
    body = configmap(applied, a="1")
    body["metadata"].update(deleting)
    answer = api.patch(
        f"{CM}/{applied}",
        params={"fieldManager": "test"},
        content=json.dumps(body),
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert answer.status_code == 201, answer.text
    for name in (posted, applied):
        stored = api.get(f"{CM}/{name}")
        assert stored.status_code == 200, stored.text
        meta = stored.json()["metadata"]
        assert "deletionTimestamp" not in meta and "deletionGracePeriodSeconds" not in meta


def test_create_twice_is_409_already_exists(api):
    name = unique("cm")
    assert api.post(CM, json=configmap(name)).status_code == 201
    again = api.post(CM, json=configmap(name))
    assert again.status_code == 409
    assert again.json()["reason"] == "AlreadyExists"
    assert again.json()["message"] == f'configmaps "{name}" already exists'


def test_missing_object_is_404_with_upstream_message(api):
    response = api.get("/apis/batch/v1/namespaces/default/jobs/nope")
    assert response.status_code == 404
    body = response.json()
    assert body["message"] == 'jobs.batch "nope" not found'
    assert body["details"] == {"name": "nope", "group": "batch", "kind": "jobs"}


def test_unknown_resource_is_404(api):
    response = api.get("/apis/example.com/v1/namespaces/default/widgets")
    assert response.status_code == 404
    assert response.json()["message"] == "the server could not find the requested resource"


def test_generate_name_appends_five_characters(api):
    response = api.post(CM, json={"metadata": {"generateName": "hook-"}, "data": {}})
    assert response.status_code == 201
    name = response.json()["metadata"]["name"]
    assert name.startswith("hook-") and len(name) == len("hook-") + 5


def test_name_or_generate_name_is_required(api):
    response = api.post(CM, json={"metadata": {}})
    assert response.status_code == 422
    assert response.json()["message"] == (
        'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required'
    )


def test_invalid_and_overlong_names_are_422(api):
    bad = api.post(CM, json=configmap("Bad_Name"))
    assert bad.status_code == 422
    assert bad.json()["message"].startswith('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"')
    long = api.post(CM, json=configmap("a" * 254))
    assert long.status_code == 422
    assert "must be no more than 253 characters" in long.json()["message"]


def test_malformed_bodies_are_400_and_change_nothing(api):
    before = api.get(CM).json()["metadata"]["resourceVersion"]
    broken = api.post(CM, content=b'{"metadata": {"name": ', headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    assert broken.json()["reason"] == "BadRequest"
    yaml_broken = api.post(CM, content=b"metadata: [unclosed", headers={"Content-Type": "application/yaml"})
    assert yaml_broken.status_code == 400
    wrong_kind = api.post(CM, json={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": unique("x")}})
    assert wrong_kind.status_code == 400
    assert api.get(CM).json()["metadata"]["resourceVersion"] == before


def test_bodies_over_the_cap_are_413(api):
    huge = configmap(unique("big"), blob="x" * (10 * 1024 * 1024))
    response = api.post(CM, json=huge)
    assert response.status_code == 413
    assert response.json()["reason"] == "RequestEntityTooLarge"


def test_protobuf_and_unknown_patch_types_are_415(api):
    name = unique("cm")
    api.post(CM, json=configmap(name))
    proto = api.post(CM, content=b"k8s\x00", headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
    assert proto.status_code == 415
    patch = api.patch(f"{CM}/{name}", content=b"{}", headers={"Content-Type": "application/x-unknown"})
    assert patch.status_code == 415
    assert patch.json()["reason"] == "UnsupportedMediaType"


def test_missing_content_type_is_read_as_json(api):
    name = unique("cm")
    response = api.post(CM, content=json.dumps(configmap(name)).encode(), headers={"Content-Type": ""})
    assert response.status_code == 201


def test_put_with_stale_resource_version_is_409_conflict(api):
    name = unique("cm")
    created = api.post(CM, json=configmap(name, a="1")).json()
    stale = dict(created, data={"a": "2"})
    assert api.put(f"{CM}/{name}", json=stale).status_code == 200
    again = api.put(f"{CM}/{name}", json=dict(created, data={"a": "3"}))
    assert again.status_code == 409
    assert again.json()["message"] == (
        f'Operation cannot be fulfilled on configmaps "{name}": the object has been modified; please apply your '
        "changes to the latest version and try again"
    )


def test_noop_write_keeps_resource_version_and_emits_no_event(api, cluster):
    name = unique("cm")
    created = api.post(CM, json=configmap(name, a="1")).json()
    rv = created["metadata"]["resourceVersion"]
    same = api.patch(
        f"{CM}/{name}", json={"data": {"a": "1"}}, headers={"Content-Type": "application/merge-patch+json"}
    ).json()
    assert same["metadata"]["resourceVersion"] == rv
    changed = api.patch(
        f"{CM}/{name}", json={"data": {"a": "2"}}, headers={"Content-Type": "application/merge-patch+json"}
    ).json()
    with cluster.client() as watcher:
        events = watcher.get(
            CM,
            params={
                "watch": "true",
                "resourceVersion": rv,
                "timeoutSeconds": "1",
                "fieldSelector": f"metadata.name={name}",
            },
        )
    lines = [json.loads(line) for line in events.text.splitlines()]
    assert [(e["type"], e["object"]["metadata"]["resourceVersion"]) for e in lines] == [
        ("MODIFIED", changed["metadata"]["resourceVersion"])
    ]


def test_generation_bumps_on_spec_change_only(api):
    name = unique("job")
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "suspend": True,
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "busybox"}]}},
        },
    }
    url = "/apis/batch/v1/namespaces/default/jobs"
    created = api.post(url, json=job).json()
    assert created["metadata"]["generation"] == 1
    labelled = api.patch(
        f"{url}/{name}",
        json={"metadata": {"labels": {"x": "y"}}},
        headers={"Content-Type": "application/merge-patch+json"},
    ).json()
    assert labelled["metadata"]["generation"] == 1
    resumed = api.patch(
        f"{url}/{name}", json={"spec": {"suspend": False}}, headers={"Content-Type": "application/merge-patch+json"}
    ).json()
    assert resumed["metadata"]["generation"] == 2
    status = api.patch(
        f"{url}/{name}/status", json={"status": {"active": 1}}, headers={"Content-Type": "application/merge-patch+json"}
    ).json()
    assert status["metadata"]["generation"] == 2
    assert status["status"]["active"] == 1


def test_job_template_is_immutable(api):
    name = unique("job")
    url = "/apis/batch/v1/namespaces/default/jobs"
    job = {
        "metadata": {"name": name},
        "spec": {
            "suspend": True,
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "busybox"}]}},
        },
    }
    api.post(url, json=job)
    response = api.patch(
        f"{url}/{name}",
        json={"spec": {"template": {"spec": {"containers": [{"name": "m", "image": "busybox:2"}]}}}},
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["reason"] == "Invalid"
    assert body["message"].startswith(f'Job.batch "{name}" is invalid: spec.template: Invalid value: ')
    assert body["message"].endswith("field is immutable")


def test_status_is_ignored_on_the_main_resource(api):
    name = unique("job")
    url = "/apis/batch/v1/namespaces/default/jobs"
    job = {
        "metadata": {"name": name},
        "status": {"succeeded": 5},
        "spec": {
            "suspend": True,
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "busybox"}]}},
        },
    }
    created = api.post(url, json=job).json()
    assert "succeeded" not in created.get("status", {})


def test_strict_field_validation_rejects_unknown_fields(api):
    body = configmap(unique("cm"))
    body["spec"] = {"x": 1}
    strict = api.post(CM, params={"fieldValidation": "Strict"}, json=body)
    assert strict.status_code == 400
    assert strict.json()["message"] == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "spec"'
    )
    warned = api.post(CM, params={"fieldValidation": "Warn"}, json=body)
    assert warned.status_code == 201
    assert warned.headers["warning"] == '299 - "unknown field \\"spec\\""'
    assert "spec" not in warned.json()


def test_dry_run_never_persists(api):
    name = unique("cm")
    before = api.get(CM).json()["metadata"]["resourceVersion"]
    response = api.post(CM, params={"dryRun": "All"}, json=configmap(name))
    assert response.status_code == 201
    assert response.json()["metadata"]["uid"]
    assert "resourceVersion" not in response.json()["metadata"]
    assert api.get(f"{CM}/{name}").status_code == 404
    assert api.get(CM).json()["metadata"]["resourceVersion"] == before
    assert api.post(CM, params={"dryRun": "Some"}, json=configmap(name)).status_code == 400


def test_label_selectors_equality_and_sets(api):
    ns = unique("sel")
    api.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
    for name, labels in [
        ("a", {"tier": "web", "env": "prod"}),
        ("b", {"tier": "db", "env": "prod"}),
        ("c", {"tier": "web"}),
    ]:
        api.post(f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": name, "labels": labels}})

    def names(selector: str) -> list[str]:
        body = api.get(f"/api/v1/namespaces/{ns}/configmaps", params={"labelSelector": selector}).json()
        return [item["metadata"]["name"] for item in body["items"]]

    assert names("tier=web") == ["a", "c"]
    assert names("tier!=web") == ["b"]
    assert names("tier in (web,db),env") == ["a", "b"]
    assert names("env notin (prod)") == ["c"]
    assert names("!env") == ["c"]
    bad = api.get(f"/api/v1/namespaces/{ns}/configmaps", params={"labelSelector": "a=(b"})
    assert bad.status_code == 400


def test_field_selectors(api):
    name = unique("cm")
    api.post(CM, json=configmap(name))
    body = api.get("/api/v1/configmaps", params={"fieldSelector": f"metadata.name={name}"}).json()
    assert [i["metadata"]["name"] for i in body["items"]] == [name]
    bad = api.get(CM, params={"fieldSelector": "data.x=1"})
    assert bad.status_code == 400
    assert bad.json()["message"] == "field label not supported: data.x"


def test_pagination_with_limit_and_continue(api):
    ns = unique("page")
    api.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
    for i in range(7):
        api.post(f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": f"cm-{i}"}})
    seen, token, pages = [], None, 0
    while True:
        params = {"limit": "3"} | ({"continue": token} if token else {})
        body = api.get(f"/api/v1/namespaces/{ns}/configmaps", params=params).json()
        seen += [i["metadata"]["name"] for i in body["items"]]
        pages += 1
        token = body["metadata"].get("continue")
        if not token:
            break
    assert seen == [f"cm-{i}" for i in range(7)]
    assert pages == 3


def test_watch_from_zero_sends_synthetic_added_then_changes(api, cluster):
    name = unique("cm")
    api.post(CM, json=configmap(name, a="1"))
    received: list[dict] = []

    def watch() -> None:
        with (
            cluster.client() as client,
            client.stream(
                "GET", CM, params={"watch": "1", "fieldSelector": f"metadata.name={name}", "timeoutSeconds": "3"}
            ) as response,
        ):
            for line in response.iter_lines():
                received.append(json.loads(line))
                if len(received) == 3:
                    return

    thread = threading.Thread(target=watch)
    thread.start()
    import time

    time.sleep(0.5)
    api.patch(f"{CM}/{name}", json={"data": {"a": "2"}}, headers={"Content-Type": "application/merge-patch+json"})
    api.delete(f"{CM}/{name}")
    thread.join(10)
    assert [e["type"] for e in received] == ["ADDED", "MODIFIED", "DELETED"]
    assert received[1]["object"]["data"] == {"a": "2"}


def test_watch_bookmark_before_timeout(api):
    rv = api.get(CM).json()["metadata"]["resourceVersion"]
    response = api.get(
        CM, params={"watch": "true", "resourceVersion": rv, "timeoutSeconds": "1", "allowWatchBookmarks": "true"}
    )
    events = [json.loads(line) for line in response.text.splitlines()]
    assert events[-1]["type"] == "BOOKMARK"
    assert events[-1]["object"]["kind"] == "ConfigMap"


def test_finalizers_hold_deletion_until_removed(api):
    name = unique("fin")
    api.post(CM, json={"metadata": {"name": name, "finalizers": ["example.com/hold"]}})
    pending = api.delete(f"{CM}/{name}")
    assert pending.status_code == 200
    assert pending.json()["metadata"]["deletionTimestamp"]
    assert api.get(f"{CM}/{name}").status_code == 200
    added = api.patch(
        f"{CM}/{name}",
        json={"metadata": {"finalizers": ["example.com/hold", "x/y"]}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert added.status_code == 403
    released = api.patch(
        f"{CM}/{name}",
        json={"metadata": {"finalizers": None}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert released.status_code == 200
    assert api.get(f"{CM}/{name}").status_code == 404


def test_delete_preconditions(api):
    name = unique("cm")
    created = api.post(CM, json=configmap(name)).json()
    wrong = api.request("DELETE", f"{CM}/{name}", json={"preconditions": {"uid": "nope"}})
    assert wrong.status_code == 409
    right = api.request("DELETE", f"{CM}/{name}", json={"preconditions": {"uid": created["metadata"]["uid"]}})
    assert right.status_code == 200
    assert right.json()["status"] == "Success"


def test_ownerreference_garbage_collection_background_and_orphan(api):
    owner = api.post(CM, json=configmap(unique("owner"))).json()
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"]}
    dep = unique("dep")
    api.post(CM, json={"metadata": {"name": dep, "ownerReferences": [ref]}})
    api.delete(f"{CM}/{owner['metadata']['name']}")
    _eventually(lambda: api.get(f"{CM}/{dep}").status_code == 404)

    owner2 = api.post(CM, json=configmap(unique("owner"))).json()
    ref2 = dict(ref, name=owner2["metadata"]["name"], uid=owner2["metadata"]["uid"])
    kept = unique("kept")
    api.post(CM, json={"metadata": {"name": kept, "ownerReferences": [ref2]}})
    api.request("DELETE", f"{CM}/{owner2['metadata']['name']}", json={"propagationPolicy": "Orphan"})
    _eventually(lambda: api.get(f"{CM}/{owner2['metadata']['name']}").status_code == 404)
    orphan = api.get(f"{CM}/{kept}").json()
    assert "ownerReferences" not in orphan["metadata"]


def test_foreground_deletion_waits_for_blocking_dependents(api):
    owner = api.post(CM, json=configmap(unique("owner"))).json()
    name = owner["metadata"]["name"]
    ref = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": name,
        "uid": owner["metadata"]["uid"],
        "blockOwnerDeletion": True,
    }
    dep = unique("dep")
    api.post(CM, json={"metadata": {"name": dep, "ownerReferences": [ref], "finalizers": ["x.io/hold"]}})
    api.request("DELETE", f"{CM}/{name}", json={"propagationPolicy": "Foreground"})
    _eventually(lambda: api.get(f"{CM}/{dep}").json()["metadata"].get("deletionTimestamp") is not None)
    assert "foregroundDeletion" in api.get(f"{CM}/{name}").json()["metadata"]["finalizers"]
    api.patch(
        f"{CM}/{dep}", json={"metadata": {"finalizers": None}}, headers={"Content-Type": "application/merge-patch+json"}
    )
    _eventually(lambda: api.get(f"{CM}/{name}").status_code == 404)


def test_namespace_termination_removes_content(api):
    ns = unique("term")
    api.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
    api.post(f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": "x"}})
    deleted = api.delete(f"/api/v1/namespaces/{ns}")
    assert deleted.json()["status"]["phase"] == "Terminating"
    _eventually(lambda: api.get(f"/api/v1/namespaces/{ns}").status_code == 404)
    assert api.get(f"/api/v1/namespaces/{ns}/configmaps/x").status_code == 404


def test_creating_in_a_missing_namespace_is_404(api):
    response = api.post("/api/v1/namespaces/nowhere/configmaps", json=configmap("x"))
    assert response.status_code == 404
    assert response.json()["message"] == 'namespaces "nowhere" not found'


def test_default_service_account_per_namespace(api):
    ns = unique("sa")
    api.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
    _eventually(lambda: api.get(f"/api/v1/namespaces/{ns}/serviceaccounts/default").status_code == 200)


def test_job_defaults_selector_and_labels(api):
    name = unique("job")
    job = {
        "metadata": {"name": name},
        "spec": {
            "suspend": True,
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "busybox"}]}},
        },
    }
    created = api.post("/apis/batch/v1/namespaces/default/jobs", json=job).json()
    uid = created["metadata"]["uid"]
    assert created["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = created["spec"]["template"]["metadata"]["labels"]
    assert labels["job-name"] == name and labels["controller-uid"] == uid
    assert created["spec"]["backoffLimit"] == 6


def test_deleting_a_job_without_policy_orphans_with_a_warning(api):
    name = unique("job")
    job = {
        "metadata": {"name": name},
        "spec": {
            "suspend": True,
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "busybox"}]}},
        },
    }
    api.post("/apis/batch/v1/namespaces/default/jobs", json=job)
    response = api.delete(f"/apis/batch/v1/namespaces/default/jobs/{name}")
    assert "child pods are preserved by default" in response.headers["warning"]


def test_discovery_aggregated_and_legacy(api):
    aggregated = api.get(
        "/apis",
        headers={"Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"},
    )
    assert aggregated.headers["content-type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    groups = {item["metadata"]["name"] for item in aggregated.json()["items"]}
    assert {"apps", "batch", "apiextensions.k8s.io", "coordination.k8s.io", "rbac.authorization.k8s.io"} <= groups
    legacy = api.get("/apis", headers={"Accept": "application/json"}).json()
    assert legacy["kind"] == "APIGroupList"
    core = api.get("/api/v1").json()
    names = {r["name"] for r in core["resources"]}
    assert {"pods", "pods/log", "pods/status", "configmaps", "namespaces", "events"} <= names


def test_health_endpoints(api):
    for path in ("/healthz", "/livez", "/readyz"):
        response = api.get(path)
        assert response.status_code == 200 and response.text == "ok"


def _eventually(check, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    assert check()


_ = httpx
