"""Automated sync and self-heal decisions (Argo CD's ``autoSync``), as a pure function of the app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tiphys.controller import application as apps
from tiphys.controller.automation import SelfHealBackoff, auto_sync
from tiphys.controller.context import ResourceStatus, SyncStatusCode
from tiphys.engine import (
    Operation,
    OperationInitiator,
    OperationPhase,
    OperationState,
    RetryStrategy,
    SyncOperation,
    SyncResult,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SOURCE = {"repoURL": "git://h/r.git", "path": ".", "targetRevision": "HEAD"}
OUT, SYNCED = SyncStatusCode.OUT_OF_SYNC, SyncStatusCode.SYNCED


def app(*, automated: dict[str, Any] | None = None, last: OperationState | None = None, **extra: Any) -> dict:
    spec: dict[str, Any] = {"source": dict(SOURCE), "destination": {"namespace": "ns"}}
    if automated is not None:
        spec["syncPolicy"] = {"automated": automated}
    found: dict[str, Any] = {"metadata": {"name": "a"}, "spec": spec, **extra}
    if last is not None:
        found["status"] = {"operationState": last.to_json()}
    return found


def res(name: str, status: SyncStatusCode = OUT, *, prune: bool = False) -> ResourceStatus:
    return ResourceStatus("", "v1", "ConfigMap", "ns", name, status, requires_pruning=prune)


def last_op(phase: OperationPhase, revision: str = "abc", *, heals: int = 0, finished: timedelta = timedelta(0)):
    operation = Operation(sync=SyncOperation(revision=revision, auto_heal_attempts_count=heals))
    return OperationState(
        operation,
        phase,
        NOW - timedelta(minutes=5),
        message="one or more objects failed to apply",
        sync_result=SyncResult(revision=revision, source=dict(SOURCE)),
        finished_at=NOW - finished,
    )


def decide(application: dict, *, status=OUT, revision="abc", resources=(res("a"),), **kw: Any):
    return auto_sync(application, status=status, revision=revision, resources=list(resources), now=NOW, **kw)


def test_syncs_an_out_of_sync_app_with_default_retry():
    decision = decide(app(automated={"prune": True}))
    operation = decision.operation
    assert operation is not None and operation.sync is not None
    assert operation.sync.revision == "abc" and operation.sync.prune and operation.sync.source == SOURCE
    assert operation.initiated_by == OperationInitiator(automated=True)
    assert operation.retry == RetryStrategy(limit=5)
    assert operation.to_json()["initiatedBy"] == {"automated": True}


@pytest.mark.parametrize(
    "application, status, reason",
    [
        pytest.param(app(), OUT, "automated sync is off", id="off"),
        pytest.param(app(automated={"enabled": False}), OUT, "automated sync is off", id="disabled"),
        pytest.param(app(automated={}, operation={"sync": {}}), OUT, "another operation is in progress", id="busy"),
        pytest.param(app(automated={}), SYNCED, "application status is Synced", id="synced"),
        pytest.param(app(automated={}), SyncStatusCode.UNKNOWN, "application status is Unknown", id="unknown"),
    ],
)
def test_no_sync(application, status, reason):
    decision = decide(application, status=status)
    assert decision.operation is None and decision.condition == "" and decision.reason == reason


def test_deleting_app_is_not_synced():
    application = app(automated={})
    application["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    assert decide(application).reason == "deletion in progress"


def test_prune_only_differences_need_auto_prune():
    resources = (res("kept", SYNCED), res("gone", prune=True))
    assert decide(app(automated={}), resources=resources).operation is None
    assert decide(app(automated={"prune": True}), resources=resources).operation is not None


def test_wiping_everything_out_is_refused_unless_allow_empty():
    resources = (res("a", prune=True), res("b", prune=True))
    refused = decide(app(automated={"prune": True}), resources=resources)
    assert refused.operation is None
    assert refused.condition == "Skipping sync attempt to [abc]: auto-sync will wipe out all resources"
    assert decide(app(automated={"prune": True, "allowEmpty": True}), resources=resources).operation is not None


def test_same_revision_after_a_failure_is_not_retried():
    decision = decide(app(automated={"selfHeal": True}, last=last_op(OperationPhase.FAILED)))
    assert decision.operation is None
    assert decision.condition == "Failed last sync attempt to [abc]: one or more objects failed to apply"


def test_new_revision_after_a_failure_syncs():
    assert decide(app(automated={}, last=last_op(OperationPhase.FAILED, "old"))).operation is not None


def test_changed_source_counts_as_a_new_attempt():
    application = app(automated={}, last=last_op(OperationPhase.FAILED))
    application["spec"]["source"]["path"] = "other"
    assert decide(application).operation is not None


def test_same_revision_after_success_needs_self_heal():
    assert (
        decide(app(automated={}, last=last_op(OperationPhase.SUCCEEDED))).reason == "most recent sync already to [abc]"
    )


def test_self_heal_syncs_only_out_of_sync_resources_and_counts_attempts():
    application = app(
        automated={"selfHeal": True}, last=last_op(OperationPhase.SUCCEEDED, heals=1, finished=timedelta(5))
    )
    decision = decide(application, resources=(res("drifted"), res("fine", SYNCED)))
    sync = decision.operation.sync if decision.operation is not None else None
    assert sync is not None
    assert [r.name for r in sync.resources] == ["drifted"]
    assert sync.auto_heal_attempts_count == 2


def test_self_heal_backs_off():
    # Attempt 3 waits 2s * 3**2 = 18s after the last operation finished.
    application = app(
        automated={"selfHeal": True}, last=last_op(OperationPhase.SUCCEEDED, heals=3, finished=timedelta(seconds=10))
    )
    decision = decide(application)
    assert decision.operation is None and decision.retry_after == timedelta(seconds=8)
    later = app(
        automated={"selfHeal": True}, last=last_op(OperationPhase.SUCCEEDED, heals=3, finished=timedelta(seconds=19))
    )
    assert decide(later).operation is not None


@pytest.mark.parametrize(
    "attempts, delay",
    [(0, 0), (1, 2), (2, 6), (3, 18), (5, 162), (6, 300), (10, 300)],
)
def test_self_heal_backoff_steps(attempts, delay):
    assert SelfHealBackoff().delay(attempts) == timedelta(seconds=delay)


def test_retry_policy_of_the_app_is_used():
    application = app(automated={})
    application["spec"]["syncPolicy"]["retry"] = {"limit": 2, "backoff": {"duration": "1s"}}
    operation = decide(application).operation
    assert operation is not None and operation.retry.limit == 2


def test_rollback_operation_is_refused_while_automated():
    application = app(automated={})
    application["status"] = {"history": [{"id": 0, "revision": "abc", "source": SOURCE, "deployedAt": "x"}]}
    with pytest.raises(apps.RollbackRefused, match="rollback cannot be initiated when auto-sync is enabled"):
        apps.rollback_operation(application, 0)
    del application["spec"]["syncPolicy"]
    with pytest.raises(apps.RollbackRefused, match="does not have deployment with id 7"):
        apps.rollback_operation(application, 7)
    operation = apps.rollback_operation(application, 0, prune=True, username="ann")
    assert operation["sync"] == {
        "revision": "abc",
        "prune": True,
        "syncStrategy": {"apply": {}},
        "source": SOURCE,
    }
    assert operation["initiatedBy"] == {"username": "ann"}
