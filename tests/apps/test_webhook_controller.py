"""Webhooks end to end: ``tiphys controller`` serves ``POST /api/webhook``; a good push refreshes at once.

The controller polls Git only once an hour here, so a new commit reaches the app only through the
webhook: a request with a bad signature is refused (and the app stays on the old commit), one
signed with the secret of ``tiphys-secret`` makes the automated app sync the new commit.
"""

from __future__ import annotations

import json

import httpx

from tiphys.controller.generate_paths import MANIFEST_GENERATE_PATHS
from tiphys.server.webhook_events import sign

from .conftest import app_manifest, configmap, kube_get, wait_until
from .test_webhook import _set_secret


def synced_to(apps, name: str, revision: str) -> bool:
    status = apps.status(name)
    return (status.get("sync") or {}).get("revision") == revision and (status.get("sync") or {}).get(
        "status"
    ) == "Synced"


def settings(cluster, namespace: str) -> dict | None:
    found = kube_get(cluster, f"/api/v1/namespaces/{namespace}/configmaps/settings")
    return None if found is None else found.get("data")


def post(controller, body: bytes, headers: dict[str, str]) -> httpx.Response:
    """POST ``body`` to the controller's webhook endpoint."""
    return httpx.post(controller.webhook_url, content=body, headers=headers, timeout=30)


def test_a_signed_push_refreshes_at_once_and_a_bad_one_is_refused(cluster, apps, git_server, controller):
    repo = git_server.repo("hook", {"cm.yaml": configmap("settings", k="v1")})
    first = repo.head()
    name, namespace = f"hook-{first[:6]}", f"hook-ns-{first[:6]}"
    _set_secret(cluster, {"webhook.github.secret": "gh-secret", "webhook.generic.secret": "gen-secret"})
    try:
        controller.start(repo_poll=3600)
        apps.create(app_manifest(name, repo=repo.url, namespace=namespace, automated=True,
                                 sync_options=("CreateNamespace=true",)))  # fmt: skip
        wait_until(lambda: synced_to(apps, name, first), 120, message="the first commit is synced")

        second = repo.commit({"cm.yaml": configmap("settings", k="v2")})
        payload = {
            "ref": "refs/heads/main",
            "before": first,
            "after": second,
            "repository": {"html_url": repo.url.removesuffix(".git"), "default_branch": "main"},
            "commits": [{"added": [], "modified": ["cm.yaml"], "removed": []}],
        }
        body = json.dumps(payload).encode()
        bad = post(controller, body, {"X-GitHub-Event": "push", "X-Hub-Signature-256": sign("wrong", body)})
        assert bad.status_code == 401, bad.text
        assert apps.status(name)["sync"]["revision"] == first  # nothing was triggered
        good = post(controller, body, {"X-GitHub-Event": "push", "X-Hub-Signature-256": sign("gh-secret", body)})
        assert good.status_code == 200, good.text
        wait_until(lambda: synced_to(apps, name, second), 60, message="the pushed commit is synced")
        assert settings(cluster, namespace) == {"k": "v2"}

        third = repo.commit({"cm.yaml": configmap("settings", k="v3")})
        generic = json.dumps({"repository": repo.url, "ref": "refs/heads/main", "defaultBranch": "main"}).encode()
        answer = post(controller, generic, {"X-Tiphys-Signature": sign("gen-secret", generic)})
        assert answer.status_code == 200, answer.text
        wait_until(lambda: synced_to(apps, name, third), 60, message="the generic push is synced")
        assert settings(cluster, namespace) == {"k": "v3"}
    finally:
        _set_secret(cluster, None)


def test_a_push_refreshes_only_the_apps_whose_manifest_generate_paths_it_changes(cluster, apps, git_server, controller):
    repo = git_server.repo("paths", {"web/cm.yaml": configmap("web", k="v1"), "api/cm.yaml": configmap("api", k="v1")})
    first = repo.head()
    web, api = f"web-{first[:6]}", f"api-{first[:6]}"
    _set_secret(cluster, {"webhook.github.secret": "gh-secret"})
    try:
        controller.start(repo_poll=3600)
        for name, path in ((web, "web"), (api, "api")):
            manifest = app_manifest(name, repo=repo.url, path=path, namespace=f"ns-{name}")
            manifest["metadata"]["annotations"] = {MANIFEST_GENERATE_PATHS: "."}
            apps.create(manifest)
        for name in (web, api):
            wait_until(lambda n=name: apps.status(n).get("sync", {}).get("revision") == first, 60, message=name)

        second = repo.commit({"api/cm.yaml": configmap("api", k="v2")})

        def push(*changed: str) -> None:
            body = json.dumps({
                "ref": "refs/heads/main",
                "before": first,
                "after": second,
                "repository": {"html_url": repo.url.removesuffix(".git"), "default_branch": "main"},
                "commits": [{"added": [], "modified": list(changed), "removed": []}],
            }).encode()  # fmt: skip
            answer = post(controller, body, {"X-GitHub-Event": "push", "X-Hub-Signature-256": sign("gh-secret", body)})
            assert answer.status_code == 200, answer.text

        push("api/cm.yaml")
        wait_until(lambda: apps.status(api)["sync"]["revision"] == second, 60, message="the app whose files changed")
        skipped = f"{web}: a push to {repo.url} changes none of its manifest-generate-paths"
        wait_until(lambda: skipped in controller.log.read_text(), 30, message="the other app is left alone")
        assert apps.status(web)["sync"]["revision"] == first

        push("web/cm.yaml", "README.md")  # the same commit, announced as touching web/ too
        wait_until(lambda: apps.status(web)["sync"]["revision"] == second, 60, message="now it concerns web")
    finally:
        _set_secret(cluster, None)
