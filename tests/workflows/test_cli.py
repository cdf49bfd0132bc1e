"""``tiphys workflow``: the argo-like CLI's contract (exit codes, ``-o json``, -p, get, logs, list, delete, retry)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, sh, unique, workflow

SEED = REPO / "examples" / "seed-workflow" / "presync-workflow.yaml"


class Cli:
    def __init__(self, kubeconfig: Path, namespace: str) -> None:
        self.kubeconfig = kubeconfig
        self.namespace = namespace

    def __call__(
        self, *args: str, input: str | None = None, namespace: bool = True
    ) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "tiphys.cli", "workflow", *args, "--kubeconfig", str(self.kubeconfig)]
        if namespace:
            argv += ["-n", self.namespace]
        env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
        return subprocess.run(argv, input=input, capture_output=True, text=True, env=env, timeout=300, cwd=REPO)


@pytest.fixture
def cli(cluster, wf_controller, wf_namespace) -> Cli:
    return Cli(cluster.kubeconfig, wf_namespace)


def write(tmp_path: Path, manifest: dict) -> str:
    path = tmp_path / f"{unique('file')}.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return str(path)


def seed(**changes) -> dict:
    manifest = yaml.safe_load(SEED.read_text())
    manifest["metadata"] = {"generateName": "cli-"}
    manifest.update(changes)
    return manifest


def test_submit_wait_prints_the_final_workflow_as_json(cli):
    done = cli("submit", str(SEED), "--wait", "-o", "json")
    assert done.returncode == 0, done.stderr
    wf = json.loads(done.stdout)
    assert wf["kind"] == "Workflow" and wf["status"]["phase"] == "Succeeded"
    assert wf["metadata"]["generateName"] == "presync-"
    assert {n["displayName"] for n in wf["status"]["nodes"].values()} >= {"task-1", "task-2"}


def test_submit_without_wait_returns_the_created_workflow(cli):
    done = cli("submit", str(SEED), "-o", "name")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("presync-")


def test_submit_wait_exits_1_when_the_workflow_fails(cli, tmp_path):
    done = cli("submit", write(tmp_path, workflow("boom", sh("boom", "exit 3"))), "--wait", "-o", "json")
    assert done.returncode == 1
    wf = json.loads(done.stdout)
    assert (wf["status"]["phase"], wf["status"]["message"]) == ("Failed", "main: Error (exit code 3)")


def test_parameters_override_global_arguments(cli, tmp_path):
    show = sh("show", "echo {{workflow.parameters.who}}")
    manifest = workflow("show", show, arguments={"parameters": [{"name": "who", "value": "nobody"}]})
    done = cli("submit", write(tmp_path, manifest), "--wait", "-o", "json", "-p", "who=everybody")
    assert done.returncode == 0, done.stderr
    wf = json.loads(done.stdout)
    assert wf["spec"]["arguments"]["parameters"] == [{"name": "who", "value": "everybody"}]
    logs = cli("logs", wf["metadata"]["name"])
    assert logs.stdout.strip() == f"{wf['metadata']['name']}: everybody"


@pytest.mark.parametrize(
    "content, says",
    [
        pytest.param("kind: [", "not valid YAML", id="bad-yaml"),
        pytest.param(
            yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
            "is not a Workflow",
            id="not-a-workflow",
        ),
        pytest.param(
            yaml.safe_dump({**workflow("nope", sh("main", "true"))}), "invalid spec: ", id="unknown-entrypoint"
        ),
    ],
)
def test_bad_input_exits_2_and_creates_nothing(cli, tmp_path, content, says):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    before = cli("list", "-o", "json")
    done = cli("submit", str(path), "--wait")
    assert done.returncode == 2
    assert says in done.stderr
    after = cli("list", "-o", "json")
    assert len(json.loads(after.stdout)) == len(json.loads(before.stdout))


def test_a_bad_parameter_flag_exits_2(cli):
    done = cli("submit", str(SEED), "-p", "novalue")
    assert done.returncode == 2 and "-p 'novalue' is not NAME=VALUE" in done.stderr


def test_get_shows_the_node_tree_and_json(cli):
    submitted = json.loads(cli("submit", str(SEED), "--wait", "-o", "json").stdout)
    name = submitted["metadata"]["name"]
    text = cli("get", name)
    assert text.returncode == 0, text.stderr
    assert "Succeeded" in text.stdout and "STEP" in text.stdout and "DURATION" in text.stdout
    lines = text.stdout.splitlines()
    tree = [line for line in lines if "task-" in line]
    assert "✔ task-1" in tree[0] and "✔ task-2" in tree[1]
    assert f"{name}-echo-" in tree[0]
    as_json = json.loads(cli("get", name, "-o", "json").stdout)
    assert as_json["status"] == submitted["status"]


def test_get_a_missing_workflow_exits_1(cli):
    done = cli("get", "no-such-workflow")
    assert done.returncode == 1
    assert "no-such-workflow" in done.stderr


def test_logs_prefix_each_line_with_its_pod(cli):
    name = json.loads(cli("submit", str(SEED), "--wait", "-o", "json").stdout)["metadata"]["name"]
    done = cli("logs", name)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{name}-echo-") and lines[0].endswith(": task-1")
    assert lines[1].endswith(": task-2")


def test_list_and_delete(cli, tmp_path):
    name = unique("listed")
    done = cli("submit", write(tmp_path, workflow("ok", sh("ok", "true"), name=name)), "--wait")
    assert done.returncode == 0, done.stderr
    listed = cli("list")
    assert listed.returncode == 0
    row = next(line for line in listed.stdout.splitlines() if line.startswith(name))
    assert "Succeeded" in row
    deleted = cli("delete", name)
    assert deleted.returncode == 0 and f"Workflow '{name}' deleted" in deleted.stdout
    assert cli("get", name).returncode == 1


def test_retry_reruns_only_the_failed_nodes(cli, tmp_path, kubectl, wf_namespace):
    # "check" passes only once a ConfigMap (mounted as a volume) has the key "ok": it fails the
    # first run; the test adds the key, and the retry runs "check" and "finish" again, not "setup".
    name = unique("retried")
    main = {
        "name": "main",
        "dag": {
            "tasks": [
                {"name": "setup", "template": "ok"},
                {"name": "check", "template": "check", "dependencies": ["setup"]},
                {"name": "finish", "template": "ok", "dependencies": ["check"]},
            ]
        },
    }
    check = {
        "name": "check",
        "container": {
            "image": "busybox",
            "command": ["sh", "-c", "cat /flag/ok"],
            "volumeMounts": [{"name": "flag", "mountPath": "/flag"}],
        },
    }
    volumes = [{"name": "flag", "configMap": {"name": name, "optional": True}}]
    manifest = workflow("main", main, sh("ok", "echo ok"), check, name=name, volumes=volumes)
    first = cli("submit", write(tmp_path, manifest), "--wait", "-o", "json")
    assert first.returncode == 1, first.stderr
    failed = json.loads(first.stdout)
    by_name = {n["displayName"]: n for n in failed["status"]["nodes"].values()}
    assert (by_name["setup"]["phase"], by_name["check"]["phase"]) == ("Succeeded", "Failed")
    kubectl("create", "configmap", name, "-n", wf_namespace, "--from-literal=ok=yes")
    again = cli("retry", name, "--wait", "-o", "json")
    assert again.returncode == 0, again.stderr
    retried = json.loads(again.stdout)
    after = {n["displayName"]: n for n in retried["status"]["nodes"].values()}
    assert after["setup"]["startedAt"] == by_name["setup"]["startedAt"]  # kept, not run again
    assert after["setup"]["finishedAt"] == by_name["setup"]["finishedAt"]
    assert after["check"]["phase"] == "Succeeded"
    assert after["check"]["startedAt"] >= failed["status"]["finishedAt"]  # a new attempt
    assert after["finish"]["phase"] == "Succeeded"
    assert retried["status"]["phase"] == "Succeeded" and not retried["status"].get("message")


def test_retry_of_a_succeeded_workflow_is_refused(cli, tmp_path):
    name = unique("fine")
    assert cli("submit", write(tmp_path, workflow("ok", sh("ok", "true"), name=name)), "--wait").returncode == 0
    done = cli("retry", name)
    assert done.returncode == 2
    assert "Cannot retry a workflow in phase Succeeded" in done.stderr


def test_submit_from_stdin_and_list_all_namespaces(cli, tmp_path):
    name = unique("stdin")
    manifest = yaml.safe_dump(workflow("ok", sh("ok", "true"), name=name))
    done = cli("submit", "-", "--wait", "-o", "name", input=manifest)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == name
    listed = cli("list", "-A", namespace=False)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["NAMESPACE", "NAME", "STATUS", "AGE", "DURATION", "PROGRESS", "MESSAGE"]
    assert any(row.split()[:3] == [cli.namespace, name, "Succeeded"] for row in rows)
