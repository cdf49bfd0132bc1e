"""Stepping the pure engine against a dict of objects: the world changes only where a test says so.

``Cluster`` plays the API server for engine tests (the engine is pure, so a fake is allowed
here): it stores what is applied, deletes what is deleted (objects with finalizers other than the
hook finalizer get a ``deletionTimestamp``), and fails the applies a test asks it to fail. Nothing
becomes healthy by itself: a test completes a Job with ``cluster.complete(...)``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tiphys.engine import (
    Apply,
    Delete,
    FetchLogs,
    Operation,
    OperationState,
    Outcome,
    ReleaseFinalizer,
    Step,
    SyncOperation,
    World,
    decide,
    messages,
    objects,
    proceeds,
    settle,
)
from tiphys.engine.annotations import HOOK_FINALIZER

STARTED = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
REVISION = "0123456789abcdef"
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole"}
KINDS = {
    (group, kind): kind not in CLUSTER_SCOPED
    for group, kind in [
        ("", "Namespace"),
        ("", "ConfigMap"),
        ("", "Secret"),
        ("", "Service"),
        ("", "Pod"),
        ("apps", "Deployment"),
        ("batch", "Job"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
    ]
}


def key_of(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    return (objects.api_group(obj), objects.kind(obj), objects.namespace(obj), objects.name(obj))


@dataclass
class Cluster:
    objects: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)
    failing: dict[str, str] = field(default_factory=dict)  # name -> error of its applies
    failing_dry_run: dict[str, str] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)  # hook name -> log tail
    calls: list[str] = field(default_factory=list)
    now: datetime = STARTED

    def add(self, *objs: dict[str, Any]) -> None:
        for obj in objs:
            obj = copy.deepcopy(obj)
            obj.setdefault("metadata", {}).setdefault("creationTimestamp", self.now.strftime("%Y-%m-%dT%H:%M:%SZ"))
            self.objects[key_of(obj)] = obj

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return next((o for k, o in self.objects.items() if k[1] == kind and k[3] == name), None)

    def names(self, kind: str) -> list[str]:
        return sorted(k[3] for k in self.objects if k[1] == kind)

    def complete(self, kind: str, name: str, *, failed: bool = False, message: str = "") -> None:
        obj = self.get(kind, name)
        assert obj is not None, f"{kind}/{name} does not exist"
        if kind == "Job":
            condition = "Failed" if failed else "Complete"
            obj["status"] = {"conditions": [{"type": condition, "status": "True", "message": message}]}
        elif kind == "Deployment":
            replicas = obj.get("spec", {}).get("replicas", 1)
            obj["metadata"]["generation"] = 1
            obj["status"] = {
                "observedGeneration": 1,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "availableReplicas": replicas,
            }
            if failed:
                obj["status"]["conditions"] = [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]
        elif kind == "Pod":
            obj["status"] = {"phase": "Failed" if failed else "Succeeded", "message": message}

    def vanish(self, kind: str, name: str) -> None:
        """The deletions in progress finish (a controller removed the last finalizer)."""
        obj = self.get(kind, name)
        assert obj is not None
        del self.objects[key_of(obj)]

    # -- executing actions ------------------------------------------------------------------------

    def _apply(self, action: Apply) -> Outcome:
        name = objects.name(action.obj)
        failing = self.failing_dry_run if action.options.dry_run else self.failing
        self.calls.append(f"{'dry-run' if action.options.dry_run else 'apply'} {objects.kind(action.obj)}/{name}")
        if name in failing:
            return Outcome.failed(failing[name])
        existing = self.objects.get(key_of(action.obj))
        verb = "configured" if existing is not None else "created"
        group, kind = objects.api_group(action.obj), objects.kind(action.obj)
        message = messages.applied(group=group, kind=kind, name=name, verb=verb, dry_run=action.options.dry_run)
        if action.options.dry_run:
            return Outcome.done(message)
        obj = copy.deepcopy(dict(action.obj))
        if existing is not None:
            obj["status"] = existing.get("status")
            obj["metadata"]["creationTimestamp"] = existing["metadata"]["creationTimestamp"]
        self.add(obj)
        return Outcome.done(message, live=self.objects[key_of(obj)])

    def _find(self, ref: Any) -> dict[str, Any] | None:
        group = ref.api_version.rpartition("/")[0]
        return self.objects.get((group, ref.kind, ref.namespace, ref.name))

    def _delete(self, action: Delete) -> Outcome:
        self.calls.append(f"delete {action.ref.kind}/{action.ref.name}")
        obj = self._find(action.ref)
        if obj is None:
            return Outcome.not_found()
        if action.release_finalizer:
            self._release(obj)
        if obj["metadata"].get("finalizers"):
            obj["metadata"]["deletionTimestamp"] = self.now.strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            del self.objects[key_of(obj)]
        return Outcome.done()

    @staticmethod
    def _release(obj: dict[str, Any]) -> None:
        finalizers = [f for f in obj["metadata"].get("finalizers", []) if f != HOOK_FINALIZER]
        obj["metadata"]["finalizers"] = finalizers
        if not finalizers and obj["metadata"].get("deletionTimestamp"):
            obj["metadata"]["finalizers"] = []

    def execute(self, action: Any) -> Outcome:
        if isinstance(action, Apply):
            return self._apply(action)
        if isinstance(action, Delete):
            return self._delete(action)
        if isinstance(action, ReleaseFinalizer):
            obj = self._find(action.ref)
            self.calls.append(f"release {action.ref.kind}/{action.ref.name}")
            if obj is not None:
                self._release(obj)
            return Outcome.done()
        assert isinstance(action, FetchLogs)
        self.calls.append(f"logs {action.ref.kind}/{action.ref.name}")
        return Outcome.done(self.logs.get(action.ref.name, ""))

    def run(self, step: Step) -> Step:
        """Run every stage (honouring gates) and settle, until a step has no actions left."""
        while step.stages:
            outcomes: dict[int, Outcome] = {}
            for stage in step.stages:
                for action in stage.actions:
                    outcomes[action.id] = self.execute(action)
                if not proceeds(stage, outcomes):
                    break
            step = settle(step, outcomes)
        return step

    # -- worlds -----------------------------------------------------------------------------------

    def world(self, desired: list[dict[str, Any]], **kwargs: Any) -> World:
        live = tuple(copy.deepcopy(o) for o in self.objects.values())
        namespaces = {objects.name(o): o for o in live if objects.kind(o) == "Namespace"}
        fields: dict[str, Any] = {"app": "app", "namespace": "apps", "revision": REVISION, "kinds": KINDS}
        fields.update(kwargs)
        return World(desired=tuple(desired), live=live, namespaces=namespaces, **fields)


def start(**sync: Any) -> OperationState:
    return OperationState.start(Operation(sync=SyncOperation(**sync)), now=STARTED)


@dataclass
class Sync:
    """One operation being stepped: ``sync.step()`` decides, runs the actions and keeps the state."""

    desired: list[dict[str, Any]]
    cluster: Cluster = field(default_factory=Cluster)
    state: OperationState = field(default_factory=start)
    world_fields: dict[str, Any] = field(default_factory=dict)
    timeout: timedelta | None = None
    last: Step | None = None

    def step(self, *, after: timedelta = timedelta(0)) -> Step:
        now = STARTED + after
        self.cluster.now = now
        step = decide(self.state, self.cluster.world(self.desired, **self.world_fields), now=now, timeout=self.timeout)
        step = self.cluster.run(step)
        self.state, self.last = step.state, step
        return step

    def finish(self, *, limit: int = 20) -> Step:
        """Step until the operation completes (nothing in the world changes in between)."""
        for _ in range(limit):
            step = self.step()
            if step.completed:
                return step
        raise AssertionError(f"not completed after {limit} steps: {self.message}")

    @property
    def message(self) -> str:
        return self.state.message

    def result(self, name: str, phase: str | None = None) -> Any:
        found = [r for r in self.state.results if r.name == name and (phase is None or r.sync_phase == phase)]
        assert len(found) == 1, f"{len(found)} results for {name}"
        return found[0]
