"""The workflow controller: scheduling overhead per node over the bare pod run time.

Measured in one run against one embedded cluster, with Tiphys's workflow controller as its own
process (``python -m tiphys.workflows``):

* bare pods: the same pods created directly, one after the other (each from create to the watch
  event that shows it Succeeded), and as 20 chains of 10 at once (each pod of a chain created
  when the one before it Succeeded) — the floor a workflow cannot go below;
* a 100-step sequential ``steps`` Workflow of ``true`` containers, and a 200-task DAG of ``true``
  containers of width 20 (20 chains of 10 tasks), each from create to the watch event that shows
  it Succeeded.

Overhead per node = (workflow time - time of the same pods without a controller) / nodes. The
goal is under 20 ms per node; the anchor is Argo Workflows at its defaults, about 270 workflows
a minute. The controller's CPU time per node is reported too: it barely moves with the machine's load.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import uvloop

from tiphys.kube import EventType, Kube

from ._common import REPO, ClusterProcess, Context, Row, cpu_seconds, log, median, running_cluster

__all__ = ["TITLE", "run"]

TITLE = "Workflow controller: scheduling overhead per node"
NS = "bench-workflows"
STEPS = 100
WIDTH, DEPTH = 20, 10
BARE_SEQUENTIAL = 30
GOAL_MS = 20.0
API = "argoproj.io/v1alpha1"


def _pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"bench": "bare"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox", "command": ["true"]}]},
    }


def _true() -> dict[str, Any]:
    return {"name": "true", "container": {"image": "busybox", "command": ["true"]}}


def steps_workflow(name: str) -> dict[str, Any]:
    steps = [[{"name": f"s{i}", "template": "true"}] for i in range(STEPS)]
    return {
        "apiVersion": API,
        "kind": "Workflow",
        "metadata": {"name": name},
        "spec": {"entrypoint": "main", "templates": [{"name": "main", "steps": steps}, _true()]},
    }


def dag_workflow(name: str) -> dict[str, Any]:
    tasks = []
    for layer in range(DEPTH):
        for column in range(WIDTH):
            task: dict[str, Any] = {"name": f"t{layer}-{column}", "template": "true"}
            if layer:
                task["dependencies"] = [f"t{layer - 1}-{column}"]
            tasks.append(task)
    return {
        "apiVersion": API,
        "kind": "Workflow",
        "metadata": {"name": name},
        "spec": {"entrypoint": "main", "templates": [{"name": "main", "dag": {"tasks": tasks}}, _true()]},
    }


class _Watcher:
    """Follows one kind in the namespace and wakes waiters when an object reaches a phase."""

    def __init__(self, kube: Kube, api_version: str, kind: str) -> None:
        self.kube, self.api_version, self.kind = kube, api_version, kind
        self.done: dict[str, float] = {}
        self.changed = asyncio.Event()
        self.ready = asyncio.Event()

    async def run(self) -> None:
        listed = await self.kube.list(self.api_version, self.kind, namespace=NS)
        self.ready.set()
        async for event in self.kube.watch(
            self.api_version, self.kind, namespace=NS, resource_version=listed.resource_version
        ):
            if event.type is EventType.DELETED:
                continue
            name = event.object["metadata"]["name"]
            phase = (event.object.get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed", "Error") and name not in self.done:
                self.done[name] = time.perf_counter()
                self.changed.set()

    async def wait(self, names: set[str]) -> None:
        while not names <= self.done.keys():
            self.changed.clear()
            await self.changed.wait()


async def _bare(kube: Kube, pods: _Watcher) -> tuple[list[float], float, float]:
    """Sequential create->Succeeded times, the wall time of 100 one by one, of 20 chains of 10 at once."""
    singles = []
    for i in range(BARE_SEQUENTIAL):
        name = f"single-{i}"
        started = time.perf_counter()
        await kube.create(_pod(name), namespace=NS)
        await pods.wait({name})
        singles.append(pods.done[name] - started)
    started = time.perf_counter()
    for i in range(STEPS):
        await kube.create(_pod(f"chain-{i}"), namespace=NS)
        await pods.wait({f"chain-{i}"})
    chain = time.perf_counter() - started


    async def column(c: int) -> None:
        for layer in range(DEPTH):
            await kube.create(_pod(f"col-{c}-{layer}"), namespace=NS)
            await pods.wait({f"col-{c}-{layer}"})

    started = time.perf_counter()
    await asyncio.gather(*(column(c) for c in range(WIDTH)))
    chains = time.perf_counter() - started
    return singles, chain, chains


async def _workflow(kube: Kube, workflows: _Watcher, manifest: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    name = manifest["metadata"]["name"]
    started = time.perf_counter()
    await kube.create(manifest, namespace=NS)
    await workflows.wait({name})
    wall = workflows.done[name] - started
    return wall, await kube.get(API, "Workflow", name, namespace=NS)


async def _served(kube: Kube, controller: subprocess.Popen[bytes], log_path: Path) -> None:
    while True:
        if controller.poll() is not None:
            raise RuntimeError(f"the workflow controller exited: {log_path.read_text()[-3000:]}")
        try:
            await kube.resource(API, "Workflow")
            return
        except Exception:
            await asyncio.sleep(0.05)


async def _measure(cluster: ClusterProcess, controller: subprocess.Popen[bytes], log_path: Path) -> dict[str, Any]:
    async with Kube.from_kubeconfig(cluster.home / "kubeconfig") as kube:
        await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        await _served(kube, controller, log_path)
        pods, workflows = _Watcher(kube, "v1", "Pod"), _Watcher(kube, API, "Workflow")
        tasks = [asyncio.create_task(w.run()) for w in (pods, workflows)]
        await asyncio.gather(pods.ready.wait(), workflows.ready.wait())
        try:
            log(f"bare pods: {BARE_SEQUENTIAL} one by one, {STEPS} in a chain, {WIDTH} chains of {DEPTH} at once")
            singles, chain, chains = await _bare(kube, pods)
            # A warm-up workflow, so that the first measured one does not pay for imports and caches.
            await _workflow(kube, workflows, steps_workflow("warm-up"))
            cpu_before = cpu_seconds(controller.pid)
            log(f"{STEPS}-step sequential steps workflow")
            steps_wall, steps_wf = await _workflow(kube, workflows, steps_workflow("steps-100"))
            cpu_steps = cpu_seconds(controller.pid) - cpu_before
            log(f"{WIDTH * DEPTH}-task DAG, width {WIDTH}")
            cpu_before = cpu_seconds(controller.pid)
            dag_wall, dag_wf = await _workflow(kube, workflows, dag_workflow("dag-200"))
            cpu_dag = cpu_seconds(controller.pid) - cpu_before
        finally:
            for task in tasks:
                task.cancel()
    for wf in (steps_wf, dag_wf):
        if wf["status"]["phase"] != "Succeeded":
            raise RuntimeError(f"{wf['metadata']['name']} ended {wf['status']['phase']}: {wf['status'].get('message')}")
    return {
        "singles": singles,
        "chain": chain,
        "chains": chains,
        "steps_wall": steps_wall,
        "dag_wall": dag_wall,
        "cpu_steps": cpu_steps,
        "cpu_dag": cpu_dag,
        "steps_progress": steps_wf["status"].get("progress"),
        "dag_progress": dag_wf["status"].get("progress"),
    }


def run(ctx: Context) -> list[Row]:
    with running_cluster(ctx.workdir / "home") as cluster:
        log_path = ctx.workdir / "controller.log"
        with open(log_path, "ab") as out:
            controller = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tiphys.workflows",
                    "--kubeconfig",
                    str(cluster.home / "kubeconfig"),
                    "--mode",
                    "on",
                    "--log-level",
                    "WARNING",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                start_new_session=True,
            )
        try:
            figures = uvloop.run(_measure(cluster, controller, log_path))
        finally:
            controller.terminate()
            controller.wait(timeout=30)
    ms = 1000.0
    steps_overhead = (figures["steps_wall"] - figures["chain"]) / STEPS * ms
    nodes = WIDTH * DEPTH
    dag_overhead = (figures["dag_wall"] - figures["chains"]) / nodes * ms
    pod = median(figures["singles"]) * ms
    return [
        Row(
            "workflows",
            "bare pod create -> Succeeded (median)",
            pod,
            "ms",
            note=f"{BARE_SEQUENTIAL} sequential `true` pods",
            detail={"samples_s": figures["singles"]},
        ),
        Row("workflows", f"{STEPS} bare pods one after the other", figures["chain"], "s"),
        Row(
            "workflows",
            f"{STEPS}-step steps workflow",
            figures["steps_wall"],
            "s",
            note=f"progress {figures['steps_progress']}, controller CPU {figures['cpu_steps'] / STEPS * ms:.1f} ms/node",  # noqa: E501
        ),
        Row(
            "workflows",
            "steps: overhead per node over bare pods",
            steps_overhead,
            "ms",
            note=f"goal < {GOAL_MS:g} ms: {'met' if steps_overhead < GOAL_MS else 'MISSED'}",
        ),
        Row("workflows", f"{WIDTH} chains of {DEPTH} bare pods at once", figures["chains"], "s"),
        Row(
            "workflows",
            f"{nodes}-task DAG (width {WIDTH})",
            figures["dag_wall"],
            "s",
            note=f"progress {figures['dag_progress']}, controller CPU {figures['cpu_dag'] / nodes * ms:.1f} ms/node",
        ),
        Row(
            "workflows",
            "DAG: overhead per node over bare pods",
            dag_overhead,
            "ms",
            note=f"goal < {GOAL_MS:g} ms: {'met' if dag_overhead < GOAL_MS else 'MISSED'}",
        ),
    ]
