"""A controller pass driven by a test: refresh an Application, then ``process_app`` — no controller process.

``Passes`` builds the ``AppContext`` the controller loop would (app-core's ``refresh.compare`` over
the session cluster, a ``Repos`` cache, the shared watch cache) and runs one pass at a time, so a
test can step, change the world (a commit, a manual edit, a termination request), and step again.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from tiphys.controller import application as apps
from tiphys.controller import refresh
from tiphys.controller.cache import ClusterCache
from tiphys.controller.clusters import Cluster
from tiphys.controller.context import AppContext
from tiphys.controller.operations import process_app
from tiphys.controller.repos import Repos
from tiphys.kube import Kube, NotFound

HOOK = "argocd.argoproj.io/hook"
POLICY = "argocd.argoproj.io/hook-delete-policy"
OPTIONS = ("CreateNamespace=true",)  # sync options of the test Applications


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def job(
    name: str, *, script: str = "exit 0", env: list[dict[str, Any]] | None = None, **annotations: str
) -> dict[str, Any]:
    """A busybox Job running ``script`` once (no retries); ``env`` is its container's, when given."""
    container: dict[str, Any] = {"name": "main", "image": "busybox", "command": ["sh", "-c", script]}
    if env is not None:
        container["env"] = env
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "annotations": annotations} if annotations else {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "terminationGracePeriodSeconds": 1,
                    "containers": [container],
                }
            },
        },
    }


def cm(name: str, value: str = "v", **annotations: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"k": value}}


def files(**docs: list[dict[str, Any]] | dict[str, Any]) -> dict[str, str]:
    """``files(app=[obj, obj])`` → ``{"app.yaml": "..."}`` for ``GitRepo.commit``."""
    return {
        f"{name}.yaml": yaml.safe_dump_all(value if isinstance(value, list) else [value], sort_keys=False)
        for name, value in docs.items()
    }


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, bool]] = []

    async def event(self, app: Mapping[str, Any], *, reason: str, message: str, warning: bool = False) -> None:
        self.events.append((reason, message, warning))


class Passes:
    """Passes over Applications living in ``kube``, deploying to ``dest`` (default: the same cluster)."""

    def __init__(self, kube: Kube, tmp: Path, *, dest: Kube | None = None) -> None:
        self.kube = kube
        self.dest = dest or kube
        self.cache = ClusterCache(self.dest)
        self.cluster = Cluster("in-cluster", "https://kubernetes.default.svc", self.dest, self.cache)
        self.repos = Repos(poll=0.0, cache_dir=tmp / "repos")
        self.recorder = Recorder()
        self.requeued: list[float] = []

    async def close(self) -> None:
        await self.cache.close()

    async def app(self, name: str) -> dict[str, Any]:
        found = await apps.get_application(self.kube, name)
        assert found is not None, f"Application {name} is gone"
        return found

    async def once(self, name: str) -> dict[str, Any] | None:
        """One controller pass over ``name``: refresh and write the status, then ``process_app``."""
        app = await apps.get_application(self.kube, name)
        if app is None:
            return None
        refreshed = await refresh.compare(app, cluster=self.cluster, destination_error="", repos=self.repos)
        fields = refresh.status_fields(app, refreshed, now=datetime.now(UTC))
        app = await apps.write_status(self.kube, name, fields)
        ctx = AppContext(
            app=app,
            home=self.kube,
            dest=self.dest,
            comparison=refreshed.comparison,
            repos=self.repos,
            now=datetime.now(UTC),
            recorder=self.recorder,
            dest_live=self.cache,
            requeue=self.requeued.append,
        )
        await process_app(ctx)
        return await apps.get_application(self.kube, name)

    async def until(
        self, name: str, predicate: Callable[[dict[str, Any]], Any], *, timeout: float = 90.0, what: str = ""
    ) -> dict[str, Any]:
        """Run passes until ``predicate(app)`` holds (a short pause between passes, like a requeue)."""
        deadline = time.monotonic() + timeout
        app: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            app = await self.once(name)
            if app is not None and predicate(app):
                return app
            await asyncio.sleep(0.2)
        raise AssertionError(f"timed out: {what or predicate!r}; last status: {(app or {}).get('status')}")

    async def until_gone(self, name: str, *, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self.once(name) is None:
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"Application {name} still there: {(await apps.get_application(self.kube, name))}")


def op_state(app: Mapping[str, Any]) -> dict[str, Any]:
    return dict((app.get("status") or {}).get("operationState") or {})


def phase(app: Mapping[str, Any]) -> str:
    return str(op_state(app).get("phase", ""))


def finished(app: Mapping[str, Any]) -> bool:
    return phase(app) in ("Succeeded", "Failed", "Error") and "operation" not in app


async def live(kube: Kube, kind: str, name: str, namespace: str, api_version: str = "v1") -> dict[str, Any] | None:
    try:
        return await kube.get(api_version, kind, name, namespace=namespace)
    except NotFound:
        return None
