"""Running a step's actions against a cluster: stages in order, the actions of a stage concurrently.

The executor is the only place the sync's decisions meet ``tiphys.kube``. Every outcome goes back
to the engine as data; an unexpected exception inside one action becomes a failed outcome for
that action alone. Whatever the server answers is put into the live cache at once, so the next
step sees the driver's own writes. Dry-run outcomes are remembered per exact object, so the
engine's first-step dry-run costs nothing after the validation that preceded it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any, Final

from tiphys.engine import (
    Action,
    Apply,
    Delete,
    FetchLogs,
    ObjectRef,
    Outcome,
    ReleaseFinalizer,
    Stage,
    Step,
    proceeds,
)
from tiphys.engine.annotations import HOOK_FINALIZER
from tiphys.kube import Conflict, Kube, KubeApiError, KubeError, NotFound, Propagation

from . import applier, hooklogs
from .live import LiveCache

__all__ = ["Executor"]

# Below the HTTP client's 20 kept-alive connections: with more requests in flight, every burst
# left connections over that limit to be closed and the next wave opened them again (688 TLS
# handshakes in one 1,000-object sync at 32; 96 at 16), costing both processes CPU.
_CONCURRENCY: Final = 16
_CONFLICT_RETRIES: Final = 5


def _dry_run_key(action: Apply) -> str:
    return json.dumps(
        [action.obj, action.options.validate, action.options.replace, action.options.server_side],
        sort_keys=True,
        default=str,
    )


class Executor:
    def __init__(self, kube: Kube, live: LiveCache) -> None:
        self.kube = kube
        self.live = live
        self.dry_runs: dict[str, Outcome] = {}
        self.calls = 0
        self._limit = asyncio.Semaphore(_CONCURRENCY)

    async def run(self, step: Step) -> dict[int, Outcome]:
        """Run the stages of ``step`` until one's gate closes; outcomes by action id."""
        outcomes: dict[int, Outcome] = {}
        for stage in step.stages:
            await self.run_stage(stage, outcomes)
            if not proceeds(stage, outcomes):
                break
        return outcomes

    async def run_stage(self, stage: Stage, outcomes: dict[int, Outcome]) -> None:
        results = await asyncio.gather(*(self._guarded(action) for action in stage.actions))
        outcomes.update((action.id, outcome) for action, outcome in zip(stage.actions, results, strict=True))

    async def _guarded(self, action: Action) -> Outcome:
        async with self._limit:
            self.calls += 1
            try:
                return await self.execute(action)
            except KubeError as e:
                return Outcome.failed(str(e), e)
            except Exception as e:  # one broken action must not stop the others
                return Outcome.failed(f"{type(e).__name__}: {e}", e)

    async def execute(self, action: Action) -> Outcome:
        if isinstance(action, Apply):
            return await self._apply(action)
        if isinstance(action, Delete):
            return await self._delete(action)
        if isinstance(action, ReleaseFinalizer):
            return await self._release(action.ref)
        assert isinstance(action, FetchLogs)
        return await hooklogs.fetch_logs(self.kube, action)

    async def _apply(self, action: Apply) -> Outcome:
        if action.options.dry_run:
            key = _dry_run_key(action)
            cached = self.dry_runs.get(key)
            if cached is None:
                cached = self.dry_runs[key] = await applier.apply(self.kube, action, trust_live=True)
            return cached
        outcome = await applier.apply(self.kube, action, trust_live=True)
        if outcome.live is not None:
            self.live.put(outcome.live)
        return outcome

    async def _refresh(self, ref: ObjectRef) -> dict[str, Any] | None:
        """Re-read one object into the live cache (None when it is gone)."""
        try:
            obj = await self.kube.get(ref.api_version, ref.kind, ref.name, namespace=ref.namespace or None)
        except NotFound:
            self.live.drop(ref)
            return None
        self.live.put(obj)
        return obj

    async def _delete(self, action: Delete) -> Outcome:
        ref = action.ref
        if action.release_finalizer:
            released = await self._release(ref)
            if not released.ok:
                return released
        try:
            await self.kube.delete(
                ref.api_version,
                ref.kind,
                ref.name,
                namespace=ref.namespace or None,
                propagation=Propagation(action.propagation),
            )
        except NotFound:
            self.live.drop(ref)
            return Outcome.not_found()
        except KubeApiError as e:
            return Outcome.failed(e.status.message, e)
        await self._refresh(ref)
        return Outcome.done()

    async def _release(self, ref: ObjectRef) -> Outcome:
        """Remove the hook finalizer, re-reading on a conflict (``removeHookFinalizer``)."""
        for _ in range(_CONFLICT_RETRIES):
            obj = await self._refresh(ref)
            if obj is None:
                return Outcome.done()
            finalizers = (obj.get("metadata") or {}).get("finalizers") or []
            if HOOK_FINALIZER not in finalizers:
                return Outcome.done()
            patch: Mapping[str, Any] = {
                "metadata": {
                    "finalizers": [f for f in finalizers if f != HOOK_FINALIZER],
                    "resourceVersion": obj["metadata"]["resourceVersion"],
                }
            }
            try:
                updated = await self.kube.patch(
                    ref.api_version, ref.kind, ref.name, patch, namespace=ref.namespace or None
                )
            except Conflict:
                continue
            except NotFound:
                self.live.drop(ref)
                return Outcome.done()
            except KubeApiError as e:
                return Outcome.failed(e.status.message, e)
            self.live.put(updated)
            return Outcome.done()
        return Outcome.failed(f"the object kept changing: gave up after {_CONFLICT_RETRIES} conflicts")
