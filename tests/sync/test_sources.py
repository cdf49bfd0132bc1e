"""Sources a sync reads: a Helm chart with hooks (rendered by helm), Kustomize, and Git revisions."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tiphys.engine import OperationPhase

from .conftest import HOOK, configmap, job, result, write

pytestmark = pytest.mark.asyncio(loop_scope="session")

CHART_HOOK = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
  annotations:
    "helm.sh/hook": {hook}
    "helm.sh/hook-weight": "{weight}"
    "helm.sh/hook-delete-policy": {policy}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox
          command: ["sh", "-c", "echo {name}"]
"""


def chart(root: Path) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 1.2.3\n")
    (root / "values.yaml").write_text("greeting: hello\n")
    (root / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\n"
        "data:\n  greeting: {{ .Values.greeting }}\n"
    )
    hooks = [
        ("migrate", "pre-install,pre-upgrade", -1, "before-hook-creation"),
        ("seed", "pre-install", 0, "hook-succeeded"),
        ("smoke", "post-install,post-upgrade", 0, "before-hook-creation"),
        ("helm-test", "test", 0, "hook-succeeded"),
        ("on-delete", "pre-delete", 0, "hook-succeeded"),
    ]
    for name, hook, weight, policy in hooks:
        text = CHART_HOOK.format(name=name, hook=hook, weight=weight, policy=policy)
        (root / "templates" / f"{name}.yaml").write_text(text)
    return root


async def test_helm_hooks_map_onto_the_sync_phases(app, tmp_path):
    state = await app.sync(chart(tmp_path / "chart"))
    assert (state.phase, state.message) == (OperationPhase.SUCCEEDED, "successfully synced (no more tasks)")
    rows = [(r.sync_phase.value, r.kind, r.name) for r in state.results if r.kind != "Namespace"]
    assert rows == [
        ("PreSync", "Job", "migrate"),  # weight -1 is an earlier wave
        ("PreSync", "Job", "seed"),
        ("Sync", "ConfigMap", f"{app.name}-settings"),  # the release is named after the app
        ("PostSync", "Job", "smoke"),
    ]
    jobs = await app.names("Job", "batch/v1")
    assert jobs == ["migrate", "smoke"]  # hook-succeeded deleted seed; test and pre-delete hooks never ran


async def test_kustomize_output_is_synced(app, tmp_path):
    base = write(tmp_path / "repo" / "base", configmap("settings"), job("check", **{HOOK: "PreSync"}))
    (base / "kustomization.yaml").write_text("resources: [app.yaml]\nnamePrefix: prod-\n")
    state = await app.sync(base)
    assert state.phase is OperationPhase.SUCCEEDED
    assert result(state, "prod-check").hook_phase is OperationPhase.SUCCEEDED
    assert await app.get("ConfigMap", "prod-settings") is not None


def git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
        "HOME": str(repo.parent),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip()


async def test_git_revisions_sync_the_commit_asked_for(app, tmp_path):
    repo = tmp_path / "origin"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo / "deploy", configmap("v1"))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    first = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "release-1")
    (repo / "deploy" / "app.yaml").write_text(yaml.safe_dump(configmap("v2")))
    git(repo, "commit", "-q", "-am", "two")
    url = f"file://{repo}"

    state = await app.sync(url, path="deploy", revision="release-1", prune=True)
    assert state.sync_result.revision == first
    assert "v1" in await app.names("ConfigMap")
    state = await app.sync(url, path="deploy", revision="main", prune=True)
    assert state.sync_result.revision == git(repo, "rev-parse", "HEAD")
    names = await app.names("ConfigMap")
    assert "v2" in names and "v1" not in names
