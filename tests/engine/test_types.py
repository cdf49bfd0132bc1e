"""The vocabularies: wire strings and the predicates on them (spec §1)."""

from __future__ import annotations

import pytest

from tiphys.engine import (
    HealthStatus,
    HookDeletePolicy,
    HookType,
    OperationPhase,
    ResultCode,
    SyncOption,
    SyncPhase,
    is_worse,
    parse_hook_type,
)


@pytest.mark.parametrize(
    "enum, values",
    [
        pytest.param(SyncPhase, ["PreSync", "Sync", "PostSync", "SyncFail"], id="sync-phase"),
        pytest.param(
            HookType, ["PreSync", "Sync", "PostSync", "SyncFail", "Skip", "PreDelete", "PostDelete"], id="hook-type"
        ),
        pytest.param(HookDeletePolicy, ["HookSucceeded", "HookFailed", "BeforeHookCreation"], id="delete-policy"),
        pytest.param(OperationPhase, ["Running", "Terminating", "Failed", "Error", "Succeeded"], id="operation-phase"),
        pytest.param(ResultCode, ["Synced", "SyncFailed", "Pruned", "PruneSkipped"], id="result-code"),
        pytest.param(
            HealthStatus, ["Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"], id="health"
        ),
    ],
)
def test_values_are_the_wire_strings(enum, values):
    assert [member.value for member in enum] == values
    assert all(str(member) == member.value for member in enum)


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("PreSync", HookType.PRE_SYNC, id="pre-sync"),
        pytest.param("Skip", HookType.SKIP, id="skip"),
        pytest.param("PostDelete", HookType.POST_DELETE, id="post-delete-is-argo-cd-type"),
        pytest.param("presync", None, id="case-sensitive"),
        pytest.param("Garbage", None, id="garbage"),
        pytest.param("", None, id="empty"),
        pytest.param(" Sync", None, id="untrimmed"),
    ],
)
def test_parse_hook_type(text, expected):
    assert parse_hook_type(text) is expected


@pytest.mark.parametrize(
    "hook_type, phase, known_to_engine",
    [
        pytest.param(HookType.PRE_SYNC, SyncPhase.PRE_SYNC, True, id="pre-sync"),
        pytest.param(HookType.SYNC, SyncPhase.SYNC, True, id="sync"),
        pytest.param(HookType.POST_SYNC, SyncPhase.POST_SYNC, True, id="post-sync"),
        pytest.param(HookType.SYNC_FAIL, SyncPhase.SYNC_FAIL, True, id="sync-fail"),
        pytest.param(HookType.SKIP, None, True, id="skip-has-no-phase"),
        pytest.param(HookType.PRE_DELETE, None, False, id="pre-delete-not-engine"),
        pytest.param(HookType.POST_DELETE, None, False, id="post-delete-not-engine"),
    ],
)
def test_hook_type_phase(hook_type, phase, known_to_engine):
    assert hook_type.sync_phase is phase
    assert hook_type.known_to_engine is known_to_engine
    assert hook_type.is_deletion is (not known_to_engine)


def test_phase_ranks_and_hook_types():
    assert [p.rank for p in SyncPhase] == [-1, 0, 1, 2]
    assert [p.hook_type for p in SyncPhase] == [
        HookType.PRE_SYNC,
        HookType.SYNC,
        HookType.POST_SYNC,
        HookType.SYNC_FAIL,
    ]


@pytest.mark.parametrize(
    "phase, completed, successful, running",
    [
        pytest.param(OperationPhase.RUNNING, False, False, True, id="running"),
        pytest.param(OperationPhase.TERMINATING, False, False, False, id="terminating"),
        pytest.param(OperationPhase.FAILED, True, False, False, id="failed"),
        pytest.param(OperationPhase.ERROR, True, False, False, id="error"),
        pytest.param(OperationPhase.SUCCEEDED, True, True, False, id="succeeded"),
    ],
)
def test_operation_phase_predicates(phase, completed, successful, running):
    assert (phase.completed, phase.successful, phase.running) == (completed, successful, running)
    assert phase.failed is (phase is OperationPhase.FAILED)


@pytest.mark.parametrize(
    "code, phase",
    [
        pytest.param(ResultCode.SYNCED, OperationPhase.RUNNING, id="synced-runs"),
        pytest.param(ResultCode.SYNC_FAILED, OperationPhase.FAILED, id="sync-failed-fails"),
        pytest.param(ResultCode.PRUNED, OperationPhase.SUCCEEDED, id="pruned-succeeds"),
        pytest.param(ResultCode.PRUNE_SKIPPED, OperationPhase.SUCCEEDED, id="prune-skipped-succeeds"),
    ],
)
def test_result_code_starts_task_state(code, phase):
    assert code.operation_phase is phase


@pytest.mark.parametrize(
    "current, new, worse",
    [
        pytest.param("Healthy", "Suspended", True, id="suspended-worse-than-healthy"),
        pytest.param("Suspended", "Progressing", True, id="progressing-worse-than-suspended"),
        pytest.param("Progressing", "Missing", True, id="missing-worse-than-progressing"),
        pytest.param("Missing", "Degraded", True, id="degraded-worse-than-missing"),
        pytest.param("Degraded", "Unknown", True, id="unknown-is-worst"),
        pytest.param("Degraded", "Degraded", False, id="same-is-not-worse"),
        pytest.param("Unknown", "Healthy", False, id="healthy-never-worse"),
        pytest.param("Healthy", "", False, id="empty-counts-as-healthy"),
        pytest.param("Progressing", "Bogus", False, id="unknown-code-counts-as-healthy"),
    ],
)
def test_is_worse(current, new, worse):
    assert is_worse(current, new) is worse


def test_health_rank_and_method():
    assert [s.rank for s in HealthStatus] == list(range(6))
    assert HealthStatus.DEGRADED.is_worse_than(HealthStatus.PROGRESSING)
    assert not HealthStatus.HEALTHY.is_worse_than(HealthStatus.SUSPENDED)


def test_sync_option_is_written_key_equals_value():
    assert SyncOption.PRUNE_LAST.option("true") == "PruneLast=true"
    assert SyncOption.PRUNE.option("confirm") == "Prune=confirm"
    assert SyncOption.SKIP_DRY_RUN_ON_MISSING_RESOURCE.value == "SkipDryRunOnMissingResource"
