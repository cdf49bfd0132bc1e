"""A Workflow as an Argo CD PreSync hook through ``tiphys sync``: it gates the sync (§9), for real."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, unique

EXAMPLES = REPO / "examples"


def sync(cluster, tmp_path: Path, source: Path, app: str, namespace: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TIPHYS_HOME": str(tmp_path / "home"), "COLUMNS": "200", "PYTHONPATH": str(REPO)}
    env.pop("KUBECONFIG", None)
    argv = [
        sys.executable,
        "-m",
        "tiphys.cli",
        "sync",
        str(source),
        "--kubeconfig",
        str(cluster.kubeconfig),
        "--app",
        app,
        "--dest-namespace",
        namespace,
        "--sync-option",
        "CreateNamespace=true",
        "-o",
        "json",
    ]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, cwd=REPO)


def exists(cluster, path: str) -> bool:
    with cluster.client() as client:
        return client.get(path).status_code == 200


def workflows_in(cluster, namespace: str) -> list[dict]:
    with cluster.client() as client:
        return client.get(f"/apis/argoproj.io/v1alpha1/namespaces/{namespace}/workflows").json()["items"]


@pytest.fixture
def repo(tmp_path):
    def copy(example: str) -> Path:
        target = tmp_path / example
        shutil.copytree(EXAMPLES / example, target)
        return target

    return copy


def test_the_seed_workflow_hook_runs_before_the_sync_phase(cluster, wf_controller, tmp_path, repo):
    namespace, app = unique("wfhook"), unique("app")
    done = sync(cluster, tmp_path, repo("seed-workflow"), app, namespace)
    assert done.returncode == 0, done.stdout + done.stderr
    state = json.loads(done.stdout)
    assert state["phase"] == "Succeeded"
    hook = next(r for r in state["syncResult"]["resources"] if r["kind"] == "Workflow")
    assert (hook["hookType"], hook["hookPhase"], hook["syncPhase"]) == ("PreSync", "Succeeded", "PreSync")
    assert exists(cluster, f"/api/v1/namespaces/{namespace}/configmaps/app-config")
    (wf,) = workflows_in(cluster, namespace)
    assert wf["metadata"]["name"] == hook["name"]
    assert wf["status"]["phase"] == "Succeeded" and wf["status"]["progress"] == "2/2"


def test_a_failing_workflow_hook_fails_the_sync_before_the_sync_phase(cluster, wf_controller, tmp_path, repo):
    namespace, app = unique("wfhook"), unique("app")
    done = sync(cluster, tmp_path, repo("seed-workflow-failure"), app, namespace)
    assert done.returncode == 1, done.stdout + done.stderr
    state = json.loads(done.stdout)
    assert state["phase"] == "Failed"
    hook = next(r for r in state["syncResult"]["resources"] if r["kind"] == "Workflow")
    assert hook["hookPhase"] == "Failed"
    # The hook's message names the failing node and says why it failed.
    assert "task-2" in hook["message"] and "main: Error (exit code 1)" in hook["message"]
    assert not exists(cluster, f"/api/v1/namespaces/{namespace}/configmaps/app-config")
    assert not any(r["syncPhase"] == "Sync" and r.get("status") == "Synced" for r in state["syncResult"]["resources"])
    (wf,) = workflows_in(cluster, namespace)
    assert wf["status"]["phase"] == "Failed"


def test_an_invalid_workflow_hook_is_refused_before_anything_is_applied(cluster, wf_controller, tmp_path, repo):
    namespace, app = unique("wfhook"), unique("app")
    source = repo("seed-workflow")
    manifest = (
        (source / "presync-workflow.yaml").read_text().replace("dependencies: [task-1]", "dependencies: [task-9]")
    )
    (source / "presync-workflow.yaml").write_text(manifest)
    done = sync(cluster, tmp_path, source, app, namespace)
    assert done.returncode == 2
    assert "invalid spec: " in done.stderr and "task-9" in done.stderr
    assert not exists(cluster, f"/api/v1/namespaces/{namespace}")
