"""Helpers of the controller tests: raw HTTP calls, polling, and playing the kubelet's part.

Tests that need no real process write pod status through the ``status`` subresource, as the
kubelet would. Their pods are bound to a node no kubelet serves and have no grace period, so a
running kubelet leaves them alone and deleting them is immediate.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

NOWHERE = "tiphys-test-nowhere"
T = TypeVar("T")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def wait_for(probe: Callable[[], T], *, timeout: float = 15.0, interval: float = 0.02, what: str = "") -> T:
    """Poll ``probe`` until it returns something truthy; fail with the last value otherwise."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or probe}: last value {value!r}")
        time.sleep(interval)
        value = probe()
    return value


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod_template(labels: dict[str, str], *, restart: str = "Always", **spec: Any) -> dict[str, Any]:
    """A template whose pods no kubelet runs (see the module docstring)."""
    return {
        "metadata": {"labels": labels},
        "spec": {
            "containers": [{"name": "main", "image": "busybox:1.36"}],
            "restartPolicy": restart,
            "nodeName": NOWHERE,
            "terminationGracePeriodSeconds": 0,
            **spec,
        },
    }


class Kube:
    """Raw HTTP helpers over the admin client."""

    def __init__(self, client: httpx.Client) -> None:
        self.http = client

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.http.post(path, json=body)
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    def get(self, path: str) -> dict[str, Any] | None:
        r = self.http.get(path)
        if r.status_code == 404:
            return None
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def items(self, path: str, selector: str | None = None) -> list[dict[str, Any]]:
        r = self.http.get(path, params={"labelSelector": selector} if selector else None)
        assert r.status_code == 200, r.text
        return r.json()["items"]  # type: ignore[no-any-return]

    def patch(self, path: str, body: dict[str, Any], *, kind: str = "merge") -> dict[str, Any]:
        r = self.http.patch(path, json=body, headers={"Content-Type": f"application/{kind}-patch+json"})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def delete(self, path: str, propagation: str = "Background") -> None:
        r = self.http.request("DELETE", path, json={"propagationPolicy": propagation})
        assert r.status_code in (200, 202, 404), r.text

    def pods(self, ns: str, selector: str | None = None) -> list[dict[str, Any]]:
        return self.items(f"/api/v1/namespaces/{ns}/pods", selector)

    def events(self, ns: str, name: str) -> list[tuple[str, str]]:
        return [
            (e["reason"], e["message"])
            for e in self.items(f"/api/v1/namespaces/{ns}/events")
            if e["involvedObject"]["name"] == name
        ]

    # Playing the kubelet ---------------------------------------------------------------------

    def set_pod(self, pod: dict[str, Any], phase: str, *, ready: bool = False, exit_code: int | None = None) -> None:
        meta = pod["metadata"]
        stamp = now()
        state: dict[str, Any]
        if exit_code is not None:
            state = {
                "terminated": {
                    "exitCode": exit_code,
                    "reason": "Completed" if exit_code == 0 else "Error",
                    "startedAt": stamp,
                    "finishedAt": stamp,
                }
            }
        elif phase == "Running":
            state = {"running": {"startedAt": stamp}}
        else:
            state = {"waiting": {"reason": "ContainerCreating"}}
        status = {
            "phase": phase,
            "podIP": "127.0.0.1",
            "conditions": [
                {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": stamp},
            ],
            "containerStatuses": [
                {
                    "name": "main",
                    "image": "busybox:1.36",
                    "imageID": "",
                    "ready": ready,
                    "restartCount": 0,
                    "started": phase == "Running",
                    "state": state,
                }
            ],
        }
        self.patch(f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status", {"status": status})
