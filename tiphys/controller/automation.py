"""When the controller starts a sync by itself: automated sync and self-heal (Argo CD's ``autoSync``).

Pure: the Application and the result of its last comparison in, a decision out. The rules, in
Argo CD's order:

- no ``syncPolicy.automated`` (or ``enabled: false``), an operation already requested, or the
  app being deleted → nothing;
- only ``OutOfSync`` apps sync; without auto-prune, an app whose only differences are objects to
  prune is left alone (they are reported with ``requiresPruning``);
- the same revision and source as the last operation: after a failure, never again (a
  ``SyncError`` condition says so) — its own retries are the operation's business; after a
  success, only with ``selfHeal``, after the self-heal back-off (2 s, times 3, at most 5 min, by
  attempt), and only for the resources that are out of sync;
- with auto-prune and no ``allowEmpty``, a sync that would prune everything is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from tiphys.engine import (
    Operation,
    OperationInitiator,
    OperationState,
    RetryStrategy,
    SyncOperation,
    SyncOperationResource,
)
from tiphys.engine import retry as retries

from .context import ResourceStatus, SyncStatusCode

__all__ = ["AutoSync", "SelfHealBackoff", "auto_sync", "automated", "operation_state_of", "retry_policy"]


@dataclass(frozen=True)
class SelfHealBackoff:
    """``--self-heal-backoff-*`` of Argo CD's controller: 2 s, factor 3, capped at 300 s."""

    duration: timedelta = timedelta(seconds=2)
    factor: int = 3
    cap: timedelta = timedelta(seconds=300)

    def delay(self, attempts: int) -> timedelta:
        """The wait before self-heal attempt ``attempts + 1`` (k8s ``wait.Backoff.Step`` taken ``attempts`` times)."""
        delay = timedelta(0)
        step = self.duration
        for _ in range(attempts):
            delay = step
            step = step * self.factor
            if self.cap > timedelta(0) and step > self.cap:
                step = self.cap
        return delay


DEFAULT_SELF_HEAL: Final = SelfHealBackoff()


@dataclass(frozen=True)
class AutoSync:
    """The decision: an ``operation`` to request, a ``SyncError`` ``condition``, or neither (``reason`` says why)."""

    operation: Operation | None = None
    condition: str = ""
    retry_after: timedelta | None = None  # self-heal is due later: look again then
    reason: str = ""


def _policy(app: Mapping[str, Any]) -> Mapping[str, Any]:
    return ((app.get("spec") or {}).get("syncPolicy")) or {}


def automated(app: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """``spec.syncPolicy.automated`` when automated sync is on (``enabled`` unset or true), else None."""
    auto = _policy(app).get("automated")
    if not isinstance(auto, Mapping) or auto.get("enabled") is False:
        return None
    return auto


def retry_policy(app: Mapping[str, Any]) -> RetryStrategy | None:
    """``spec.syncPolicy.retry``, or None when the Application sets none; ValueError when it is malformed."""
    retry = _policy(app).get("retry")
    if retry is None:
        return None
    if not isinstance(retry, Mapping):
        raise ValueError("spec.syncPolicy.retry: expected an object")
    return RetryStrategy.from_json(retry)


def operation_state_of(app: Mapping[str, Any]) -> OperationState | None:
    stored = ((app.get("status") or {}).get("operationState")) if isinstance(app.get("status"), Mapping) else None
    if not isinstance(stored, Mapping):
        return None
    try:
        return OperationState.from_json(stored)
    except ValueError:
        return None


def _already_attempted(app: Mapping[str, Any], revision: str) -> tuple[bool, str, OperationState | None]:
    """``alreadyAttemptedSync``: the last operation synced this revision and this very source."""
    state = operation_state_of(app)
    if state is None:
        return False, "", None
    if state.sync_result is None:
        return state.completed, "", state
    last = state.sync_result.revision
    if last != revision:
        return False, last, state
    source = (app.get("spec") or {}).get("source")
    return dict(source or {}) == dict(state.sync_result.source or {}), last, state


def auto_sync(
    app: Mapping[str, Any],
    *,
    status: SyncStatusCode,
    revision: str,
    resources: Sequence[ResourceStatus],
    now: datetime,
    backoff: SelfHealBackoff = DEFAULT_SELF_HEAL,
) -> AutoSync:
    """What automated sync does for ``app`` whose last comparison gave ``status`` at ``revision``."""
    auto = automated(app)
    if auto is None:
        return AutoSync(reason="automated sync is off")
    if app.get("operation"):
        return AutoSync(reason="another operation is in progress")
    if (app.get("metadata") or {}).get("deletionTimestamp"):
        return AutoSync(reason="deletion in progress")
    if status is not SyncStatusCode.OUT_OF_SYNC:
        return AutoSync(reason=f"application status is {status.value}")
    prune = auto.get("prune") is True
    if not prune and all(r.status is SyncStatusCode.SYNCED or r.requires_pruning for r in resources):
        return AutoSync(reason="need to prune extra resources only but automated prune is disabled")
    spec = app.get("spec") or {}
    try:
        retry = retries.strategy_for(automated=True, policy=retry_policy(app))
    except ValueError as e:
        return AutoSync(condition=str(e))
    sync = SyncOperation(
        revision=revision,
        prune=prune,
        source=spec.get("source"),
        sync_options=tuple(str(o) for o in _policy(app).get("syncOptions") or ()),
    )
    attempted, last, state = _already_attempted(app, revision)
    if attempted and state is not None:
        if not state.phase.successful:
            message = state.message
            return AutoSync(condition=f"Failed last sync attempt to [{last}]: {message}")
        if auto.get("selfHeal") is not True:
            return AutoSync(reason=f"most recent sync already to [{revision}]")
        attempts = state.operation.sync.auto_heal_attempts_count if state.operation.sync is not None else 0
        since = now - state.finished_at if state.finished_at is not None else timedelta(0)
        remaining = backoff.delay(attempts) - since
        if remaining > timedelta(0):
            return AutoSync(retry_after=remaining, reason=f"self-heal back-off: retrying in {remaining}")
        selected = tuple(
            SyncOperationResource(kind=r.kind, name=r.name, group=r.group)
            for r in resources
            if r.status is not SyncStatusCode.SYNCED
        )
        sync = SyncOperation(
            revision=sync.revision,
            prune=sync.prune,
            source=sync.source,
            sync_options=sync.sync_options,
            resources=selected,
            auto_heal_attempts_count=attempts + 1,
        )
    if prune and auto.get("allowEmpty") is not True and all(r.requires_pruning for r in resources):
        return AutoSync(condition=f"Skipping sync attempt to [{revision}]: auto-sync will wipe out all resources")
    return AutoSync(operation=Operation(sync=sync, initiated_by=OperationInitiator(automated=True), retry=retry))
