"""``tiphys sync`` of 1,000 objects over 5 waves with a PreSync and a PostSync Job, beside ``kubectl apply``.

One embedded cluster serves both. First ``kubectl apply -f`` applies the same 1,000 objects (no
hooks) into a namespace of its own; that namespace is deleted before Tiphys runs, so both start
from the same server state. Then ``tiphys sync`` runs as its own process (its own peak RSS,
from ``wait4`` in a small launcher), while a watch on the cluster records, from outside, when each
hook Job completed, when each wave's Deployments became available and when each wave's first
object appeared: the gaps between "what a wave waited for happened" and "the next wave's first
write" are the latency the sync adds between waves (Argo CD waits 2 s there by default). Last, a second
``tiphys sync`` of the same revision, where nothing changes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import uvloop
import yaml

from ._common import ClusterProcess, Compare, Context, Row, log, median, running_cluster

__all__ = ["TITLE", "run"]

TITLE = "tiphys sync: 1,000 objects over 5 waves with PreSync/PostSync Jobs, beside kubectl apply"
WAVES = 5
CONFIGMAPS, SERVICES, DEPLOYMENTS = 150, 40, 10  # per wave: 200 objects
WAVE_LABEL = "bench.tiphys.io/wave"
APP = "bench-sync"


# The manifests -------------------------------------------------------------------------------


def _meta(name: str, wave: int, *, hooks: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {WAVE_LABEL: str(wave)}}
    if hooks:
        meta["annotations"] = {"argocd.argoproj.io/sync-wave": str(wave)}
    return meta


def _wave(wave: int, *, hooks: bool) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for i in range(CONFIGMAPS):
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": _meta(f"cm-{wave}-{i}", wave, hooks=hooks),
                "data": {"index": str(i), "settings.yaml": f"wave: {wave}\nreplicas: 1\nname: cm-{wave}-{i}\n"},
            }
        )
    for i in range(SERVICES):
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": _meta(f"svc-{wave}-{i}", wave, hooks=hooks),
                "spec": {"selector": {"app": f"web-{wave}-{i % DEPLOYMENTS}"}, "ports": [{"port": 80}]},
            }
        )
    for i in range(DEPLOYMENTS):
        labels = {"app": f"web-{wave}-{i}"}
        objects.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": _meta(f"web-{wave}-{i}", wave, hooks=hooks),
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "terminationGracePeriodSeconds": 0,
                            "containers": [{"name": "web", "image": "busybox", "command": ["sleep", "3600"]}],
                        },
                    },
                },
            }
        )
    return objects


def _hook(name: str, hook: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "annotations": {
                "argocd.argoproj.io/hook": hook,
                "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
            },
        },
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", f"echo {hook} ok"]}],
                }
            },
        },
    }


def write_manifests(root: Path, *, hooks: bool) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for wave in range(WAVES):
        docs = _wave(wave, hooks=hooks)
        (root / f"wave-{wave}.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    if hooks:
        (root / "hooks.yaml").write_text(
            yaml.safe_dump_all([_hook("presync", "PreSync"), _hook("postsync", "PostSync")])
        )
    return root


# Watching from outside -----------------------------------------------------------------------


@dataclass
class Seen:
    """When (``perf_counter``) things first happened in the synced namespace."""

    first_in_wave: dict[int, float] = field(default_factory=dict)
    available: dict[int, dict[str, float]] = field(default_factory=dict)  # wave -> deployment -> time
    hooks_done: dict[str, float] = field(default_factory=dict)

    def note(self, obj: dict[str, Any], at: float) -> None:
        meta = obj.get("metadata") or {}
        kind = obj.get("kind")
        if kind == "Job":
            done = any(
                c.get("type") == "Complete" and c.get("status") == "True"
                for c in (obj.get("status") or {}).get("conditions") or []
            )
            if done:
                self.hooks_done.setdefault(meta["name"], at)
            return
        wave = (meta.get("labels") or {}).get(WAVE_LABEL)
        if wave is None:
            return
        self.first_in_wave.setdefault(int(wave), at)
        if kind == "Deployment":
            status = obj.get("status") or {}
            if status.get("availableReplicas", 0) >= 1 and status.get("observedGeneration") == meta.get("generation"):
                self.available.setdefault(int(wave), {}).setdefault(meta["name"], at)

    def gaps(self) -> tuple[float | None, list[float]]:
        """PreSync hook done -> wave 0's first write; each wave's last Deployment available -> next wave's first."""
        hook_gap = None
        if "presync" in self.hooks_done and 0 in self.first_in_wave:
            hook_gap = self.first_in_wave[0] - self.hooks_done["presync"]
        waves = []
        for wave in range(WAVES - 1):
            ready = self.available.get(wave) or {}
            if len(ready) == DEPLOYMENTS and wave + 1 in self.first_in_wave:
                waves.append(self.first_in_wave[wave + 1] - max(ready.values()))
        return hook_gap, waves


async def _watch(
    cluster: ClusterProcess, namespace: str, seen: Seen, ready: threading.Event, stop: asyncio.Event
) -> None:
    paths = ["/api/v1/configmaps", "/api/v1/services", "/apis/apps/v1/deployments", "/apis/batch/v1/jobs"]
    async with cluster.async_client(timeout=None) as client:

        async def follow(path: str, started: asyncio.Event) -> None:
            rv = (await client.get(path, params={"limit": 1})).json()["metadata"]["resourceVersion"]
            params = {"watch": "true", "resourceVersion": rv, "fieldSelector": f"metadata.namespace={namespace}"}
            async with client.stream("GET", path, params=params) as stream:
                started.set()
                async for line in stream.aiter_lines():
                    seen.note(orjson.loads(line)["object"], time.perf_counter())

        flags = [asyncio.Event() for _ in paths]
        tasks = [asyncio.create_task(follow(p, f)) for p, f in zip(paths, flags, strict=True)]
        await asyncio.gather(*(f.wait() for f in flags))
        ready.set()
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# Processes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timed:
    seconds: float
    peak_rss_mib: float
    output: str


# A child's peak RSS as wait4 reports it starts from its parent's RSS when it exec'd (Linux keeps
# the larger of the two), so a command started by this process, grown to 100 MiB by the
# apiserver module, would report at least that. A small launcher starts the command instead and
# writes the command's own figure to a file; the launcher's ~10 MiB is below any command's peak.
_LAUNCHER = """
import os, sys
report, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    os.execvp(argv[0], argv)
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _timed_run(argv: list[str], env: dict[str, str]) -> Timed:
    """Run ``argv`` to its end; wall time and the command's own peak RSS (see ``_LAUNCHER``)."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "maxrss"
        started = time.perf_counter()
        process = subprocess.run(
            [sys.executable, "-S", "-c", _LAUNCHER, str(report), *argv], env=env, capture_output=True, check=False
        )
        seconds = time.perf_counter() - started
        if process.returncode != 0:
            err, out = process.stderr.decode()[-3000:], process.stdout.decode()[-3000:]
            raise RuntimeError(f"{argv[:4]} exited {process.returncode}:\n{err}\n{out}")
        return Timed(seconds, int(report.read_text()) / 1024, process.stdout.decode())


def _env(cluster: ClusterProcess) -> dict[str, str]:
    return {**os.environ, "TIPHYS_HOME": str(cluster.home)}


def _kubectl(cluster: ClusterProcess, cache: Path, *args: str) -> list[str]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RuntimeError("kubectl is not on PATH")
    return [kubectl, f"--kubeconfig={cluster.home / 'kubeconfig'}", f"--cache-dir={cache}", *args]


def _tiphys_sync(cluster: ClusterProcess, manifests: Path, namespace: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tiphys.cli",
        "sync",
        str(manifests),
        "--app",
        APP,
        "--dest-namespace",
        namespace,
        "--sync-option",
        "CreateNamespace=true",
        "--kubeconfig",
        str(cluster.home / "kubeconfig"),
        "-o",
        "json",
    ]


def _sync_watched(cluster: ClusterProcess, argv: list[str], namespace: str) -> tuple[Timed, Seen]:
    """Run the sync while a watch (in its own thread and loop) records what happens in ``namespace``."""
    seen = Seen()
    ready = threading.Event()
    box: dict[str, Any] = {}

    def watcher() -> None:
        async def main() -> None:
            stop = asyncio.Event()
            box["stop"] = (asyncio.get_running_loop(), stop)
            await _watch(cluster, namespace, seen, ready, stop)

        try:
            uvloop.run(main())
        except BaseException as e:  # surfaced by the waiting thread below
            box["error"] = e
            ready.set()

    thread = threading.Thread(target=watcher, daemon=True)
    thread.start()
    if not ready.wait(30) or "error" in box:
        raise RuntimeError("the watch did not start") from box.get("error")
    try:
        timed = _timed_run(argv, _env(cluster))
    finally:
        loop, stop = box["stop"]
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
    return timed, seen


def _operation(output: str) -> dict[str, Any]:
    state: dict[str, Any] = orjson.loads(output)
    if state.get("phase") != "Succeeded":
        raise RuntimeError(f"the sync did not succeed: {state.get('phase')}: {state.get('message')}")
    return state


def _wait_gone(cluster: ClusterProcess, namespace: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    with cluster.client() as client:
        while client.get(f"/api/v1/namespaces/{namespace}").status_code != 404:
            if time.monotonic() > deadline:
                raise RuntimeError(f"namespace {namespace} was not deleted in {timeout:.0f} s")
            time.sleep(0.2)


def run(ctx: Context) -> list[Row]:
    plain = write_manifests(ctx.workdir / "plain", hooks=False)
    app = write_manifests(ctx.workdir / "app", hooks=True)
    total = WAVES * (CONFIGMAPS + SERVICES + DEPLOYMENTS)
    with running_cluster(ctx.workdir / "home") as cluster:
        cache = ctx.workdir / "kubectl-cache"
        env = _env(cluster)
        log(f"kubectl apply -f of {total} objects")
        _timed_run(_kubectl(cluster, cache, "create", "namespace", "bench-kubectl"), env)
        kubectl = _timed_run(_kubectl(cluster, cache, "apply", "-n", "bench-kubectl", "-f", str(plain)), env)
        _timed_run(_kubectl(cluster, cache, "delete", "namespace", "bench-kubectl", "--wait=false"), env)
        _wait_gone(cluster, "bench-kubectl")

        log(f"tiphys sync of the same {total} objects in {WAVES} waves, PreSync and PostSync Jobs")
        timings = ctx.workdir / "sync-timings.json"
        os.environ["TIPHYS_SYNC_TIMINGS"] = str(timings)
        try:
            first, seen = _sync_watched(cluster, _tiphys_sync(cluster, app, "bench-sync"), "bench-sync")
        finally:
            del os.environ["TIPHYS_SYNC_TIMINGS"]
        driver_gaps = orjson.loads(timings.read_bytes())["event_to_next_write_ms"] if timings.exists() else []
        state = _operation(first.output)
        log("tiphys sync again: nothing changed")
        again = _timed_run(_tiphys_sync(cluster, app, "bench-sync"), env)
        _operation(again.output)

    hook_gap, wave_gaps = seen.gaps()
    results = len((state.get("syncResult") or {}).get("resources") or [])
    ms = 1000.0
    rows = [
        Row(
            "sync",
            f"sync {total} objects + 2 hook Jobs (bare = kubectl apply -f, no hooks)",
            first.seconds,
            "s",
            bare=kubectl.seconds,
            compare=Compare.TIME,
            goal=0.5,
            note=f"{results} results; waits for every wave's health; kubectl does not",
            detail={"kubectl_s": kubectl.seconds, "tiphys_s": first.seconds},
        ),
        Row("sync", "no-change re-sync of the same revision", again.seconds, "s"),
        Row("sync", "peak RSS of `tiphys sync` (1,000 objects)", first.peak_rss_mib, "MiB"),
        Row("sync", "peak RSS of `kubectl apply` (same objects)", kubectl.peak_rss_mib, "MiB"),
    ]
    if hook_gap is not None:
        rows.append(
            Row(
                "sync",
                "PreSync Job complete -> first apply of wave 0",
                hook_gap * ms,
                "ms",
                note="seen by an outside watch; goal < 100 ms (Argo CD: 2 s between waves)",
            )
        )
    if driver_gaps:
        rows.append(
            Row(
                "sync",
                "inside tiphys sync: waited-for event -> next write",
                median(driver_gaps),
                "ms",
                note=f"median of {len(driver_gaps)} (hooks and waves); max {max(driver_gaps):.0f} ms; "
                "goal < 100 ms",
                detail={"gaps_ms": driver_gaps},
            )
        )
    if wave_gaps:
        rows.append(
            Row(
                "sync",
                "wave healthy -> next wave's first apply",
                median(wave_gaps) * ms,
                "ms",
                note=f"median of {len(wave_gaps)}; max {max(wave_gaps) * ms:.0f} ms",
                detail={"gaps_ms": [g * ms for g in wave_gaps]},
            )
        )
    return rows
