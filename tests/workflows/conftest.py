"""Workflow tests: Tiphys's workflow controller runs as its own process (``python -m tiphys.workflows``)
against the session's embedded cluster, and real pods run every node in the sandboxed kubelet.

Each test submits Workflows with unique names into one namespace of the session and waits, on a
watch, until their phase is final; assertions read ``status.nodes`` as upstream writes it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tiphys.kube import EventType, Kube

API = "argoproj.io/v1alpha1"
TERMINAL = ("Succeeded", "Failed", "Error")
REPO = Path(__file__).resolve().parents[2]


def unique(prefix: str = "wf") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@dataclass
class ControllerProcess:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_controller(
    kubeconfig: Path, log: Path, *, mode: str = "on", extra: tuple[str, ...] = ()
) -> ControllerProcess:
    out = open(log, "ab")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(
        [sys.executable, "-m", "tiphys.workflows", "--kubeconfig", str(kubeconfig), "--mode", mode, *extra],
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        start_new_session=True,
    )
    return ControllerProcess(process, log)


def wait_for(condition: Any, *, timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll a cheap condition (for processes and logs, which send no events) until it holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def wf_controller(cluster, tmp_path_factory) -> Iterator[ControllerProcess]:
    controller = start_controller(cluster.kubeconfig, tmp_path_factory.mktemp("wf-controller") / "controller.log")

    def served() -> bool:
        if controller.process.poll() is not None:
            raise RuntimeError(f"the workflow controller exited:\n{controller.output()[-3000:]}")
        with cluster.client() as client:
            try:
                found = client.get(f"/apis/{API}")
            except httpx.HTTPError:
                return False
            return found.status_code == 200 and any(r["name"] == "workflows" for r in found.json()["resources"])

    wait_for(served, timeout=60, what="the Workflow CRD")
    yield controller
    controller.stop()


@pytest.fixture(scope="session")
def wf_namespace(cluster, wf_controller) -> str:
    name = unique("wft")
    with cluster.client() as client:
        client.post("/api/v1/namespaces", json={"metadata": {"name": name}}).raise_for_status()
    return name


@pytest.fixture
async def kube(cluster) -> AsyncIterator[Kube]:
    async with Kube.from_kubeconfig(cluster.kubeconfig) as client:
        yield client


def workflow(entrypoint: str, *templates: dict[str, Any], name: str | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Workflow",
        "metadata": {"name": name or unique()},
        "spec": {"entrypoint": entrypoint, "templates": list(templates), **spec},
    }


def sh(name: str, script: str, **fields: Any) -> dict[str, Any]:
    """A container template that runs ``sh -c script``."""
    return {"name": name, "container": {"image": "busybox", "command": ["sh", "-c", script]}, **fields}


async def run(kube: Kube, namespace: str, manifest: dict[str, Any], *, timeout: float = 120) -> dict[str, Any]:
    """Create the Workflow and return it once its phase is final."""
    created = await kube.create(manifest, namespace=namespace)
    return await finished(kube, namespace, created["metadata"]["name"], timeout=timeout)


async def finished(kube: Kube, namespace: str, name: str, *, timeout: float = 120) -> dict[str, Any]:
    """The Workflow once its phase is final."""
    return await until(
        kube, namespace, name, lambda wf: (wf.get("status") or {}).get("phase") in TERMINAL, timeout=timeout
    )


async def until(kube: Kube, namespace: str, name: str, condition: Any, *, timeout: float = 120) -> dict[str, Any]:
    """The Workflow once ``condition(workflow)`` holds, followed on a watch."""
    import asyncio

    current = await kube.get(API, "Workflow", name, namespace=namespace)
    if condition(current):
        return current
    async with asyncio.timeout(timeout):
        async for event in kube.watch(
            API,
            "Workflow",
            namespace=namespace,
            fields={"metadata.name": name},
            resource_version=current["metadata"]["resourceVersion"],
        ):
            if event.type is EventType.DELETED:
                raise AssertionError(f"Workflow {name} was deleted")
            if condition(event.object):
                return event.object
    raise AssertionError("unreachable")


def nodes(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Nodes by display name (unique in the small workflows of these tests; the root by its name)."""
    found: dict[str, dict[str, Any]] = {}
    for node in (wf.get("status") or {}).get("nodes", {}).values():
        found[node["displayName"]] = node
    return found


def phases(wf: dict[str, Any]) -> dict[str, str]:
    return {name: node["phase"] for name, node in nodes(wf).items()}


async def pods_of(kube: Kube, namespace: str, name: str) -> list[dict[str, Any]]:
    found = await kube.list("v1", "Pod", namespace=namespace, labels={"workflows.argoproj.io/workflow": name})
    return found.items


async def printed(kube: Kube, namespace: str, wf: dict[str, Any], display_name: str) -> str:
    """What the pod of one node printed (its main container's log, one trailing newline trimmed).

    Upstream captures ``outputs.result`` of a container only when some template refers to a
    result; the log is there either way.
    """
    from tiphys.kube.writes import pod_log

    node = nodes(wf)[display_name]
    for pod in await pods_of(kube, namespace, wf["metadata"]["name"]):
        if pod["metadata"]["annotations"].get("workflows.argoproj.io/node-id") == node["id"]:
            text = await pod_log(kube, pod["metadata"]["name"], namespace=namespace, container="main")
            return text[:-1] if text.endswith("\n") else text
    raise AssertionError(f"no pod for node {display_name}")
