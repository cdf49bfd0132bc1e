"""``tiphys app ...`` with a real controller: sync, history, rollback, diff, logs, terminate, delete, other clusters.

The controller runs as a subprocess against the session cluster, the repositories are served by a
real ``git daemon``, and every command runs as a user runs it (a subprocess); the tests check the
exit codes, the output, and the objects in the cluster.
"""

from __future__ import annotations

import json

import yaml

from . import opsupport
from .conftest import configmap, kube_get, wait_until
from .opsupport import HOOK, unique
from .test_cli import tiphys
from .test_cli_cluster import cli

TOKEN = "s3cr3t-t0ken-value"
SECRET = yaml.safe_dump(
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "stringData": {"token": TOKEN}}
)
TOKEN_ENV = {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}


def job(name: str, script: str, env: list | None = None, **annotations: str) -> str:
    return yaml.safe_dump(opsupport.job(name, script=script, env=env or [], **annotations))


def create_app(cluster, name: str, repo_url: str, namespace: str, *extra: str) -> None:
    tiphys(
        cluster,
        "app", "create", name, "--repo", repo_url, "--path", ".", "--dest-namespace", namespace,
        "--sync-option", "CreateNamespace=true", *extra,
        check=0,
    )  # fmt: skip


def data_of(cluster, namespace: str, name: str) -> dict | None:
    found = kube_get(cluster, f"/api/v1/namespaces/{namespace}/configmaps/{name}")
    return None if found is None else found.get("data")


def test_sync_history_diff_rollback_logs_delete(cluster, apps, git_server, controller):
    repo = git_server.repo(
        "cli",
        {
            "pre.yaml": job("pre", "echo pre-hook-ran", **{HOOK: "PreSync"}),
            "cm.yaml": configmap("settings", k="v1"),
            "worker.yaml": job("worker", "echo hello-from-worker token=$TOKEN", env=[TOKEN_ENV]),
            "secret.yaml": SECRET,
        },
    )
    first = repo.head()
    name, namespace = unique("cli"), unique("ns")
    controller.start()
    create_app(cluster, name, repo.url, namespace)

    done = tiphys(cluster, "app", "sync", name, "--timeout", "180s", check=0)
    assert "Succeeded" in done.stdout and "pre" in done.stdout
    assert data_of(cluster, namespace, "settings") == {"k": "v1"}
    state = json.loads(tiphys(cluster, "app", "get", name, "-o", "json", check=0).stdout)["status"]["operationState"]
    assert state["phase"] == "Succeeded" and state["syncResult"]["revision"] == first

    tiphys(cluster, "app", "wait", name, "--sync", "--health", "--timeout", "180s", check=0)
    text = tiphys(cluster, "app", "get", name, check=0).stdout
    assert "Synced" in text and "settings" in text and "Hooks of the last operation" in text and "pre" in text
    assert "batch/Job" in text and "Pod worker-" in text  # the Job, with its Pod below it in the tree
    history = json.loads(tiphys(cluster, "app", "history", name, "-o", "json", check=0).stdout)
    assert [h["revision"] for h in history] == [first]
    tiphys(cluster, "app", "diff", name, check=0)

    logs = tiphys(cluster, "app", "logs", name, "--kind", "Job", "--name", "worker", check=0).stdout
    assert "hello-from-worker token=++++++++" in logs and TOKEN not in logs  # the Secret's value is masked

    second = repo.commit({"cm.yaml": configmap("settings", k="v2")})
    got = json.loads(tiphys(cluster, "app", "get", name, "--refresh", "-o", "json", check=0).stdout)
    assert got["status"]["sync"]["revision"] == second and got["status"]["sync"]["status"] == "OutOfSync"
    assert "refresh" not in json.dumps(got["metadata"].get("annotations") or {})
    assert "v2" in tiphys(cluster, "app", "diff", name, check=1).stdout
    tiphys(cluster, "app", "sync", name, "--dry-run", "--timeout", "180s", check=0)
    assert data_of(cluster, namespace, "settings") == {"k": "v1"}  # a dry run changes nothing

    tiphys(cluster, "app", "sync", name, "--timeout", "180s", check=0)
    assert data_of(cluster, namespace, "settings") == {"k": "v2"}
    history = json.loads(tiphys(cluster, "app", "history", name, "-o", "json", check=0).stdout)
    assert [h["revision"] for h in history] == [first, second]

    tiphys(cluster, "app", "rollback", name, str(history[0]["id"]), "--timeout", "180s", check=0)
    assert data_of(cluster, namespace, "settings") == {"k": "v1"}

    tiphys(cluster, "app", "delete", name, "--cascade", "--wait", "--timeout", "180s", check=0)
    assert apps.get(name) is None
    wait_until(lambda: data_of(cluster, namespace, "settings") is None, 60, message="the ConfigMap is pruned")


def test_failed_sync_exits_1_and_terminate_op_stops_a_hook(cluster, apps, git_server, controller):
    repo = git_server.repo(
        "clifail", {"pre.yaml": job("pre", "exit 3", **{HOOK: "PreSync"}), "cm.yaml": configmap("c")}
    )
    name, namespace = unique("fail"), unique("ns")
    controller.start()
    create_app(cluster, name, repo.url, namespace)
    done = tiphys(cluster, "app", "sync", name, "--timeout", "180s", "-o", "json")
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["phase"] == "Failed"
    assert data_of(cluster, namespace, "c") is None  # the PreSync hook failed: nothing else was applied

    # A hook of another name: the failed Job "pre" is left as it is (see the report on dry runs of hooks).
    repo.commit({"pre.yaml": job("slow", "sleep 300", **{HOOK: "PreSync"})})
    tiphys(cluster, "app", "sync", name, "--async", check=0)

    def hook_running() -> bool:
        state = (apps.get(name) or {}).get("status", {}).get("operationState") or {}
        return state.get("phase") == "Running" and any(
            r.get("name") == "slow" and r.get("hookPhase") == "Running"
            for r in (state.get("syncResult") or {}).get("resources") or []
        )

    wait_until(hook_running, 120, message="the sleeping hook runs")
    assert "operation terminating" in tiphys(cluster, "app", "terminate-op", name, check=0).stdout
    tiphys(cluster, "app", "wait", name, "--operation", "--timeout", "120s", check=0)
    state = apps.get(name)["status"]["operationState"]
    assert (state["phase"], state["message"]) == ("Failed", "Operation terminated")


def test_an_app_on_a_cluster_added_with_the_cli(cluster, second_cluster, apps, git_server, controller):
    cluster_name = unique("far")
    cli(cluster, "cluster", "add", cluster_name, "--kubeconfig", str(second_cluster.kubeconfig), check=0)
    repo = git_server.repo("far", {"cm.yaml": configmap("remote", where="second")})
    name, namespace = unique("far"), unique("ns")
    controller.start()
    try:
        create_app(cluster, name, repo.url, namespace, "--dest-name", cluster_name)
        tiphys(cluster, "app", "sync", name, "--timeout", "180s", check=0)
        assert data_of(second_cluster, namespace, "remote") == {"where": "second"}
        assert data_of(cluster, namespace, "remote") is None
        tiphys(cluster, "app", "diff", name, check=0)  # compared with the second cluster
    finally:
        cli(cluster, "cluster", "rm", cluster_name)
