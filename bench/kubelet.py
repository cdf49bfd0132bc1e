"""The embedded kubelet and Job controller: how fast a hook's container really runs.

Measured on this machine in one run: bubblewrap's own start-and-exit cost for `true` (the
sandbox's floor), Pod create-to-Running for a `sleep` container, Job create-to-Complete for a
`true` container (medians of sequential runs, each timed from the create's response to the
watch event that shows the state), and 100 Jobs created at once until the last is Complete.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from typing import Any

import orjson
import uvloop

from ._common import ClusterProcess, Context, Row, log, median, percentile, running_cluster

__all__ = ["TITLE", "run"]

TITLE = "Embedded kubelet: sandboxed containers, Pods and Jobs"
SEQUENTIAL = 50
AT_ONCE = 100
NS = "bench-kubelet"


def _bwrap_floor(runs: int = SEQUENTIAL) -> list[float]:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return []
    argv = [
        bwrap,
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
        "--unshare-pid",
        "--die-with-parent",
        "true",
    ]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True)
        times.append(time.perf_counter() - started)
    return times


def _pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "main", "image": "busybox", "command": ["sleep", "30"]}],
        },
    }


def _job(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "busybox", "command": ["true"]}],
                }
            },
        },
    }


def _complete(job: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Complete" and c.get("status") == "True"
        for c in (job.get("status") or {}).get("conditions") or []
    )


async def _watch_until(
    cluster: ClusterProcess, path: str, done: dict[str, float], want: set[str], reached: Any, ready: asyncio.Event
) -> None:
    """Record when each wanted object first reaches the state ``reached`` tests for."""
    async with cluster.async_client() as client:
        rv = (await client.get(path)).json()["metadata"]["resourceVersion"]
        ready.set()
        async with client.stream("GET", path, params={"watch": "true", "resourceVersion": rv}, timeout=None) as stream:
            async for line in stream.aiter_lines():
                obj = orjson.loads(line)["object"]
                name = obj["metadata"]["name"]
                if name in want and name not in done and reached(obj):
                    done[name] = time.perf_counter()
                    if want <= done.keys():
                        return


async def _timed(
    cluster: ClusterProcess, path: str, manifests: list[dict[str, Any]], reached: Any, *, at_once: bool
) -> tuple[list[float], float]:
    """Latencies from each create's response to its state, and the wall time for all of them."""
    done: dict[str, float] = {}
    created: dict[str, float] = {}
    want = {m["metadata"]["name"] for m in manifests}
    ready = asyncio.Event()
    watcher = asyncio.create_task(_watch_until(cluster, path, done, want, reached, ready))
    await asyncio.wait({watcher, asyncio.create_task(ready.wait())}, return_when=asyncio.FIRST_COMPLETED)
    if watcher.done():
        watcher.result()  # the watch failed before it started: raise its error
    started = time.perf_counter()
    async with cluster.async_client() as client:

        async def create(manifest: dict[str, Any]) -> None:
            response = await client.post(path, json=manifest)
            response.raise_for_status()
            created[manifest["metadata"]["name"]] = time.perf_counter()

        if at_once:
            await asyncio.gather(*(create(m) for m in manifests))
        else:
            for manifest in manifests:
                await create(manifest)
                name = manifest["metadata"]["name"]
                while name not in done:
                    await asyncio.sleep(0.001)
    await asyncio.wait_for(watcher, timeout=300)
    wall = max(done.values()) - started
    return [done[name] - created[name] for name in want], wall


async def _measure(cluster: ClusterProcess) -> dict[str, Any]:
    async with cluster.async_client() as client:
        await client.post("/api/v1/namespaces", json={"metadata": {"name": NS}})
    pods = f"/api/v1/namespaces/{NS}/pods"
    jobs = f"/apis/batch/v1/namespaces/{NS}/jobs"
    log(f"{SEQUENTIAL} pods, one after the other")
    pod_times, _ = await _timed(
        cluster,
        pods,
        [_pod(f"p{i}") for i in range(SEQUENTIAL)],
        lambda o: (o.get("status") or {}).get("phase") == "Running",
        at_once=False,
    )
    log(f"{SEQUENTIAL} jobs, one after the other")
    job_times, _ = await _timed(cluster, jobs, [_job(f"j{i}") for i in range(SEQUENTIAL)], _complete, at_once=False)
    log(f"{AT_ONCE} jobs at once")
    burst_times, burst_wall = await _timed(
        cluster, jobs, [_job(f"b{i}") for i in range(AT_ONCE)], _complete, at_once=True
    )
    return {"pod": pod_times, "job": job_times, "burst": burst_times, "burst_wall": burst_wall}


def run(ctx: Context) -> list[Row]:
    log("bubblewrap floor")
    floor = _bwrap_floor()
    with running_cluster(ctx.workdir / "kubelet") as cluster:
        figures = uvloop.run(_measure(cluster))
    ms = 1000.0
    rows = []
    if floor:
        rows.append(
            Row(
                "kubelet",
                "bwrap start+exit of `true` (floor)",
                median(floor) * ms,
                "ms",
                note=f"median of {len(floor)}; p90 {percentile(floor, 90) * ms:.1f} ms",
            )
        )
    pod, job, burst = figures["pod"], figures["job"], figures["burst"]
    rows += [
        Row(
            "kubelet",
            "Pod create -> Running (`sleep`)",
            median(pod) * ms,
            "ms",
            note=f"median of {len(pod)}; p90 {percentile(pod, 90) * ms:.1f} ms",
        ),
        Row(
            "kubelet",
            "Job create -> Complete (`true`)",
            median(job) * ms,
            "ms",
            note=f"median of {len(job)}; p90 {percentile(job, 90) * ms:.1f} ms; goal < 150 ms",
        ),
        Row(
            "kubelet",
            f"{AT_ONCE} Jobs at once -> all Complete",
            figures["burst_wall"],
            "s",
            note=f"per job median {median(burst) * ms:.0f} ms, p90 {percentile(burst, 90) * ms:.0f} ms",
        ),
    ]
    return rows
