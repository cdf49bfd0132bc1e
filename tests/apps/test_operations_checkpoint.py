"""Which steps are written ahead of their actions, and what is written (``controller.checkpoint``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tiphys.controller.checkpoint import provisional, write_ahead
from tiphys.engine import (
    Delete,
    ObjectRef,
    Operation,
    OperationPhase,
    OperationState,
    Purpose,
    Stage,
    Step,
    SyncOperation,
)

START = datetime(2024, 1, 1, tzinfo=UTC)
REF = ObjectRef("batch/v1", "Job", "ns", "hook")


def state(phase: OperationPhase = OperationPhase.RUNNING, **kw) -> OperationState:
    return OperationState(Operation(sync=SyncOperation()), phase, START, message="m", **kw)


def step(purpose: Purpose) -> Step:
    return Step(state(), (Stage((Delete(1, purpose, "task", REF),)),))


@pytest.mark.parametrize(
    "purpose, ahead",
    [
        pytest.param(Purpose.DELETE_HOOK, True, id="hook-deletions-at-the-end"),
        pytest.param(Purpose.TERMINATE, True, id="termination"),
        pytest.param(Purpose.TIMEOUT, True, id="hook-timeout"),
        pytest.param(Purpose.PRUNE, False, id="prune"),
        pytest.param(Purpose.DELETE_BEFORE_CREATION, False, id="before-hook-creation"),
    ],
)
def test_write_ahead_for_steps_that_delete_hooks(purpose, ahead):
    assert write_ahead(step(purpose)) is ahead


def test_no_actions_no_write_ahead():
    assert not write_ahead(Step(state()))


def test_provisional_keeps_results_but_stays_running():
    done = state(OperationPhase.SUCCEEDED, finished_at=START)
    kept = provisional(done)
    assert kept.phase is OperationPhase.RUNNING and kept.finished_at is None
    assert (kept.message, kept.sync_result, kept.started_at) == (done.message, done.sync_result, done.started_at)
    running = state()
    assert provisional(running) is running
