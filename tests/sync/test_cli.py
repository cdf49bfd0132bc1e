"""``tiphys sync`` and ``tiphys diff`` as a user runs them: a subprocess, exit codes, output, kill -9 and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import HOOK, POLICY, configmap, job, unique, write

RESULT_FIELDS = {
    "group",
    "version",
    "kind",
    "namespace",
    "name",
    "status",
    "message",
    "hookType",
    "hookPhase",
    "syncPhase",
}


def tiphys(cluster, tmp_path: Path, *args: str, check: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TIPHYS_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    env.pop("KUBECONFIG", None)
    argv = [sys.executable, "-m", "tiphys.cli", args[0], "--kubeconfig", str(cluster.kubeconfig), *args[1:]]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    if check is not None:
        assert done.returncode == check, done.stdout + done.stderr
    return done


def exists(cluster, path: str) -> bool:
    with cluster.client() as client:
        return client.get(path).status_code == 200


def test_json_output_has_argo_cd_field_names(cluster, tmp_path):
    ns, name = unique("ns"), unique("app")
    repo = write(tmp_path / "repo", job("pre", **{HOOK: "PreSync"}), configmap("c"))
    done = tiphys(
        cluster,
        tmp_path,
        "sync",
        str(repo),
        "--app",
        name,
        "--dest-namespace",
        ns,
        "--sync-option",
        "CreateNamespace=true",
        "-o",
        "json",
        check=0,
    )
    state = json.loads(done.stdout)
    assert {"phase", "message", "startedAt", "finishedAt", "syncResult"} <= set(state)
    assert state["phase"] == "Succeeded"
    hook = next(r for r in state["syncResult"]["resources"] if r["name"] == "pre")
    assert set(hook) >= RESULT_FIELDS
    assert (hook["hookType"], hook["hookPhase"], hook["syncPhase"]) == ("PreSync", "Succeeded", "PreSync")


def test_dry_run_prints_the_plan_and_changes_nothing(cluster, tmp_path):
    ns, name = unique("ns"), unique("app")
    repo = write(
        tmp_path / "repo",
        job("pre", **{HOOK: "PreSync", POLICY: "HookSucceeded"}),
        configmap("c"),
        job("post", **{HOOK: "PostSync"}),
    )
    done = tiphys(
        cluster,
        tmp_path,
        "sync",
        str(repo),
        "--app",
        name,
        "--dest-namespace",
        ns,
        "--sync-option",
        "CreateNamespace=true",
        "--dry-run",
        check=0,
    )
    assert "deleted if the sync succeeds" in done.stdout
    assert "job.batch/post created (dry run)" in done.stdout
    assert "Succeeded: successfully synced (no more tasks)" in done.stdout
    assert not exists(cluster, f"/api/v1/namespaces/{ns}")
    assert not exists(cluster, f"/apis/tiphys.io/v1alpha1/namespaces/tiphys/applications/{name}")


@pytest.mark.parametrize(
    "args, says",
    [
        pytest.param(["-bad"], "starts with '-'", id="source-dash"),
        pytest.param(["{repo}", "--revision=-x"], "starts with '-'", id="revision-dash"),
        pytest.param(["{repo}", "--sync-option", "Prune"], "KEY=VALUE", id="bad-option"),
        pytest.param(["{repo}", "--timeout", "soon"], "not a duration", id="bad-timeout"),
        pytest.param(["{broken}"], "invalid:", id="malformed-yaml"),
    ],
)
def test_bad_invocations_exit_2(cluster, tmp_path, args, says):
    repo = write(tmp_path / "repo", configmap("c"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "x.yaml").write_text("kind: [\n")
    argv = [a.format(repo=repo, broken=broken) for a in args]
    separator = ["--"] if argv[0].startswith("-") else []
    done = tiphys(cluster, tmp_path, "sync", "--app", unique("app"), *separator, *argv, check=2)
    assert says in done.stderr


def test_diff_exits_1_until_synced(cluster, tmp_path):
    ns, name = unique("ns"), unique("app")
    repo = write(
        tmp_path / "repo",
        configmap("c"),
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "hunter2-plain"}},
    )
    common = ["--app", name, "--dest-namespace", ns]
    before = tiphys(cluster, tmp_path, "diff", str(repo), *common, check=1)
    assert "+  name: c" in before.stdout or "name: c" in before.stdout
    assert "hunter2" not in before.stdout and "++++++++" in before.stdout
    tiphys(cluster, tmp_path, "sync", str(repo), *common, "--sync-option", "CreateNamespace=true", check=0)
    tiphys(cluster, tmp_path, "diff", str(repo), *common, check=0)


def test_kill_9_mid_hook_then_resume_runs_no_hook_twice(cluster, tmp_path):
    ns, name = unique("ns"), unique("app")
    repo = write(
        tmp_path / "repo",
        job(generate="migrate-", script="sleep 2", **{HOOK: "PreSync"}),
        configmap("c"),
        job("smoke", **{HOOK: "PostSync"}),
    )
    env = {**os.environ, "TIPHYS_HOME": str(tmp_path / "home")}
    argv = [
        sys.executable,
        "-m",
        "tiphys.cli",
        "sync",
        str(repo),
        "--app",
        name,
        "--dest-namespace",
        ns,
        "--sync-option",
        "CreateNamespace=true",
        "--kubeconfig",
        str(cluster.kubeconfig),
        "-o",
        "json",
    ]
    first = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    jobs = f"/apis/batch/v1/namespaces/{ns}/jobs"
    deadline = time.monotonic() + 30
    with cluster.client() as client:
        while time.monotonic() < deadline:
            response = client.get(jobs)
            items = response.json().get("items", []) if response.status_code == 200 else []
            if items and not (items[0].get("status") or {}).get("succeeded"):
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the PreSync Job never started")
        first.send_signal(signal.SIGKILL)
        first.wait()
        [hook] = client.get(jobs).json()["items"]
        app = client.get(f"/apis/tiphys.io/v1alpha1/namespaces/tiphys/applications/{name}").json()
        assert app["status"]["operationState"]["phase"] == "Running"

        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        state = json.loads(done.stdout)
        names = [r["name"] for r in state["syncResult"]["resources"] if r["kind"] == "Job"]
        assert names == [hook["metadata"]["name"], "smoke"]
        after = client.get(jobs).json()["items"]
        assert [j["metadata"]["uid"] for j in after if j["metadata"]["name"] == hook["metadata"]["name"]] == [
            hook["metadata"]["uid"]
        ]
        pods = client.get(
            f"/api/v1/namespaces/{ns}/pods", params={"labelSelector": f"job-name={hook['metadata']['name']}"}
        )
        assert len(pods.json()["items"]) == 1  # the hook ran once
