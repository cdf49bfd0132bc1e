"""The Application controller at scale: 200 apps with a PreSync Job hook each, created at once.

One Git repository (served by a real ``git daemon``) holds an app of five objects (three
ConfigMaps, a Secret, a Service) and a PreSync Job hook that runs ``true`` in the sandboxed
kubelet. 200 Applications with automated sync, each into its own namespace, are created at
once against the embedded cluster, with a ``tiphys controller`` process running beside it. The
figures: the time from the first create until every app is Synced and Healthy with its last
operation Succeeded, the controller's peak resident memory (VmHWM), and how soon a change made
by hand to a managed object shows as OutOfSync (the watch, not a timer, tells the controller).

Knobs for investigating: ``TIPHYS_BENCH_APPS`` (default 200), ``TIPHYS_BENCH_KEEP_LOG=FILE`` (copy
the controller's log there), ``TIPHYS_BENCH_PROFILE=FILE`` (run the controller under cProfile).

The anchor is Argo CD's published scale test: 10,000 apps with a 10 s PreSync hook held its
operation queue for about 40 minutes at default settings.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import uvloop

from ._common import (
    REPO,
    ClusterProcess,
    Context,
    Row,
    cpu_seconds,
    free_port,
    log,
    median,
    memory_of,
    start_cluster,
)

__all__ = ["TITLE", "run"]

TITLE = "Application controller: 200 apps with a PreSync hook, automated sync"
APPS = int(os.environ.get("TIPHYS_BENCH_APPS", "200"))
DRIFTS = 10  # apps whose objects are changed by hand afterwards, one after the other
TIMEOUT = 900.0
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}
_HOOK = """apiVersion: batch/v1
kind: Job
metadata:
  generateName: migrate-
  annotations:
    argocd.argoproj.io/hook: PreSync
    argocd.argoproj.io/hook-delete-policy: BeforeHookCreation
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers: [{name: main, image: busybox, command: ["true"]}]
"""
_OBJECTS = """apiVersion: v1
kind: ConfigMap
metadata: {name: settings-1}
data: {mode: "on"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings-2}
data: {mode: "off"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings-3}
data: {level: "3"}
---
apiVersion: v1
kind: Secret
metadata: {name: credentials}
stringData: {token: not-a-real-token}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 80}]
  selector: {app: web}
"""


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True)


def _repository(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A git daemon serving one repository with the app; returns it and the repoURL."""
    served, work = workdir / "served", workdir / "work"
    served.mkdir()
    work.mkdir()
    _git(served, "init", "-q", "--bare", "-b", "main", "app.git")
    _git(work, "init", "-q", "-b", "main")
    (work / "app").mkdir()
    (work / "app" / "hook.yaml").write_text(_HOOK)
    (work / "app" / "objects.yaml").write_text(_OBJECTS)
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "app")
    _git(work, "push", "-q", str(served / "app.git"), "main")
    port = free_port()
    daemon = subprocess.Popen(
        ["git", "daemon", "--export-all", f"--base-path={served}", f"--port={port}", "--reuseaddr",
         "--listen=127.0.0.1", str(served)],
        env=GIT_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    for _ in range(200):
        if subprocess.run(["git", "ls-remote", f"git://127.0.0.1:{port}/app.git"], capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    return daemon, f"git://127.0.0.1:{port}/app.git"


def _start(argv: list[str], log_file: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with open(log_file, "ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env, start_new_session=True)


def _application(index: int, repo: str) -> dict[str, Any]:
    name = f"bench-{index:03d}"
    return {
        "apiVersion": "tiphys.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "tiphys"},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo, "path": "app", "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
            "syncPolicy": {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]},
        },
    }


def _done(app: dict[str, Any]) -> bool:
    status = app.get("status") or {}
    return (
        (status.get("sync") or {}).get("status") == "Synced"
        and (status.get("health") or {}).get("status") == "Healthy"
        and (status.get("operationState") or {}).get("phase") == "Succeeded"
    )


async def _measure(cluster: ClusterProcess, repo: str, controller: subprocess.Popen[bytes]) -> dict[str, Any]:
    base = "/apis/tiphys.io/v1alpha1/namespaces/tiphys/applications"
    peak = 0.0
    async with cluster.async_client() as http:
        for _ in range(600):  # the controller installs the Application CRD on start
            if (await http.get(base)).status_code == 200:
                break
            await asyncio.sleep(0.1)
        started = time.monotonic()
        answers = await asyncio.gather(*(http.post(base, json=_application(i, repo)) for i in range(APPS)))
        created = time.monotonic() - started
        failed = [a.text for a in answers if a.status_code != 201]
        if failed:
            raise RuntimeError(f"{len(failed)} Applications not created: {failed[0]}")
        log(f"{APPS} Applications created in {created:.1f} s; waiting for Synced + Healthy")
        done = 0
        while time.monotonic() - started < TIMEOUT:
            if controller.poll() is not None:
                raise RuntimeError(f"the controller exited with code {controller.returncode}")
            peak = max(peak, memory_of(controller.pid).hwm_mib)
            items = (await http.get(base)).json()["items"]
            done = sum(1 for app in items if _done(app))
            if done == APPS:
                break
            await asyncio.sleep(0.5)
        elapsed = time.monotonic() - started
        if done < APPS:
            raise RuntimeError(f"only {done} of {APPS} apps were Synced and Healthy after {TIMEOUT:.0f} s")
        drift = [await _drift(http, f"bench-{i:03d}") for i in range(0, APPS, APPS // DRIFTS)]
    peak = max(peak, memory_of(controller.pid).hwm_mib)
    cpu = cpu_seconds(controller.pid)
    return {"elapsed": elapsed, "created": created, "peak_mib": peak, "drift": drift, "cpu": cpu}


async def _drift(http: httpx.AsyncClient, name: str) -> float:
    """Change a managed ConfigMap by hand; seconds until the app's status says OutOfSync."""
    app = f"/apis/tiphys.io/v1alpha1/namespaces/tiphys/applications/{name}"
    patch = {"data": {"mode": "changed by hand"}}
    headers = {"Content-Type": "application/merge-patch+json"}
    started = time.monotonic()
    answer = await http.patch(f"/api/v1/namespaces/{name}/configmaps/settings-1", json=patch, headers=headers)
    answer.raise_for_status()
    while time.monotonic() - started < 60:
        status = (await http.get(app)).json().get("status") or {}
        if (status.get("sync") or {}).get("status") == "OutOfSync":
            return time.monotonic() - started
        await asyncio.sleep(0.01)
    raise RuntimeError(f"{name}: the change was not noticed within 60 s")


def _profiler() -> list[str]:
    """``TIPHYS_BENCH_PROFILE=FILE``: run the controller under cProfile (written when it stops)."""
    target = os.environ.get("TIPHYS_BENCH_PROFILE")
    return ["-m", "cProfile", "-o", target] if target else []


def run(ctx: Context) -> list[Row]:
    home = ctx.workdir / "home"
    home.mkdir()
    env = {**os.environ, "TIPHYS_HOME": str(home)}
    daemon, repo = _repository(ctx.workdir)
    cluster = start_cluster(home)  # no controller child: the bench runs its own, to measure it
    server = cluster.process
    controller: subprocess.Popen[bytes] | None = None
    try:
        controller = _start(
            [sys.executable, *_profiler(), "-m", "tiphys", "controller", "--kubeconfig", str(home / "kubeconfig"),
             "--repo-poll", "180", "--webhook-addr", f"127.0.0.1:{free_port()}"],
            home / "controller.log",
            env,
        )  # fmt: skip
        figures = uvloop.run(_measure(cluster, repo, controller))
        if os.environ.get("TIPHYS_BENCH_KEEP_LOG"):
            (Path(os.environ["TIPHYS_BENCH_KEEP_LOG"])).write_bytes((home / "controller.log").read_bytes())
    finally:
        for process in (controller, server, daemon):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
    return [
        Row(
            "apps",
            f"{APPS} apps (PreSync Job + 5 objects) created -> all Synced+Healthy",
            figures["elapsed"],
            "s",
            note=(
                f"creates took {figures['created']:.1f} s; controller CPU {figures['cpu']:.1f} s; "
                "Argo CD anchor: 10,000 apps, ~40 min queue stall"
            ),
        ),
        Row("apps", "controller peak RSS (VmHWM)", figures["peak_mib"], "MiB", note=f"{APPS} apps"),
        Row(
            "apps",
            "drift: object changed by hand -> app OutOfSync",
            median(figures["drift"]) * 1000,
            "ms",
            note=f"median of {len(figures['drift'])}, max {max(figures['drift']) * 1000:.0f} ms; by watch, no polling",
        ),
    ]
