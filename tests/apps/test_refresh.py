"""Refresh: a controller process compares Applications with Git and the cluster and reports it in status.

Real parts only: a `git daemon` serving the repositories, the session's embedded cluster, and a
`tiphys controller` subprocess; nothing is synced in these tests unless they ask for it.
"""

from __future__ import annotations

import uuid

from .conftest import app_manifest, configmap, wait_until


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_a_new_app_is_compared_with_its_revision(git_server, apps, controller):
    repo = git_server.repo("refresh", {"app/a.yaml": configmap("a", x="1"), "app/b.yaml": configmap("b")})
    name = unique("cmp")
    apps.create(app_manifest(name, repo=repo.url, path="app", namespace=unique("ns")))
    controller.start()
    status = wait_until(
        lambda: (s := apps.status(name)).get("sync", {}).get("revision") and s,
        60,
        message="status.sync.revision is written",
    )
    assert status["sync"]["status"] == "OutOfSync"
    assert status["sync"]["revision"] == repo.head()
    assert status["sync"]["comparedTo"]["source"] == {"repoURL": repo.url, "path": "app", "targetRevision": "HEAD"}
    assert status["health"]["status"] == "Missing"
    assert status["sourceType"] == "Directory"
    assert status["reconciledAt"].endswith("Z")
    resources = sorted(status["resources"], key=lambda r: r["name"])
    assert [(r["kind"], r["name"], r["status"]) for r in resources] == [
        ("ConfigMap", "a", "OutOfSync"),
        ("ConfigMap", "b", "OutOfSync"),
    ]
    assert not status.get("conditions")


def _request_sync(apps, name):
    apps.patch(name, {"operation": {"sync": {"revision": "HEAD"}, "initiatedBy": {"username": "test"}}})


def test_a_commit_is_picked_up_by_the_repo_poll(git_server, apps, controller):
    repo = git_server.repo("poll", {"app/a.yaml": configmap("a")})
    name = unique("poll")
    apps.create(app_manifest(name, repo=repo.url, path="app", namespace=unique("ns")))
    controller.start()
    first = repo.head()
    wait_until(lambda: apps.status(name).get("sync", {}).get("revision") == first, 60, message="first revision")
    second = repo.commit({"app/c.yaml": configmap("c")})
    status = wait_until(
        lambda: (s := apps.status(name)).get("sync", {}).get("revision") == second and s,
        30,
        message="the new commit is compared (repo poll every second)",
    )
    assert sorted(r["name"] for r in status["resources"]) == ["a", "c"]


def test_synced_app_reports_drift_and_health_within_seconds(git_server, apps, controller, kubectl):
    namespace = unique("ns")
    deployment = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {tiphys.io/simulate: "true"}
    spec:
      containers: [{name: web, image: "web:1"}]
"""
    repo = git_server.repo("drift", {"app/a.yaml": configmap("a", x="1"), "app/web.yaml": deployment})
    name = unique("drift")
    apps.create(
        app_manifest(name, repo=repo.url, path="app", namespace=namespace, sync_options=("CreateNamespace=true",))
    )
    controller.start()
    wait_until(lambda: apps.sync_status(name) == "OutOfSync", 60, message="compared")
    _request_sync(apps, name)
    status = wait_until(
        lambda: (
            (s := apps.status(name)).get("sync", {}).get("status") == "Synced"
            and s.get("health", {}).get("status") == "Healthy"
            and s
        ),
        90,
        message="Synced and Healthy after the sync",
    )
    by_name = {r["name"]: r for r in status["resources"]}
    assert by_name["web"]["health"] == {"status": "Healthy"}
    assert by_name["a"]["status"] == "Synced" and "health" not in by_name["a"]
    assert status["summary"] == {"images": ["web:1"]}
    kubectl("-n", namespace, "patch", "configmap", "a", "--type=merge", "-p", '{"data": {"x": "changed"}}')
    status = wait_until(
        lambda: (s := apps.status(name)).get("sync", {}).get("status") == "OutOfSync" and s,
        15,
        message="drift is reported by watch, not by the resync",
    )
    assert {r["name"]: r["status"] for r in status["resources"]} == {"a": "OutOfSync", "web": "Synced"}


def test_refresh_annotation_is_handled_and_removed(git_server, apps, controller):
    repo = git_server.repo("annot", {"app/a.yaml": configmap("a")})
    name = unique("annot")
    apps.create(app_manifest(name, repo=repo.url, path="app", namespace=unique("ns")))
    controller.start(repo_poll=3600)
    wait_until(lambda: apps.status(name).get("sync", {}).get("revision"), 60, message="compared once")
    second = repo.commit({"app/b.yaml": configmap("b")})
    apps.patch(name, {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}})
    wait_until(
        lambda: apps.status(name).get("sync", {}).get("revision") == second,
        30,
        message="a hard refresh re-resolves the revision",
    )
    wait_until(
        lambda: "argocd.argoproj.io/refresh" not in (apps.get(name)["metadata"].get("annotations") or {}),
        30,
        message="the annotation is removed",
    )


def test_a_signed_webhook_push_triggers_a_refresh_at_once(git_server, apps, controller, cluster):
    import base64
    import hashlib
    import hmac
    import json

    import httpx

    secret = "s3cret-" + uuid.uuid4().hex
    with cluster.client() as http:
        body = {
            "metadata": {"name": "tiphys-secret", "namespace": "tiphys"},
            "data": {"webhook.github.secret": base64.b64encode(secret.encode()).decode()},
        }
        answer = http.post("/api/v1/namespaces/tiphys/secrets", json=body)
        if answer.status_code == 409:
            answer = http.put("/api/v1/namespaces/tiphys/secrets/tiphys-secret", json=body)
        assert answer.status_code in (200, 201), answer.text
    repo = git_server.repo("hook", {"app/a.yaml": configmap("a")})
    name = unique("hook")
    apps.create(app_manifest(name, repo=repo.url, path="app", revision="main", namespace=unique("ns")))
    controller.start(repo_poll=3600)
    wait_until(lambda: apps.status(name).get("sync", {}).get("revision") == repo.head(), 60, message="compared")
    second = repo.commit({"app/b.yaml": configmap("b")})
    payload = json.dumps(
        {"ref": "refs/heads/main", "after": second, "repository": {"clone_url": repo.url, "default_branch": "main"}}
    ).encode()
    headers = {"X-GitHub-Event": "push", "Content-Type": "application/json"}
    bad = httpx.post(controller.webhook_url, content=payload, headers={**headers, "X-Hub-Signature-256": "sha256=00"})
    assert bad.status_code == 401
    signature = "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    good = httpx.post(controller.webhook_url, content=payload, headers={**headers, "X-Hub-Signature-256": signature})
    assert good.status_code == 200, good.text
    wait_until(
        lambda: apps.status(name).get("sync", {}).get("revision") == second,
        20,
        message="the push makes the controller re-resolve main at once (the repo poll is an hour)",
    )


HOOK_JOB = """apiVersion: batch/v1
kind: Job
metadata:
  generateName: migrate-
  annotations:
    argocd.argoproj.io/hook: PreSync
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers: [{name: main, image: busybox, command: ["true"]}]
"""


def test_a_commit_is_synced_automatically_hooks_included(git_server, apps, controller, kubectl):
    namespace = unique("ns")
    repo = git_server.repo("auto", {"app/hook.yaml": HOOK_JOB, "app/a.yaml": configmap("a")})
    first = repo.head()
    name = unique("auto")
    apps.create(
        app_manifest(
            name,
            repo=repo.url,
            path="app",
            namespace=namespace,
            automated={"prune": True},
            sync_options=("CreateNamespace=true",),
        )
    )
    controller.start()

    def synced_at(sha: str):
        status = apps.status(name)
        operation = status.get("operationState") or {}
        done = (
            status.get("sync", {}).get("status") == "Synced"
            and status.get("sync", {}).get("revision") == sha
            and operation.get("phase") == "Succeeded"
            and operation.get("syncResult", {}).get("revision") == sha
        )
        return done and status

    wait_until(lambda: synced_at(first), 120, message="the first revision is synced automatically")
    second = repo.commit({"app/b.yaml": configmap("b")}, delete=("app/a.yaml",))
    status = wait_until(lambda: synced_at(second), 120, message="the new commit is synced automatically")
    hooks = [r for r in status["operationState"]["syncResult"]["resources"] if r.get("hookType") == "PreSync"]
    assert [(h["kind"], h["hookPhase"]) for h in hooks] == [("Job", "Succeeded")]
    assert hooks[0]["name"].startswith(f"migrate-{second[:7]}")
    assert [h["revision"] for h in status["history"]] == [first, second]
    assert sorted(r["name"] for r in status["resources"] if not r.get("hook")) == ["b"]  # a was pruned
    assert kubectl.run("-n", namespace, "get", "configmap", "a", check=False).returncode != 0
    events = kubectl.json("-n", "tiphys", "get", "events", "--field-selector", f"involvedObject.name={name}")["items"]
    assert "OperationStarted" in {e["reason"] for e in events}  # recorded on the Application, like Argo CD


def test_an_unknown_kind_is_a_comparison_error(git_server, apps, controller):
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"
    repo = git_server.repo("kinds", {"app/w.yaml": widget, "app/a.yaml": configmap("a")})
    name = unique("kinds")
    apps.create(app_manifest(name, repo=repo.url, path="app", namespace=unique("ns")))
    controller.start()
    conditions = wait_until(lambda: apps.status(name).get("conditions"), 60, message="a condition is reported")
    assert [c["type"] for c in conditions] == ["ComparisonError"]
    assert 'no matches for kind "Widget" in version "example.com/v1"' in conditions[0]["message"]
    assert "w.yaml" in conditions[0]["message"]
    status = apps.status(name)
    assert status["sync"]["status"] == "OutOfSync"
    assert {r["kind"]: r["status"] for r in status["resources"]} == {"ConfigMap": "OutOfSync", "Widget": "OutOfSync"}


def test_a_restarted_controller_sees_synced_apps_as_synced(git_server, apps, controller):
    """Many refreshes at once on a fresh watch cache must wait for its first list, not compare with nothing."""
    repo = git_server.repo("restart", {"app/a.yaml": configmap("a"), "app/b.yaml": configmap("b")})
    names = [unique(f"rs{i}") for i in range(30)]
    for name in names:
        apps.create(
            app_manifest(
                name,
                repo=repo.url,
                path="app",
                namespace=name,
                sync_options=("CreateNamespace=true",),
                automated={"prune": True, "selfHeal": True},
            )
        )
    controller.start()

    def all_synced() -> bool:
        statuses = {a["metadata"]["name"]: a.get("status") or {} for a in apps.list()}
        return all(statuses[n].get("sync", {}).get("status") == "Synced" for n in names)

    wait_until(all_synced, 180, interval=0.5, message="every app synced once")
    controller.restart(kill=False)
    seen: set[str] = set()

    def refreshed_again() -> bool:
        for app in apps.list():
            status = app.get("status") or {}
            if app["metadata"]["name"] in names:
                seen.add(status.get("sync", {}).get("status", ""))
        return "refreshed: Synced" in controller.tail(10**7).split("leading as")[-1]

    wait_until(refreshed_again, 60, interval=0.05, message="the new controller refreshed")
    wait_until(
        lambda: all_synced() and len(controller.tail(10**7).split("leading as")[-1].split("refreshed:")) > 30,
        60,
        interval=0.2,
        message="every app refreshed by the new controller",
    )
    assert "OutOfSync" not in seen
    histories = {a["metadata"]["name"]: len((a.get("status") or {}).get("history") or []) for a in apps.list()}
    assert {histories[n] for n in names} == {1}  # no app was synced again by the new controller
