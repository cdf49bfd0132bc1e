"""Retry with back-off (spec §7.4): which strategy, what a failed attempt becomes, when the next starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tiphys.engine import (
    DEFAULT_AUTOMATED_RETRY,
    Backoff,
    Operation,
    OperationPhase,
    OperationState,
    ResourceResult,
    RetryStrategy,
    SyncOperation,
    SyncResult,
    retry,
)

START = datetime(2024, 5, 1, 14, 0, 0, tzinfo=UTC)


def failed(strategy: RetryStrategy, *, count: int = 0, phase=OperationPhase.FAILED, message="boom") -> OperationState:
    operation = Operation(sync=SyncOperation(revision="main"), retry=strategy)
    result = SyncResult(
        revision="abc123", resources=(ResourceResult(group="", version="v1", kind="Pod", namespace="ns", name="p"),)
    )
    return OperationState(operation, phase, START, message=message, sync_result=result, retry_count=count)


@pytest.mark.parametrize(
    "automated, requested, policy, expected",
    [
        pytest.param(True, None, None, DEFAULT_AUTOMATED_RETRY, id="automated-default-limit-5"),
        pytest.param(
            True, RetryStrategy(limit=9), RetryStrategy(limit=2), RetryStrategy(limit=2), id="automated-policy"
        ),
        pytest.param(False, None, None, RetryStrategy(), id="manual-no-retry"),
        pytest.param(False, None, RetryStrategy(limit=3), RetryStrategy(limit=3), id="manual-policy"),
        pytest.param(
            False, RetryStrategy(limit=1), RetryStrategy(limit=3), RetryStrategy(limit=1), id="manual-request"
        ),
    ],
)
def test_strategy_for(automated, requested, policy, expected):
    assert retry.strategy_for(automated=automated, requested=requested, policy=policy) == expected


@pytest.mark.parametrize(
    "backoff, count, expected",
    [
        pytest.param(None, 0, timedelta(seconds=5), id="default-first"),
        pytest.param(None, 1, timedelta(seconds=10), id="default-doubles"),
        pytest.param(None, 6, timedelta(minutes=3), id="default-capped-at-3m"),
        pytest.param(Backoff(duration="2", factor=3), 2, timedelta(seconds=18), id="bare-seconds"),
        pytest.param(Backoff(duration="1m", max_duration="90s"), 1, timedelta(seconds=90), id="go-durations"),
        pytest.param(Backoff(duration="500ms", factor=1), 4, timedelta(milliseconds=500), id="factor-one"),
    ],
)
def test_backoff_delay(backoff, count, expected):
    assert retry.backoff_delay(RetryStrategy(limit=5, backoff=backoff), count) == expected


def test_failed_attempt_with_retries_left_waits_running():
    now = START + timedelta(minutes=1)
    state = retry.after_attempt(failed(RetryStrategy(limit=2)), now=now)
    assert state.phase is OperationPhase.RUNNING
    assert state.finished_at == now
    assert state.retry_count == 1
    assert state.waiting_to_retry
    # The message promises now + duration * factor ** (count before the increment), in Go's Kitchen format.
    assert state.message == "boom. Retrying attempt #1 at 2:01PM."


def test_error_phase_is_retried_too():
    state = retry.after_attempt(failed(RetryStrategy(limit=1), phase=OperationPhase.ERROR), now=START)
    assert state.phase is OperationPhase.RUNNING and state.retry_count == 1


def test_exhausted_retries_say_how_many():
    state = retry.after_attempt(failed(RetryStrategy(limit=2), count=2), now=START)
    assert state.phase is OperationPhase.FAILED
    assert state.message == "boom (retried 2 times)."


def test_no_retry_leaves_message_alone():
    state = retry.after_attempt(failed(RetryStrategy()), now=START)
    assert state.phase is OperationPhase.FAILED and state.message == "boom"


def test_negative_limit_retries_for_ever():
    state = retry.after_attempt(failed(RetryStrategy(limit=-1), count=1000), now=START)
    assert state.phase is OperationPhase.RUNNING and state.retry_count == 1001


def test_terminated_operation_is_never_retried():
    state = retry.after_attempt(failed(RetryStrategy(limit=5)), now=START, terminating=True)
    assert state.phase is OperationPhase.FAILED and state.retry_count == 0


def test_succeeded_attempt_is_unchanged():
    done = failed(RetryStrategy(limit=5), phase=OperationPhase.SUCCEEDED, message="ok")
    assert retry.after_attempt(done, now=START) == done


def test_bad_duration_when_scheduling_is_an_error():
    state = retry.after_attempt(failed(RetryStrategy(limit=2, backoff=Backoff(duration="soon"))), now=START)
    assert state.phase is OperationPhase.ERROR
    assert state.message == "boom (failed to retry: unable to parse soon as a duration)"


def test_resume_waits_for_the_backoff_with_the_incremented_count():
    waiting = retry.after_attempt(failed(RetryStrategy(limit=3)), now=START)
    # retryCount is 1 now, so the real wait is 5s * 2**1 = 10s (Argo CD's off-by-one).
    early = retry.resume(waiting, now=START + timedelta(seconds=9))
    assert early.waiting and early.until == START + timedelta(seconds=10)
    assert early.state == waiting


def test_resume_starts_a_fresh_attempt_with_the_same_start():
    waiting = retry.after_attempt(failed(RetryStrategy(limit=3)), now=START)
    started = retry.resume(waiting, now=START + timedelta(seconds=10))
    assert not started.waiting
    state = started.state
    assert state.phase is OperationPhase.RUNNING
    assert state.message == "Retrying operation. Attempt #1"
    assert state.finished_at is None and state.sync_result is None
    assert state.started_at == START  # same start: the same generated hook names
    assert state.operation.sync is not None and state.operation.sync.revision == "main"


def test_resume_with_refresh_drops_the_revision():
    waiting = retry.after_attempt(failed(RetryStrategy(limit=3, refresh=True)), now=START)
    state = retry.resume(waiting, now=START + timedelta(minutes=1)).state
    assert state.message == "Retrying operation with latest revisions. Attempt #1"
    assert state.operation.sync is not None and state.operation.sync.revision == ""


def test_resume_with_a_bad_duration_errors():
    broken = RetryStrategy(limit=3, backoff=Backoff(duration="5s", max_duration="later"))
    waiting = OperationState(
        Operation(sync=SyncOperation(), retry=broken), OperationPhase.RUNNING, START, finished_at=START, retry_count=1
    )
    state = retry.resume(waiting, now=START + timedelta(minutes=1)).state
    assert state.phase is OperationPhase.ERROR
    assert state.message == "unable to parse later as a duration"


def test_resume_of_a_running_attempt_changes_nothing():
    running = OperationState(Operation(sync=SyncOperation()), OperationPhase.RUNNING, START)
    assert retry.resume(running, now=START) == retry.RetryWait(running)
