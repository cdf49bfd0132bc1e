"""A task and what it derives from its object and recorded result (spec §3, §4.10, §8)."""

from __future__ import annotations

import pytest

from tiphys.engine import (
    HookType,
    OperationPhase,
    ResourceResult,
    ResultCode,
    SyncPhase,
    SyncResult,
    SyncTask,
    attach_results,
    default_namespace,
)
from tiphys.engine.annotations import HELM_HOOK_DELETE_POLICY, HOOK, HOOK_DELETE_POLICY, SYNC_WAVE

from .builders import deployment, job, obj


def test_a_task_needs_an_object():
    with pytest.raises(ValueError, match="target or a live"):
        SyncTask(SyncPhase.SYNC)


def test_target_wins_over_live():
    target = deployment(namespace="apps", annotations={SYNC_WAVE: "2"})
    live = deployment(namespace="apps")
    task = SyncTask(SyncPhase.SYNC, target=target, live=live)
    assert task.obj is target
    assert not task.is_prune
    assert task.wave == 2
    assert (task.group, task.version, task.kind, task.namespace, task.name) == (
        "apps",
        "v1",
        "Deployment",
        "apps",
        "web",
    )
    assert task.result_key == "apps/Deployment/apps/web:Sync"
    assert task.hook_type is None


def test_a_prune_task_reads_the_live_object():
    task = SyncTask(SyncPhase.SYNC, live=obj("ConfigMap", "old", namespace="apps", annotations={SYNC_WAVE: "3"}))
    assert task.is_prune
    assert task.wave == 3
    assert task.result_key == "/ConfigMap/apps/old:Sync"


def test_wave_override_wins():
    task = SyncTask(SyncPhase.SYNC, target=obj(annotations={SYNC_WAVE: "2"}), wave_override=-4)
    assert task.wave == -4


def test_a_hook_task_reports_its_phase_as_hook_type():
    task = SyncTask(SyncPhase.POST_SYNC, target=job(annotations={HOOK: "PreSync,PostSync"}))
    assert task.is_hook
    assert task.hook_type is HookType.POST_SYNC
    assert task.result_key == "batch/Job//migrate:PostSync"


@pytest.mark.parametrize(
    "state, pending, running, completed, successful",
    [
        pytest.param(None, True, False, False, False, id="pending"),
        pytest.param(OperationPhase.RUNNING, False, True, False, False, id="running"),
        pytest.param(OperationPhase.SUCCEEDED, False, False, True, True, id="succeeded"),
        pytest.param(OperationPhase.FAILED, False, False, True, False, id="failed"),
        pytest.param(OperationPhase.ERROR, False, False, True, False, id="error"),
    ],
)
def test_task_states(state, pending, running, completed, successful):
    task = SyncTask(SyncPhase.SYNC, target=obj(), operation_state=state)
    assert (task.pending, task.running, task.completed, task.successful) == (pending, running, completed, successful)


@pytest.mark.parametrize(
    "annotations, live, pending, before_creation, on_success, on_failure",
    [
        pytest.param({HOOK: "PreSync"}, True, True, True, False, False, id="default-before-hook-creation"),
        pytest.param({HOOK: "PreSync"}, False, True, False, False, False, id="nothing-without-live-object"),
        pytest.param({HOOK: "PreSync"}, True, False, False, False, False, id="only-pending-is-recreated"),
        pytest.param(
            {HOOK: "PreSync", HOOK_DELETE_POLICY: "HookSucceeded"}, True, False, False, True, False, id="succeeded"
        ),
        pytest.param({HOOK: "PreSync", HOOK_DELETE_POLICY: "HookFailed"}, True, False, False, False, True, id="failed"),
        pytest.param(
            {HOOK: "Sync", HOOK_DELETE_POLICY: "HookFailed", HELM_HOOK_DELETE_POLICY: "hook-succeeded"},
            True,
            False,
            False,
            True,
            True,
            id="argo-and-helm-merged",
        ),
        pytest.param({HOOK_DELETE_POLICY: "HookSucceeded"}, True, False, False, False, False, id="resource-never"),
    ],
)
def test_delete_policy_candidates(annotations, live, pending, before_creation, on_success, on_failure):
    thing = job(annotations=annotations)
    task = SyncTask(
        SyncPhase.SYNC,
        target=thing,
        live=thing if live else None,
        operation_state=None if pending else OperationPhase.SUCCEEDED,
    )
    assert task.delete_before_creation is before_creation
    assert task.delete_on_success is on_success
    assert task.delete_on_failure is on_failure


def test_with_result_keeps_the_last_non_empty_message():
    task = SyncTask(SyncPhase.SYNC, target=obj()).with_result(
        ResultCode.SYNCED, OperationPhase.RUNNING, "pod/p created"
    )
    task = task.with_result(ResultCode.SYNCED, OperationPhase.SUCCEEDED, "")
    assert (task.sync_status, task.operation_state, task.message) == (
        ResultCode.SYNCED,
        OperationPhase.SUCCEEDED,
        "pod/p created",
    )


def test_to_result():
    target = job(
        namespace="db", annotations={HOOK: "PreSync"}, spec={"template": {"spec": {"containers": [{"image": "m:1"}]}}}
    )
    task = SyncTask(SyncPhase.PRE_SYNC, target=target).with_result(
        ResultCode.SYNCED, OperationPhase.RUNNING, "job.batch/migrate created"
    )
    assert task.to_result() == ResourceResult(
        group="batch",
        version="v1",
        kind="Job",
        namespace="db",
        name="migrate",
        status=ResultCode.SYNCED,
        message="job.batch/migrate created",
        hook_type=HookType.PRE_SYNC,
        hook_phase=OperationPhase.RUNNING,
        sync_phase=SyncPhase.PRE_SYNC,
        images=("m:1",),
    )


def test_attach_results_by_key():
    pending = SyncTask(SyncPhase.SYNC, target=obj("ConfigMap", "b"))
    done = SyncTask(SyncPhase.SYNC, target=obj("ConfigMap", "a"))
    recorded = SyncResult(
        resources=(
            ResourceResult(
                "",
                "v1",
                "ConfigMap",
                "",
                "a",
                ResultCode.SYNCED,
                "configured",
                None,
                OperationPhase.SUCCEEDED,
                SyncPhase.SYNC,
            ),
            ResourceResult(
                "", "v1", "ConfigMap", "", "a", ResultCode.SYNCED, "other phase", None, None, SyncPhase.PRE_SYNC
            ),
        )
    )
    first, second = attach_results([done, pending], recorded)
    assert (first.sync_status, first.operation_state, first.message) == (
        ResultCode.SYNCED,
        OperationPhase.SUCCEEDED,
        "configured",
    )
    assert second.pending
    assert attach_results([pending], None) == [pending]


def test_default_namespace_even_for_cluster_scoped_objects():
    role = obj("ClusterRole", "reader", api_version="rbac.authorization.k8s.io/v1")
    defaulted = default_namespace(role, "apps")
    assert defaulted["metadata"] == {"name": "reader", "namespace": "apps"}
    assert "namespace" not in role["metadata"]
    assert (
        SyncTask(SyncPhase.SYNC, target=defaulted).result_key
        == "rbac.authorization.k8s.io/ClusterRole/apps/reader:Sync"
    )
    kept = obj("ConfigMap", "c", namespace="other")
    assert default_namespace(kept, "apps") is kept
