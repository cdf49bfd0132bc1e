"""``tiphys app ...`` as a user runs it (a subprocess against the session cluster), without a controller.

These tests check what each command writes into the cluster (the Application's spec, ``operation``,
annotations, finalizers) and what it prints and exits with; the status a controller would record
is written here directly where a command reads it. ``test_cli_controller.py`` runs the same
commands with a real controller.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import AppsApi

DEFAULT = "https://kubernetes.default.svc"


def tiphys(cluster, *args: str, check: int | None = None, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "TIPHYS_HOME": str(home or cluster.home)}
    env.pop("KUBECONFIG", None)
    argv = [sys.executable, "-m", "tiphys.cli", *args, "--kubeconfig", str(cluster.kubeconfig)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=180)
    if check is not None:
        assert done.returncode == check, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def unique(prefix: str = "cli") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def create(cluster, name: str, *extra: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    return tiphys(
        cluster,
        "app", "create", name,
        "--repo", "https://github.com/argoproj/argocd-example-apps.git",
        "--path", "guestbook",
        "--dest-namespace", "guestbook",
        *extra,
        check=check,
    )  # fmt: skip


def put_status(apps: AppsApi, name: str, status: dict[str, Any]) -> None:
    apps.patch(name, {"status": status})


def test_create_from_flags_writes_argo_cd_spec(cluster, apps):
    name = unique()
    done = create(cluster, name, "--sync-policy", "automated", "--auto-prune", "--self-heal", "--revision", "main")
    assert f"application '{name}' created" in done.stdout
    app = apps.get(name)
    assert app["apiVersion"] == "tiphys.io/v1alpha1"
    assert app["metadata"]["namespace"] == "tiphys"
    assert app["spec"] == {
        "project": "default",
        "source": {
            "repoURL": "https://github.com/argoproj/argocd-example-apps.git",
            "path": "guestbook",
            "targetRevision": "main",
        },
        "destination": {"server": DEFAULT, "namespace": "guestbook"},
        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
    }


def test_create_is_idempotent_and_upsert_replaces(cluster, apps):
    name = unique()
    create(cluster, name)
    assert "unchanged" in create(cluster, name).stdout
    done = create(cluster, name, "--dest-name", "other", check=1)
    assert "spec is different" in done.stderr and "--upsert" in done.stderr
    assert apps.get(name)["spec"]["destination"] == {"server": DEFAULT, "namespace": "guestbook"}
    create(cluster, name, "--dest-name", "other", "--upsert")
    assert apps.get(name)["spec"]["destination"] == {"name": "other", "namespace": "guestbook"}


def test_create_from_an_argo_cd_manifest(cluster, apps, tmp_path):
    name = unique("argo")
    spec = {
        "project": "default",
        "source": {"repoURL": "https://github.com/o/r.git", "path": "app", "targetRevision": "HEAD",
                   "directory": {"recurse": True}},
        "destination": {"name": "in-cluster", "namespace": "web"},
        "syncPolicy": {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]},
        "revisionHistoryLimit": 3,
    }  # fmt: skip
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": "argocd",
            "labels": {"team": "a"},
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": spec,
    }
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(manifest))
    tiphys(cluster, "app", "create", "-f", str(tmp_path / "app.yaml"), check=0)
    app = apps.get(name)
    assert app["apiVersion"] == "tiphys.io/v1alpha1" and app["metadata"]["namespace"] == "tiphys"
    assert app["spec"] == spec
    assert app["metadata"]["labels"] == {"team": "a"}
    assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]


@pytest.mark.parametrize(
    "args, message",
    [
        pytest.param(["--dest-server", DEFAULT, "--dest-name", "x"], "exclude each other", id="server-and-name"),
        pytest.param(["--auto-prune"], "--sync-policy automated", id="auto-prune-without-automated"),
        pytest.param(["--sync-policy", "sometimes"], "choose automated or none", id="bad-policy"),
        pytest.param(["--sync-option", "CreateNamespace"], "KEY=VALUE", id="bad-sync-option"),
    ],
)
def test_bad_create_exits_2_and_writes_nothing(cluster, apps, args, message):
    name = unique()
    done = create(cluster, name, *args, check=2)
    assert message in done.stderr
    assert apps.get(name) is None


def test_bad_names_and_files_exit_2(cluster, apps, tmp_path):
    assert "invalid" in create(cluster, "Not_Valid", check=2).stderr
    done = tiphys(cluster, "app", "create", unique(), "--repo", "https://h/o/r", "--path", ".", check=2)
    assert "--dest-namespace is required" in done.stderr
    (tmp_path / "cm.yaml").write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    )
    done = tiphys(cluster, "app", "create", "-f", str(tmp_path / "cm.yaml"), check=2)
    assert "is not an Application" in done.stderr
    (tmp_path / "bad.yaml").write_text("a: [b")
    assert "not valid YAML" in tiphys(cluster, "app", "create", "-f", str(tmp_path / "bad.yaml"), check=2).stderr
    assert tiphys(cluster, "app", "frobnicate", check=2).returncode == 2  # click's usage error


def test_unknown_app_exits_1_with_a_clear_message(cluster, apps):
    for command in (["get"], ["sync"], ["set", "--sync-policy", "none"], ["history"], ["delete"], ["terminate-op"],
                    ["wait", "--timeout", "1s"], ["diff"], ["rollback", "0"], ["logs"]):  # fmt: skip
        done = tiphys(cluster, "app", command[0], "no-such-app", *command[1:])
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert "application 'no-such-app' not found" in done.stderr, (command, done.stderr)


def test_get_json_yaml_and_text(cluster, apps):
    name = unique()
    create(cluster, name)
    put_status(
        apps,
        name,
        {
            "sync": {"status": "Synced", "revision": "a" * 40},
            "health": {"status": "Healthy"},
            "resources": [
                {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "guestbook",
                 "name": "guestbook-ui", "status": "Synced", "health": {"status": "Healthy"}},
            ],
            "operationState": {
                "operation": {"sync": {"revision": "a" * 40}},
                "phase": "Succeeded",
                "message": "successfully synced (all tasks run)",
                "startedAt": "2026-01-01T00:00:00Z",
                "finishedAt": "2026-01-01T00:00:05Z",
                "syncResult": {"revision": "a" * 40, "resources": [
                    {"group": "batch", "version": "v1", "kind": "Job", "namespace": "guestbook", "name": "migrate",
                     "status": "Synced", "hookType": "PreSync", "hookPhase": "Succeeded", "syncPhase": "PreSync",
                     "message": "Reached expected number of succeeded pods"},
                ]},
            },
        },
    )  # fmt: skip
    got = json.loads(tiphys(cluster, "app", "get", name, "-o", "json", check=0).stdout)
    assert got["metadata"]["name"] == name and got["status"]["sync"]["status"] == "Synced"
    assert yaml.safe_load(tiphys(cluster, "app", "get", name, "-o", "yaml", check=0).stdout)["spec"] == got["spec"]
    text = tiphys(cluster, "app", "get", name, check=0).stdout
    for expected in ("Sync Status:", "Synced to HEAD (aaaaaaa)", "Healthy", "Deployment", "guestbook/guestbook-ui",
                     "Hooks of the last operation", "migrate", "PreSync", "Succeeded"):  # fmt: skip
        assert expected in text, (expected, text)
    assert tiphys(cluster, "app", "get", name, "-o", "xml").returncode == 2


def test_list(cluster, apps):
    first, second = unique(), unique()
    create(cluster, first)
    create(cluster, second, "--sync-policy", "automated", "--auto-prune")
    items = json.loads(tiphys(cluster, "app", "list", "-o", "json", check=0).stdout)
    names = [a["metadata"]["name"] for a in items]
    assert first in names and second in names
    text = tiphys(cluster, "app", "list", check=0).stdout
    assert "NAME" in text and "SYNCPOLICY" in text and first in text and "Auto-Prune" in text
    assert "REPO" not in text
    wide = tiphys(cluster, "app", "list", "-o", "wide", check=0).stdout
    assert "REPO" in wide and "argocd-example-apps" in wide


def test_create_with_labels_and_helm_flags_and_list_by_label(cluster, apps):
    name, team = unique(), unique("team")
    create(cluster, name, "--label", f"team={team}", "--helm-set", "replicas=2", "--values", "prod.yaml")
    app = apps.get(name)
    assert app["metadata"]["labels"] == {"team": team}
    assert app["spec"]["source"]["helm"] == {
        "valueFiles": ["prod.yaml"],
        "parameters": [{"name": "replicas", "value": "2"}],
    }
    create(cluster, unique())  # another app, without the label
    items = json.loads(tiphys(cluster, "app", "list", "-l", f"team={team}", "-o", "json", check=0).stdout)
    assert [a["metadata"]["name"] for a in items] == [name]
    assert tiphys(cluster, "app", "list", "-l", "team", check=2).returncode == 2


def test_set_sync_policy(cluster, apps):
    name = unique()
    create(cluster, name)
    assert "--sync-policy automated" in tiphys(cluster, "app", "set", name, "--self-heal", check=2).stderr
    tiphys(cluster, "app", "set", name, "--sync-policy", "automated", "--self-heal", check=0)
    assert apps.get(name)["spec"]["syncPolicy"]["automated"] == {"selfHeal": True}
    tiphys(cluster, "app", "set", name, "--auto-prune", check=0)
    assert apps.get(name)["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    tiphys(cluster, "app", "set", name, "--no-self-heal", check=0)
    assert apps.get(name)["spec"]["syncPolicy"]["automated"] == {"prune": True}
    tiphys(cluster, "app", "set", name, "--revision", "v2", "--sync-option", "CreateNamespace=true", check=0)
    app = apps.get(name)
    assert app["spec"]["source"]["targetRevision"] == "v2"
    assert app["spec"]["syncPolicy"]["syncOptions"] == ["CreateNamespace=true"]
    tiphys(cluster, "app", "set", name, "--sync-policy", "none", check=0)
    assert "automated" not in apps.get(name)["spec"]["syncPolicy"]
    assert "nothing to set" in tiphys(cluster, "app", "set", name, check=2).stderr


def test_patch(cluster, apps):
    name = unique()
    create(cluster, name)
    tiphys(cluster, "app", "patch", name, "--patch", '{"spec": {"source": {"path": "other"}}}', check=0)
    assert apps.get(name)["spec"]["source"]["path"] == "other"
    ops = '[{"op": "replace", "path": "/spec/source/targetRevision", "value": "v3"}]'
    tiphys(cluster, "app", "patch", name, "--patch", ops, "--type", "json", check=0)
    assert apps.get(name)["spec"]["source"]["targetRevision"] == "v3"
    tiphys(cluster, "app", "patch", name, "--patch", '{"spec": {"project": "p"}}', "--type", "merge", check=0)
    assert apps.get(name)["spec"]["project"] == "p"
    assert "not valid JSON" in tiphys(cluster, "app", "patch", name, "--patch", "{", check=2).stderr
    assert (
        "list of operations" in tiphys(cluster, "app", "patch", name, "--patch", "{}", "--type", "json", check=2).stderr
    )
    bad = '[{"op": "test", "path": "/spec/project", "value": "nope"}]'
    assert tiphys(cluster, "app", "patch", name, "--patch", bad, check=1).returncode == 1
    assert apps.get(name)["spec"]["project"] == "p"


def test_sync_async_writes_the_operation_and_refuses_a_second(cluster, apps):
    name = unique()
    create(cluster, name, "--revision", "main")
    done = tiphys(cluster, "app", "sync", name, "--async", "--prune", "--sync-option", "PruneLast=true", check=0)
    assert "requested" in done.stdout
    operation = apps.get(name)["operation"]
    assert operation["sync"] == {"revision": "main", "prune": True, "syncOptions": ["PruneLast=true"]}
    assert operation["initiatedBy"] == {"username": "tiphys-cli"}
    done = tiphys(cluster, "app", "sync", name, "--async", "--revision", "other", check=1)
    assert "another operation is already in progress" in done.stderr
    assert apps.get(name)["operation"]["sync"]["revision"] == "main"


def test_sync_dry_run_and_selective_resources(cluster, apps):
    name = unique()
    create(cluster, name)
    tiphys(cluster, "app", "sync", name, "--async", "--dry-run", "--resource", "apps:Deployment:web", check=0)
    sync = apps.get(name)["operation"]["sync"]
    assert sync["dryRun"] is True and sync["revision"] == "HEAD"
    assert sync["resources"] == [{"group": "apps", "kind": "Deployment", "name": "web"}]
    assert tiphys(cluster, "app", "sync", name, "--resource", "Deployment", check=2).returncode == 2


def test_sync_times_out_without_a_controller(cluster, apps):
    name = unique()
    create(cluster, name)
    done = tiphys(cluster, "app", "sync", name, "--timeout", "2s", check=1)
    assert "did not end within the timeout" in done.stderr
    assert apps.get(name)["operation"]["sync"]["revision"] == "HEAD"  # the request stays for a controller


def test_terminate_op(cluster, apps):
    name = unique()
    create(cluster, name)
    assert "No operation is in progress" in tiphys(cluster, "app", "terminate-op", name, check=1).stderr
    tiphys(cluster, "app", "sync", name, "--async", check=0)
    assert "cancelled before it started" in tiphys(cluster, "app", "terminate-op", name, check=0).stdout
    assert "operation" not in apps.get(name)
    running = {"operation": {"sync": {}}, "phase": "Running", "message": "waiting", "startedAt": "2026-01-01T00:00:00Z"}
    put_status(apps, name, {"operationState": running})
    assert "operation terminating" in tiphys(cluster, "app", "terminate-op", name, check=0).stdout
    assert apps.get(name)["status"]["operationState"]["phase"] == "Terminating"


def _history(revisions: list[str]) -> list[dict[str, Any]]:
    return [
        {"id": i, "revision": rev, "deployedAt": f"2026-01-0{i + 1}T00:00:00Z",
         "source": {"repoURL": "https://github.com/o/r.git", "path": "app", "targetRevision": "main"},
         "initiatedBy": {"username": "tiphys-cli"}}
        for i, rev in enumerate(revisions)
    ]  # fmt: skip


def test_history_and_rollback(cluster, apps):
    name = unique()
    create(cluster, name, "--sync-policy", "automated")
    put_status(apps, name, {"history": _history(["a" * 40, "b" * 40, "c" * 40])})
    text = tiphys(cluster, "app", "history", name, check=0).stdout
    assert "ID" in text and "main (bbbbbbb)" in text
    assert [h["id"] for h in json.loads(tiphys(cluster, "app", "history", name, "-o", "json", check=0).stdout)] == [
        0,
        1,
        2,
    ]
    assert "auto-sync is enabled" in tiphys(cluster, "app", "rollback", name, "0", "--async", check=1).stderr
    tiphys(cluster, "app", "set", name, "--sync-policy", "none", check=0)
    done = tiphys(cluster, "app", "rollback", name, "7", "--async", check=1)
    assert "does not have deployment id '7' in history" in done.stderr
    assert "operation" not in apps.get(name)
    tiphys(cluster, "app", "rollback", name, "0", "--async", check=0)
    sync = apps.get(name)["operation"]["sync"]
    assert sync["revision"] == "a" * 40 and sync["source"]["path"] == "app"
    apps.patch(name, [{"op": "remove", "path": "/operation"}], json_patch=True)
    tiphys(cluster, "app", "rollback", name, "--async", check=0)  # no id: the previous deployment
    assert apps.get(name)["operation"]["sync"]["revision"] == "b" * 40


def test_delete_without_cascade_drops_the_resources_finalizer(cluster, apps, tmp_path):
    name = unique()
    manifest = {
        "apiVersion": "tiphys.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
        "spec": {"source": {"repoURL": "https://h/o/r", "path": "."}, "destination": {"name": "in-cluster",
                 "namespace": "x"}},
    }  # fmt: skip
    (tmp_path / "a.json").write_text(json.dumps(manifest))
    tiphys(cluster, "app", "create", "-f", str(tmp_path / "a.json"), check=0)
    tiphys(cluster, "app", "delete", name, "--wait", "--timeout", "60s", check=0)
    assert apps.get(name) is None


def test_delete_cascade_adds_the_finalizer_for_the_controller(cluster, apps):
    name = unique()
    create(cluster, name)
    tiphys(cluster, "app", "delete", name, "--cascade", check=0)
    app = apps.get(name)  # no controller runs: it stays, marked for deletion
    assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    assert app["metadata"].get("deletionTimestamp")
    assert "is being deleted" in tiphys(cluster, "app", "sync", name, "--async", check=1).stderr
    done = tiphys(cluster, "app", "delete", name, "--cascade", "--wait", "--timeout", "1s", check=1)
    assert "still exists" in done.stderr


def test_wait(cluster, apps):
    name = unique()
    create(cluster, name)
    assert "timed out" in tiphys(cluster, "app", "wait", name, "--sync", "--timeout", "1s", check=1).stderr
    put_status(apps, name, {"sync": {"status": "Synced"}, "health": {"status": "Progressing"}})
    assert "Synced, Progressing" in tiphys(cluster, "app", "wait", name, "--sync", "--timeout", "30s", check=0).stdout
    assert tiphys(cluster, "app", "wait", name, "--health", "--timeout", "1s", check=1).returncode == 1
    put_status(apps, name, {"health": {"status": "Healthy"}})
    tiphys(cluster, "app", "wait", name, "--timeout", "30s", check=0)
    assert "--timeout" in tiphys(cluster, "app", "wait", name, "--timeout", "soon", check=2).stderr


def test_app_diff_against_a_local_directory(cluster, apps, tmp_path):
    name, namespace = unique(), unique("ns")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "cm.yaml").write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}})
    )
    tiphys(cluster, "app", "create", name, "--repo", str(repo), "--path", ".", "--dest-namespace", namespace, check=0)
    assert apps.get(name)["spec"]["source"] == {"repoURL": str(repo), "path": "."}
    done = tiphys(cluster, "app", "diff", name, check=1)
    assert "ConfigMap" in done.stdout and "k: v" in done.stdout
    with cluster.client() as http:
        assert http.post("/api/v1/namespaces", json={"metadata": {"name": namespace}}).status_code == 201
    tiphys(cluster, "sync", str(repo), "--app", name, "--dest-namespace", namespace, check=0)
    tiphys(cluster, "app", "diff", name, check=0)
