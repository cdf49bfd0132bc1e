"""Helpers of the kubelet tests: pod manifests, pods over real HTTP, polling, marked processes.

Every container these tests start carries the environment variable ``TIPHYS_TEST_MARKER``, so a
test can find the processes of its pods in ``/proc`` (bwrap's command line holds it too).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

MARKER_ENV = "TIPHYS_TEST_MARKER"
MARKER = f"kubelet-test-{uuid.uuid4().hex[:8]}"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def marked_processes(marker: str) -> list[int]:
    """Pids whose command line or environment contains ``marker``."""
    found = []
    needle = marker.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        for part in ("cmdline", "environ"):
            try:
                if needle in (entry / part).read_bytes():
                    found.append(int(entry.name))
                    break
            except OSError:
                continue
    return found


def wait_for(check: Callable[[], Any], *, timeout: float = 20.0, interval: float = 0.05, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}; last: {last!r}")


def container(name: str = "main", command: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "image": "busybox:1.36", **extra}
    if command is not None:
        spec["command"] = command
    spec.setdefault("env", []).append({"name": MARKER_ENV, "value": MARKER})
    return spec


def pod(name: str, *containers: dict[str, Any], restart: str = "Never", **spec: Any) -> dict[str, Any]:
    annotations = spec.pop("annotations", None)
    metadata: dict[str, Any] = {"name": name}
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"restartPolicy": restart, "containers": list(containers), **spec},
    }


def sh(script: str, **extra: Any) -> dict[str, Any]:
    """A container running ``sh -c script``."""
    return container(command=["sh", "-c", script], **extra)


class Pods:
    """Pods of one namespace, over the API server's HTTP interface."""

    def __init__(self, client: httpx.Client, namespace: str) -> None:
        self.client = client
        self.namespace = namespace

    @property
    def base(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}"

    def create(self, manifest: dict[str, Any], kind: str = "pods") -> dict[str, Any]:
        response = self.client.post(f"{self.base}/{kind}", json=manifest)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def get(self, name: str) -> dict[str, Any] | None:
        response = self.client.get(f"{self.base}/pods/{name}")
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def status(self, name: str) -> dict[str, Any]:
        return (self.get(name) or {}).get("status") or {}

    def wait_phase(self, name: str, *phases: str, timeout: float = 20.0) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            got = self.get(name)
            return got if got and (got.get("status") or {}).get("phase") in phases else None

        found: dict[str, Any] = wait_for(reached, timeout=timeout, what=f"pod {name} in phase {phases}")
        return found

    def logs(self, name: str, container: str = "main", **query: str) -> str:
        response = self.client.get(f"{self.base}/pods/{name}/log", params={"container": container, **query})
        assert response.status_code == 200, response.text
        return response.text

    def events(self, name: str) -> list[dict[str, Any]]:
        response = self.client.get(f"{self.base}/events")
        items = response.json()["items"]
        return [e for e in items if e["involvedObject"]["name"] == name]

    def delete(self, name: str, **body: Any) -> None:
        response = self.client.request("DELETE", f"{self.base}/pods/{name}", json=body or None)
        assert response.status_code in (200, 202), response.text


def container_status(pod_obj: dict[str, Any], name: str = "main") -> dict[str, Any]:
    for status in (pod_obj.get("status") or {}).get("containerStatuses") or ():
        if status["name"] == name:
            found: dict[str, Any] = status
            return found
    return {}
