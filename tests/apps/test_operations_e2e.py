"""Operations end to end through a real ``tiphys controller`` process, a real git daemon and the session cluster."""

from __future__ import annotations

import subprocess
import sys

from tiphys.engine import deletion as rules

from .conftest import app_manifest, kube_get, wait_until
from .opsupport import HOOK, OPTIONS, POLICY, cm, files, job, unique

APPS = "/apis/tiphys.io/v1alpha1/namespaces/tiphys/applications"


def cm_path(ns: str, name: str) -> str:
    return f"/api/v1/namespaces/{ns}/configmaps/{name}"


def operation(api, name: str) -> dict:
    return dict(api.status(name).get("operationState") or {})


def succeeded_at(api, name: str, sha: str) -> bool:
    state = operation(api, name)
    return state.get("phase") == "Succeeded" and state.get("syncResult", {}).get("revision") == sha


def test_commit_synced_with_hooks_then_drift_healed(apps, git_server, controller, cluster):
    docs = lambda value: files(  # noqa: E731
        app=[cm("settings", value)],
        hooks=[job("pre", **{HOOK: "PreSync", POLICY: "BeforeHookCreation"}), job("post", **{HOOK: "PostSync"})],
    )
    repo = git_server.repo("e2e", docs("one"))
    name, ns = unique("e2e"), unique("ns")
    controller.start()
    apps.create(app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS, automated={"selfHeal": True}))
    wait_until(lambda: succeeded_at(apps, name, repo.head()), 90, message="first commit synced")
    # The comparison after the sync sees it Synced: no self-heal of what the sync itself just applied.
    wait_until(lambda: apps.sync_status(name) == "Synced", 60, message="Synced after the first sync")
    assert not apps.get(name).get("operation"), "no new operation requested"
    assert "resources" not in operation(apps, name)["operation"]["sync"], "the last operation is no selective heal"

    second = repo.commit(docs("two"))
    wait_until(lambda: succeeded_at(apps, name, second), 90, message="second commit synced by the controller")
    state = operation(apps, name)
    hooks = {r["name"]: r["hookPhase"] for r in state["syncResult"]["resources"] if r.get("hookType")}
    assert hooks == {"pre": "Succeeded", "post": "Succeeded"}
    assert kube_get(cluster, cm_path(ns, "settings"))["data"] == {"k": "two"}

    with cluster.client() as http:
        http.patch(
            cm_path(ns, "settings"),
            content='{"data": {"k": "by-hand"}}',
            headers={"Content-Type": "application/merge-patch+json"},
        ).raise_for_status()
    wait_until(lambda: kube_get(cluster, cm_path(ns, "settings"))["data"] == {"k": "two"}, 60, message="drift reverted")
    wait_until(lambda: apps.sync_status(name) == "Synced", 60, message="Synced again")


def test_cli_sync_is_refused_while_the_controller_runs_the_operation(apps, git_server, controller, cluster, tmp_path):
    repo = git_server.repo("busy", files(hooks=[job("slow", script="sleep 300", **{HOOK: "PreSync"})]))
    name, ns = unique("busy"), unique("ns")
    controller.start()
    apps.create(app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS))
    apps.patch(name, {"operation": {"sync": {}, "initiatedBy": {"username": "ann"}}})
    wait_until(lambda: "waiting for completion of hook" in operation(apps, name).get("message", ""), 90)

    argv = [sys.executable, "-m", "tiphys", "sync", repo.url, "--app", name, "--dest-namespace", ns]
    argv += ["--sync-option", "CreateNamespace=true", "--kubeconfig", str(cluster.kubeconfig)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"the operation of Application '{name}' is being run by the tiphys controller" in " ".join(
        done.stderr.split()
    )
    assert operation(apps, name)["phase"] == "Running"  # untouched

    apps.patch(name, {"status": {"operationState": {"phase": "Terminating"}}})
    wait_until(lambda: operation(apps, name).get("message") == "Operation terminated", 90, message="terminated")


def test_cascade_delete_runs_deletion_hooks(apps, git_server, controller, cluster):
    repo = git_server.repo(
        "e2edel",
        files(
            app=[cm("a"), cm("b", **{"argocd.argoproj.io/sync-wave": "2"})],
            hooks=[job("bye", **{HOOK: "PostDelete"}), job("hello", **{HOOK: "PreDelete", POLICY: "HookSucceeded"})],
        ),
    )
    name, ns = unique("e2edel"), unique("ns")
    controller.start()
    apps.create(app_manifest(name, repo=repo.url, namespace=ns, sync_options=OPTIONS, automated=True))
    wait_until(lambda: succeeded_at(apps, name, repo.head()), 90, message="synced")
    app = wait_until(
        lambda: (a := apps.get(name)) and rules.POST_DELETE_FINALIZER in a["metadata"].get("finalizers", []) and a,
        60,
        message="deletion-hook finalizers added",
    )
    apps.patch(name, {"metadata": {"finalizers": [*app["metadata"]["finalizers"], rules.RESOURCES_FINALIZER]}})
    apps.http.delete(f"{APPS}/{name}").raise_for_status()
    wait_until(lambda: apps.get(name) is None, 120, message="the Application is gone")
    assert kube_get(cluster, cm_path(ns, "a")) is None and kube_get(cluster, cm_path(ns, "b")) is None
    bye = kube_get(cluster, f"/apis/batch/v1/namespaces/{ns}/jobs/bye")
    assert bye is not None and bye["status"].get("succeeded") == 1  # ran, and (default policy) stays
