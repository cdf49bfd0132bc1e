"""Retrying a failed operation with back-off (spec §7.4; Argo CD's ``processRequestedAppOperation``).

Three pure decisions, each a function of the stored operation state and ``now``:

- ``strategy_for``: which ``RetryStrategy`` a new operation carries (a manual sync: the request's,
  else ``spec.syncPolicy.retry``, else none; an automated sync: ``spec.syncPolicy.retry``, else
  ``{limit: 5}``).
- ``after_attempt``: what a finished attempt becomes. A ``Failed``/``Error`` attempt of an operation
  that was not terminating, with retries left, goes back to ``Running`` with a ``finishedAt`` and
  ``retryCount + 1`` ("waiting to retry"); exhausted retries append ``(retried n times).``.
- ``resume``: whether a waiting operation starts its next attempt now (same start time, so the same
  hook names; ``syncResult`` cleared so the next step is a first step), later, or errors out.

The wait really is ``finishedAt + duration * factor ** retryCount`` with the count already raised
(Argo CD's off-by-one: the message promises ``now + duration * factor ** (count - 1)``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Final

from . import messages
from ._wire import require_aware
from .operation import DEFAULT_AUTOMATED_RETRY, Backoff, RetryStrategy
from .results import OperationState
from .types import OperationPhase

__all__ = [
    "DEFAULT_BACKOFF",
    "RetryWait",
    "after_attempt",
    "backoff_delay",
    "resume",
    "strategy_for",
]

DEFAULT_BACKOFF: Final = Backoff(duration="5s", factor=2, max_duration="3m")
"""Argo CD's defaults (``application_defaults.go``), used for every field a backoff leaves out."""


def strategy_for(
    *, automated: bool, requested: RetryStrategy | None = None, policy: RetryStrategy | None = None
) -> RetryStrategy:
    """The retry strategy of a new operation: ``requested`` (manual syncs only), else the app's ``policy``."""
    if automated:
        return policy if policy is not None else DEFAULT_AUTOMATED_RETRY
    if requested is not None:
        return requested
    return policy if policy is not None else RetryStrategy()


def backoff_delay(strategy: RetryStrategy, retry_count: int) -> timedelta:
    """``min(maxDuration, duration * factor ** retry_count)``; ValueError on a duration that does not parse."""
    origin = datetime(2000, 1, 1, tzinfo=UTC)
    return strategy.next_retry_at(origin, retry_count) - origin


def after_attempt(state: OperationState, *, now: datetime, terminating: bool = False) -> OperationState:
    """The state to record once an attempt ended; unchanged unless it failed, retried or not."""
    require_aware(now, "now")
    if state.phase not in (OperationPhase.FAILED, OperationPhase.ERROR):
        return state
    retry = state.operation.retry
    if not terminating and retry.allows_retry(state.retry_count):
        try:
            retry_at = retry.next_retry_at(now, state.retry_count)
        except ValueError as e:
            return replace(state, phase=OperationPhase.ERROR, message=messages.retry_failed(state.message, str(e)))
        count = state.retry_count + 1
        return replace(
            state,
            phase=OperationPhase.RUNNING,
            finished_at=now,
            retry_count=count,
            message=messages.retrying_at(state.message, count, retry_at),
        )
    if state.retry_count > 0:
        return replace(state, message=messages.retried_times(state.message, state.retry_count))
    return state


@dataclass(frozen=True)
class RetryWait:
    """What a waiting operation does at ``now``: start ``state`` (the next attempt), or wait ``until``."""

    state: OperationState
    until: datetime | None = None  # set when it is too early: decide again then

    @property
    def waiting(self) -> bool:
        return self.until is not None


def resume(state: OperationState, *, now: datetime) -> RetryWait:
    """For an operation waiting to retry: its next attempt if the back-off has passed, else when it will have."""
    require_aware(now, "now")
    if not state.waiting_to_retry:
        return RetryWait(state)
    assert state.finished_at is not None
    try:
        retry_at = state.operation.retry.next_retry_at(state.finished_at, state.retry_count)
    except ValueError as e:
        return RetryWait(replace(state, phase=OperationPhase.ERROR, message=str(e), finished_at=now))
    if retry_at > now:
        return RetryWait(state, until=retry_at)
    operation = state.operation
    refresh = operation.retry.refresh and operation.sync is not None
    if refresh and operation.sync is not None:
        operation = replace(operation, sync=replace(operation.sync, revision="", revisions=()))
    return RetryWait(
        replace(
            state,
            operation=operation,
            message=messages.retrying_operation(state.retry_count, latest_revisions=refresh),
            finished_at=None,
            sync_result=None,
        )
    )
