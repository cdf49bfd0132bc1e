"""Crash safety: SIGKILL the controller at random moments during 20 automated syncs with PreSync and PostSync hooks.

Every hook Job appends a line to a file on a hostPath volume, so the file counts real
executions (a Job that never ran writes nothing; one that ran twice writes twice). The cluster
of this module allows hostPath (``TIPHYS_ALLOW_HOST_PATH=1``); the controller is a real
``tiphys controller`` process, killed with SIGKILL and started again with the same identity.
After each restart every operation must complete, and no hook may have run a second time.
"""

from __future__ import annotations

import collections
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import RunningCluster, start_cluster

from .conftest import AppsApi, ControllerProcess, app_manifest, wait_until
from .opsupport import HOOK, POLICY, cm, job, unique

SYNCS = 20


@pytest.fixture(scope="module")
def hostpath_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCluster]:
    previous = os.environ.get("TIPHYS_ALLOW_HOST_PATH")
    os.environ["TIPHYS_ALLOW_HOST_PATH"] = "1"  # inherited by the cluster process only while it starts
    try:
        running = start_cluster(tmp_path_factory.mktemp("tiphys-hostpath"))
    finally:
        if previous is None:
            del os.environ["TIPHYS_ALLOW_HOST_PATH"]
        else:
            os.environ["TIPHYS_ALLOW_HOST_PATH"] = previous
    yield running
    running.stop()


def counting_hook(prefix: str, phase: str, line: str, directory: Path) -> dict[str, Any]:
    """A Job hook (generateName) that appends ``line`` to ``runs`` in ``directory``, then takes a second."""
    hook = job("", script=f"echo {line} >> /count/runs && sleep 1", **{HOOK: phase, POLICY: "HookSucceeded"})
    hook["metadata"] = {"generateName": f"{prefix}-", "annotations": hook["metadata"]["annotations"]}
    pod = hook["spec"]["template"]["spec"]
    pod["containers"][0]["volumeMounts"] = [{"name": "count", "mountPath": "/count"}]
    pod["volumes"] = [{"name": "count", "hostPath": {"path": str(directory), "type": "Directory"}}]
    return hook


def revision_files(n: int, directory: Path) -> dict[str, str]:
    docs = [
        cm("settings", f"v{n}"),
        counting_hook("pre", "PreSync", f"pre-{n}", directory),
        counting_hook("post", "PostSync", f"post-{n}", directory),
    ]
    return {"app.yaml": yaml.safe_dump_all(docs, sort_keys=False)}


def synced_to(api: AppsApi, name: str, sha: str) -> bool:
    state = api.status(name).get("operationState") or {}
    return (
        state.get("phase") == "Succeeded"
        and (state.get("syncResult") or {}).get("revision") == sha
        and "operation" not in (api.get(name) or {})
    )


def runs(directory: Path) -> collections.Counter[str]:
    path = directory / "runs"
    return collections.Counter(path.read_text().split()) if path.exists() else collections.Counter()


def test_killed_controller_finishes_every_sync_and_never_reruns_a_hook(hostpath_cluster, git_server, tmp_path):
    counts = tmp_path / "counts"
    counts.mkdir()
    counts.chmod(0o777)
    seed = int(os.environ.get("TIPHYS_CRASH_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    api = AppsApi(hostpath_cluster)
    controller = ControllerProcess(hostpath_cluster, tmp_path / "controller")
    name, ns = unique("crash"), unique("ns")
    repo = git_server.repo("crash", revision_files(0, counts))
    try:
        controller.start()
        api.create(
            app_manifest(name, repo=repo.url, namespace=ns, automated=True, sync_options=("CreateNamespace=true",))
        )
        wait_until(lambda: synced_to(api, name, repo.head()), 120, message="the first sync")
        kills = in_flight = 0
        for n in range(1, SYNCS + 1):
            sha = repo.commit(revision_files(n, counts), message=f"sync {n}")
            for _ in range(rng.choice((1, 1, 2))):
                time.sleep(rng.uniform(0.0, 4.0))  # somewhere in the operation: before, in a hook, between phases
                controller.kill()
                kills += 1
                state = api.status(name).get("operationState") or {}
                in_flight += state.get("phase") == "Running" and state.get("syncResult", {}).get("revision") == sha
                controller.start()
            wait_until(
                lambda sha=sha: synced_to(api, name, sha),
                180,
                message=f"sync {n} to {sha} completed after the restart (seed {seed})",
            )
            assert api.status(name)["operationState"]["syncResult"]["revision"] == sha
        print(f"seed {seed}: {kills} kills, {in_flight} of them during an operation")
        # Random moments must have hit running operations, or the test proved nothing.
        assert in_flight >= SYNCS // 4, f"seed {seed}: only {in_flight} of {kills} kills hit an operation"
        counted = runs(counts)
        expected = {f"{hook}-{n}": 1 for n in range(SYNCS + 1) for hook in ("pre", "post")}
        assert dict(counted) == expected, f"seed {seed}, {kills} kills: {counted}"
        history = api.status(name)["history"]
        assert [h["revision"] for h in history][-1] == repo.head()
        assert len(history) == 10  # revisionHistoryLimit's default
    finally:
        controller.stop()
        api.delete(name, force=True)
        api.close()
