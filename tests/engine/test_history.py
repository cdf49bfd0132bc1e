"""Deployment history: appended only after a successful full sync, newest ten kept (spec §13.4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tiphys.engine import (
    Operation,
    OperationInitiator,
    OperationPhase,
    OperationState,
    RevisionHistory,
    SyncOperation,
    SyncOperationResource,
    SyncResult,
    append_history,
    records_history,
)

START = datetime(2024, 1, 1, tzinfo=UTC)
NOW = START + timedelta(minutes=2)


def finished(*, phase=OperationPhase.SUCCEEDED, sync=None, result=None):
    operation = Operation(sync=sync if sync is not None else SyncOperation(), initiated_by=OperationInitiator("ann"))
    return OperationState(
        operation, phase, START, sync_result=result or SyncResult(revision="abc", source={"path": "p"})
    )


@pytest.mark.parametrize(
    "state, recorded",
    [
        pytest.param(finished(), True, id="succeeded"),
        pytest.param(finished(phase=OperationPhase.FAILED), False, id="failed"),
        pytest.param(finished(sync=SyncOperation(dry_run=True)), False, id="dry-run"),
        pytest.param(
            finished(sync=SyncOperation(resources=(SyncOperationResource("Pod", "p"),))), False, id="selective"
        ),
    ],
)
def test_records_history(state, recorded):
    assert records_history(state) is recorded


def test_first_entry_has_id_zero():
    [entry] = append_history((), state=finished(), now=NOW)
    assert entry == RevisionHistory(
        id=0,
        deployed_at=NOW,
        revision="abc",
        source={"path": "p"},
        deploy_started_at=START,
        initiated_by=OperationInitiator("ann"),
    )
    assert entry.to_json() == {
        "revision": "abc",
        "deployedAt": "2024-01-01T00:02:00Z",
        "id": 0,
        "source": {"path": "p"},
        "deployStartedAt": "2024-01-01T00:00:00Z",
        "initiatedBy": {"username": "ann"},
    }
    assert RevisionHistory.from_json(entry.to_json()) == entry


def test_multi_source_records_revisions_and_sources():
    result = SyncResult(revisions=("a", "b"), sources=({"path": "x"}, {"path": "y"}))
    [entry] = append_history((), state=finished(result=result), now=NOW)
    assert (entry.revision, entry.revisions, entry.source, entry.sources) == ("", ("a", "b"), None, result.sources)


def test_ids_count_up_and_the_newest_are_kept():
    history: tuple[RevisionHistory, ...] = ()
    for _ in range(12):
        history = append_history(history, state=finished(), now=NOW)
    assert [h.id for h in history] == list(range(2, 12))
    assert [h.id for h in append_history(history, state=finished(), now=NOW, limit=3)] == [10, 11, 12]
    assert append_history(history, state=finished(), now=NOW, limit=0) == ()
