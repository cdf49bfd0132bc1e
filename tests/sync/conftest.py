"""Sync tests: real ``tiphys sync`` operations against the session's embedded cluster, over HTTPS.

Each test writes its manifests to a directory, syncs them into a namespace of its own
(``CreateNamespace=true``) as an Application of its own, and looks at the result and at the
cluster. Jobs run real commands in the embedded kubelet; ``tiphys.io/simulate`` stands in where a
pod needs no command.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tiphys import engine, sources
from tiphys.controller import Syncer, SyncRequest
from tiphys.kube import Kube, NotFound

HOOK = "argocd.argoproj.io/hook"
POLICY = "argocd.argoproj.io/hook-delete-policy"
WAVE = "argocd.argoproj.io/sync-wave"
OPTIONS = "argocd.argoproj.io/sync-options"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def job(name: str = "", *, script: str = "exit 0", generate: str = "", **annotations: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name} if name else {"generateName": generate}
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", script]}],
                }
            },
        },
    }


def configmap(name: str, **annotations: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"k": "v"}}


def pod(name: str, *, simulate: str = "exit=0", restart: str = "Never", **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": {"tiphys.io/simulate": simulate, **annotations}},
        "spec": {"restartPolicy": restart, "containers": [{"name": "main", "image": "busybox"}]},
    }


def deployment(name: str, **annotations: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if annotations:
        metadata["annotations"] = annotations
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"terminationGracePeriodSeconds": 0, "containers": [{"name": "web", "image": "nginx"}]},
            },
        },
    }


def write(directory: Path, *docs: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return directory


@pytest.fixture
async def kube(cluster) -> AsyncIterator[Kube]:
    async with Kube.from_kubeconfig(cluster.kubeconfig) as client:
        yield client


class App:
    """One Application and its namespace; ``await app.sync(dir)`` runs a whole operation."""

    def __init__(self, kube: Kube, tmp_path: Path) -> None:
        self.kube = kube
        self.tmp_path = tmp_path
        self.name = unique("app")
        self.namespace = unique("ns")
        self.steps: list[engine.Step] = []
        self.syncer: Syncer | None = None

    def request(
        self,
        directory: Path | str,
        *,
        path: str = "",
        revision: str = "",
        source: sources.SourceSpec | None = None,
        **fields: Any,
    ) -> SyncRequest:
        fields.setdefault("sync_options", ("CreateNamespace=true",))
        fields.setdefault("cache_dir", self.tmp_path / "git-cache")
        source = source or sources.SourceSpec(repoURL=str(directory), path=path, targetRevision=revision)
        data = {"repoURL": str(directory), "path": path, "targetRevision": revision}
        return SyncRequest(
            app=self.name,
            source=source,
            source_json={k: v for k, v in data.items() if v},
            namespace=self.namespace,
            **fields,
        )

    async def sync(self, directory: Path | str, **fields: Any) -> engine.OperationState:
        self.syncer = Syncer(self.kube, self.request(directory, **fields), on_step=self.steps.append)
        try:
            return await self.syncer.run()
        finally:
            await self.syncer.close()

    async def get(self, kind: str, name: str, api_version: str = "v1") -> dict[str, Any] | None:
        try:
            return await self.kube.get(api_version, kind, name, namespace=self.namespace)
        except NotFound:
            return None

    async def names(self, kind: str, api_version: str = "v1") -> list[str]:
        try:
            found = await self.kube.list(api_version, kind, namespace=self.namespace)
        except NotFound:
            return []
        return sorted(o["metadata"]["name"] for o in found.items)

    def messages(self) -> list[str]:
        """Every distinct operation message, in order."""
        seen: list[str] = []
        for step in self.steps:
            if not seen or seen[-1] != step.state.message:
                seen.append(step.state.message)
        return seen


@pytest.fixture
def app(kube: Kube, tmp_path: Path) -> App:
    return App(kube, tmp_path)


def result(state: engine.OperationState, name: str, phase: str | None = None) -> engine.ResourceResult:
    found = [r for r in state.results if r.name == name and (phase is None or r.sync_phase == phase)]
    assert len(found) == 1, [r.name for r in state.results]
    return found[0]


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
