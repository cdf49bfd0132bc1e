"""The persisted data model, with Argo CD's field names (spec §13)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tiphys.engine import (
    HookType,
    Operation,
    OperationPhase,
    OperationState,
    ResourceKey,
    ResourceResult,
    ResultCode,
    SyncOperation,
    SyncPhase,
    SyncResult,
    result_key,
)

STATE = {
    "operation": {
        "sync": {
            "revision": "abcdef1234567890",
            "prune": True,
            "syncStrategy": {"hook": {}},
            "syncOptions": ["CreateNamespace=true", "PruneLast=true"],
        },
        "initiatedBy": {"username": "admin"},
        "retry": {"limit": 2, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}},
    },
    "phase": "Running",
    "message": "waiting for completion of hook batch/Job/migrate-abcdef1-presync-1700000000",
    "syncResult": {
        "resources": [
            {
                "group": "batch",
                "version": "v1",
                "kind": "Job",
                "namespace": "db",
                "name": "migrate-abcdef1-presync-1700000000",
                "status": "Synced",
                "message": "job.batch/migrate-abcdef1-presync-1700000000 created",
                "hookType": "PreSync",
                "hookPhase": "Running",
                "syncPhase": "PreSync",
                "images": ["migrate:1"],
            },
            {
                "group": "",
                "version": "v1",
                "kind": "ConfigMap",
                "namespace": "db",
                "name": "old",
                "status": "PruneSkipped",
                "message": "ignored (requires pruning)",
                "hookPhase": "Succeeded",
                "syncPhase": "Sync",
            },
        ],
        "revision": "abcdef1234567890",
        "source": {"repoURL": "https://example.com/repo.git", "path": "deploy", "targetRevision": "HEAD"},
    },
    "startedAt": "2023-11-14T22:13:20Z",
}


def test_operation_state_round_trips_argo_cd_json():
    state = OperationState.from_json(STATE)
    assert state.phase is OperationPhase.RUNNING
    assert state.started_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert state.operation.sync is not None and state.operation.sync.prune
    assert state.results[0].hook_type is HookType.PRE_SYNC
    assert state.results[1].hook_type is None
    assert state.started and not state.completed and not state.waiting_to_retry
    assert state.to_json() == STATE
    assert json.loads(json.dumps(state.to_json())) == STATE  # JSON values only


def test_result_fields_and_omissions():
    result = ResourceResult("apps", "v1", "Deployment", "web", "web")
    assert result.to_json() == {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
        "namespace": "web",
        "name": "web",
    }
    with_logs = ResourceResult(
        "batch",
        "v1",
        "Job",
        "db",
        "m",
        ResultCode.SYNCED,
        "boom",
        HookType.SYNC,
        OperationPhase.FAILED,
        SyncPhase.SYNC,
        logs="line 1\nline 2",
    )
    data = with_logs.to_json()
    assert data["logs"] == "line 1\nline 2"
    assert type(data["status"]) is str
    assert ResourceResult.from_json(data) == with_logs


@pytest.mark.parametrize(
    "data, error",
    [
        pytest.param({"name": "x", "status": "Done"}, "status: unknown ResultCode 'Done'", id="unknown-word"),
        pytest.param({"name": 5}, "name: expected a string", id="wrong-type"),
        pytest.param({"name": "x", "images": [1]}, "images: expected a list of strings", id="bad-images"),
    ],
)
def test_bad_result_json_names_the_field(data, error):
    with pytest.raises(ValueError, match=error):
        ResourceResult.from_json(data)


def test_empty_words_read_as_none():
    result = ResourceResult.from_json({"name": "x", "status": "", "hookType": "", "hookPhase": "", "syncPhase": ""})
    assert (result.status, result.hook_type, result.hook_phase, result.sync_phase) == (None, None, None, None)


def test_result_key():
    assert result_key(ResourceKey("apps", "Deployment", "ns", "web"), SyncPhase.SYNC) == "apps/Deployment/ns/web:Sync"
    result = ResourceResult("", "v1", "Pod", "", "hook", sync_phase=SyncPhase.POST_SYNC)
    assert result.key == "/Pod//hook:PostSync"
    assert result.resource_key == ResourceKey("", "Pod", "", "hook")


def _result(name, status=ResultCode.SYNCED, phase=OperationPhase.RUNNING, message="", sync_phase=SyncPhase.SYNC):
    return ResourceResult("", "v1", "Pod", "ns", name, status, message, None, phase, sync_phase, images=("a:1",))


def test_record_appends_new_keys_in_order():
    result = SyncResult().record(_result("b")).record(_result("a")).record(_result("a", sync_phase=SyncPhase.PRE_SYNC))
    assert [(r.name, r.sync_phase) for r in result.resources] == [
        ("b", SyncPhase.SYNC),
        ("a", SyncPhase.SYNC),
        ("a", SyncPhase.PRE_SYNC),
    ]


def test_record_updates_in_place_and_keeps_the_last_non_empty_message():
    result = SyncResult().record(_result("a", message="pod/a created")).record(_result("b"))
    updated = ResourceResult(
        "", "v2", "Pod", "ns", "a", ResultCode.SYNCED, "", None, OperationPhase.SUCCEEDED, SyncPhase.SYNC
    )
    result = result.record(updated)
    first = result.resources[0]
    assert [r.name for r in result.resources] == ["a", "b"]
    assert (first.hook_phase, first.message, first.version, first.images) == (
        OperationPhase.SUCCEEDED,
        "pod/a created",
        "v1",
        ("a:1",),
    )
    result = result.record(_result("a", status=ResultCode.SYNC_FAILED, phase=OperationPhase.ERROR, message="boom"))
    assert (result.resources[0].status, result.resources[0].message) == (ResultCode.SYNC_FAILED, "boom")
    assert result.find("/Pod/ns/a:Sync") == result.resources[0]
    assert result.find("/Pod/ns/zzz:Sync") is None


def test_pruning_required_ignores_prune_false():
    result = SyncResult(
        resources=(
            _result("a", ResultCode.PRUNE_SKIPPED, message="ignored (requires pruning)"),
            _result("b", ResultCode.PRUNE_SKIPPED, message="ignored (no prune)"),
            _result("c", ResultCode.PRUNED, message="pruned"),
        )
    )
    assert result.pruning_required == 1


def test_sync_result_extensions_are_omitted_when_empty():
    assert SyncResult(revision="r").to_json() == {"revision": "r"}
    data = SyncResult(revision="r", revisions=("a", "b"), warnings=("x",), managed_namespace_metadata={}).to_json()
    assert data == {"revision": "r", "revisions": ["a", "b"], "warnings": ["x"], "managedNamespaceMetadata": {}}
    assert SyncResult.from_json(data) == SyncResult(
        revision="r", revisions=("a", "b"), warnings=("x",), managed_namespace_metadata={}
    )


def test_start_truncates_to_stored_seconds():
    now = datetime(2024, 5, 1, 14, 0, 0, 987654, tzinfo=timezone(timedelta(hours=2)))
    state = OperationState.start(Operation(sync=SyncOperation()), now=now)
    assert state.phase is OperationPhase.RUNNING
    assert state.started_at.microsecond == 0
    assert state.to_json()["startedAt"] == "2024-05-01T12:00:00Z"
    assert OperationState.from_json(state.to_json()) == state
    assert not state.started


def test_finished_and_retry_fields():
    state = OperationState.from_json(
        {
            "operation": {"sync": {}},
            "phase": "Running",
            "startedAt": "2024-05-01T12:00:00+02:00",
            "finishedAt": "2024-05-01T10:05:00.5Z",
            "retryCount": 1,
        }
    )
    assert state.waiting_to_retry
    assert state.started_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert state.to_json()["finishedAt"] == "2024-05-01T10:05:00Z"
    assert state.to_json()["retryCount"] == 1


@pytest.mark.parametrize(
    "data, error",
    [
        pytest.param({"phase": "Running"}, "needs a phase and a startedAt", id="no-start"),
        pytest.param({"phase": "Paused", "startedAt": "2024-01-01T00:00:00Z"}, "unknown OperationPhase", id="phase"),
        pytest.param({"phase": "Running", "startedAt": "yesterday"}, "not an RFC 3339 time", id="bad-time"),
    ],
)
def test_bad_operation_state(data, error):
    with pytest.raises(ValueError, match=error):
        OperationState.from_json(data)


def test_times_must_be_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        OperationState(Operation(), OperationPhase.RUNNING, datetime(2024, 1, 1))
