"""The step function, stepped the gitops-engine way: step, change the world, step again (spec §4, §8).

Each test drives one operation through ``decide``/``settle`` against a dict of objects and checks
the operation's phase and message word for word after every step.
"""

from __future__ import annotations

from datetime import timedelta

from tiphys.engine import OperationPhase, ResultCode
from tiphys.engine.annotations import HOOK, HOOK_DELETE_POLICY, HOOK_FINALIZER, SYNC_OPTIONS, SYNC_WAVE

from .builders import deployment, job, obj
from .stepping import Cluster, Sync, start

PRESYNC_NAME = "migrate-0123456-presync-1700000000"


def presync(**annotations):
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": "migrate-", "annotations": {HOOK: "PreSync", **annotations}},
    }


def hook(name, kind_annotation, **annotations):
    return job(name, annotations={HOOK: kind_annotation, **annotations})


def test_a_plain_app_is_applied_in_one_step_and_health_is_not_awaited():
    sync = Sync([obj("ConfigMap", "settings"), deployment("web")])
    step = sync.step()
    assert (step.state.phase, step.state.message) == (OperationPhase.SUCCEEDED, "successfully synced (all tasks run)")
    assert sync.cluster.calls == [
        "dry-run ConfigMap/settings",
        "dry-run Deployment/web",
        "apply ConfigMap/settings",
        "apply Deployment/web",
    ]
    assert sync.result("web").message == "deployment.apps/web created"
    assert sync.result("web").hook_phase is OperationPhase.RUNNING  # applied, never awaited (gotcha 12)
    assert step.state.finished_at is not None


def test_presync_sync_postsync_in_order_waiting_for_each():
    sync = Sync([presync(), deployment("web"), hook("smoke", "PostSync")])
    sync.step()
    assert sync.message == f"waiting for completion of hook batch/Job/{PRESYNC_NAME}"
    assert sync.cluster.names("Deployment") == []
    assert HOOK_FINALIZER in sync.cluster.get("Job", PRESYNC_NAME)["metadata"]["finalizers"]

    sync.step()  # nothing changed: still waiting, nothing applied
    assert sync.message == f"waiting for completion of hook batch/Job/{PRESYNC_NAME}"

    sync.cluster.complete("Job", PRESYNC_NAME, message="migrated")
    sync.step()
    assert sync.message == "waiting for healthy state of apps/Deployment/web"
    assert sync.cluster.get("Job", PRESYNC_NAME)["metadata"]["finalizers"] == []  # released once completed
    assert sync.result(PRESYNC_NAME).hook_phase is OperationPhase.SUCCEEDED
    assert sync.result(PRESYNC_NAME).message == "migrated"

    sync.cluster.complete("Deployment", "web")
    sync.step()
    assert sync.message == "waiting for completion of hook batch/Job/smoke"
    sync.cluster.complete("Job", "smoke")
    step = sync.step()
    assert (step.state.phase, step.state.message) == (OperationPhase.SUCCEEDED, "successfully synced (no more tasks)")
    assert [(r.name, r.sync_phase.value, r.hook_phase.value) for r in sync.state.results] == [
        (PRESYNC_NAME, "PreSync", "Succeeded"),
        ("web", "Sync", "Succeeded"),
        ("smoke", "PostSync", "Succeeded"),
    ]
    assert sync.cluster.names("Job") == [PRESYNC_NAME, "smoke"]  # default policy BeforeHookCreation keeps them


def test_delete_policies_follow_the_operation_outcome_not_the_hook():
    # argo-cd#27506: on failure, the HookFailed hook goes although it succeeded; HookSucceeded stays.
    sync = Sync(
        [
            hook("ok-on-success", "PreSync", **{HOOK_DELETE_POLICY: "HookSucceeded"}),
            hook("ok-on-failure", "PreSync", **{HOOK_DELETE_POLICY: "HookFailed"}),
            hook("breaks", "PreSync", **{SYNC_WAVE: "1"}),
            deployment("web"),
        ]
    )
    sync.step()
    sync.cluster.complete("Job", "ok-on-success")
    sync.cluster.complete("Job", "ok-on-failure")
    sync.step()
    assert sync.message == "waiting for completion of hook batch/Job/breaks"
    sync.cluster.complete("Job", "breaks", failed=True, message="BackoffLimitExceeded")
    step = sync.step()
    assert (step.state.phase, step.state.message) == (
        OperationPhase.FAILED,
        "one or more synchronization tasks completed unsuccessfully",
    )
    assert sync.cluster.names("Job") == ["breaks", "ok-on-success"]
    assert sync.cluster.names("Deployment") == []  # a failed PreSync stops everything after it


def test_hook_succeeded_hooks_go_only_when_the_whole_sync_succeeds():
    sync = Sync([hook("check", "PreSync", **{HOOK_DELETE_POLICY: "HookSucceeded"}), obj("ConfigMap", "c")])
    sync.step()
    sync.cluster.complete("Job", "check")
    step = sync.step()
    assert step.state.message == "successfully synced (all tasks run)"
    assert sync.cluster.names("Job") == []
    assert sync.cluster.calls[-1] == "delete Job/check"


def test_sync_fail_hooks_run_after_a_failure_and_the_operation_waits_for_them():
    sync = Sync([hook("pre", "PreSync"), hook("cleanup", "SyncFail"), obj("ConfigMap", "c")])
    sync.step()
    sync.cluster.complete("Job", "pre", failed=True)
    sync.step()
    assert (sync.state.phase, sync.message) == (
        OperationPhase.RUNNING,
        "waiting for completion of hook batch/Job/cleanup",
    )
    assert sync.cluster.names("Job") == ["cleanup", "pre"]
    sync.cluster.complete("Job", "cleanup", failed=True)  # a SyncFail hook failing at runtime is not mentioned
    step = sync.step()
    assert (step.state.phase, step.state.message) == (
        OperationPhase.FAILED,
        "one or more synchronization tasks completed unsuccessfully",
    )


def test_an_apply_failure_alone_in_its_step_fails_at_once_with_the_reason():
    cluster = Cluster(failing={"bad": 'ConfigMap "bad" is invalid: data: Invalid value'})
    sync = Sync([obj("ConfigMap", "bad"), obj("ConfigMap", "later", annotations={SYNC_WAVE: "1"})], cluster)
    step = sync.step()
    assert (step.state.phase, step.state.message) == (
        OperationPhase.FAILED,
        'one or more objects failed to apply, reason: ConfigMap "bad" is invalid: data: Invalid value',
    )
    assert sync.result("bad").status is ResultCode.SYNC_FAILED
    assert sync.cluster.names("ConfigMap") == []


def test_an_apply_failure_waits_for_the_rest_of_its_step_then_fails():
    # ACGE (gotcha 32): what was applied fine in the same step is awaited first; no later wave starts.
    cluster = Cluster(failing={"bad": 'ConfigMap "bad" is invalid'})
    desired = [obj("ConfigMap", "bad"), deployment("good"), obj("ConfigMap", "later", annotations={SYNC_WAVE: "1"})]
    sync = Sync(desired, cluster)
    sync.step()
    assert (sync.state.phase, sync.message) == (
        OperationPhase.RUNNING,
        "waiting for healthy state of apps/Deployment/good",
    )
    sync.cluster.complete("Deployment", "good")
    step = sync.step()
    assert (step.state.phase, step.state.message) == (
        OperationPhase.FAILED,
        'one or more synchronization tasks completed unsuccessfully, reason: ConfigMap "bad" is invalid',
    )
    assert sync.cluster.names("ConfigMap") == []


def test_a_failed_dry_run_changes_nothing():
    cluster = Cluster(failing_dry_run={"late": "spec.replicas: Invalid value: -1"})
    sync = Sync([hook("pre", "PreSync"), deployment("late", annotations={SYNC_WAVE: "5"})], cluster)
    step = sync.step()
    assert (step.state.phase, step.state.message) == (
        OperationPhase.FAILED,
        "one or more objects failed to apply (dry run)",
    )
    assert cluster.objects == {}
    assert sync.result("late").message == "spec.replicas: Invalid value: -1"


def test_before_hook_creation_deletes_the_old_hook_then_waits_for_it_to_go():
    old = job("smoke", namespace="apps", annotations={HOOK: "PostSync"})  # from an earlier sync
    old["metadata"]["finalizers"] = ["example.com/slow"]
    sync = Sync([hook("smoke", "PostSync")], Cluster())
    sync.cluster.add(old)
    sync.step()
    assert sync.message == "waiting for deletion of hook batch/Job/smoke"
    assert sync.cluster.get("Job", "smoke")["metadata"].get("deletionTimestamp")
    sync.step()
    assert sync.message == "waiting for deletion of hook batch/Job/smoke"
    assert sync.cluster.calls.count("delete Job/smoke") == 1  # a deletion in progress is not repeated
    sync.cluster.vanish("Job", "smoke")
    sync.step()
    assert sync.message == "waiting for completion of hook batch/Job/smoke"
    assert HOOK_FINALIZER in sync.cluster.get("Job", "smoke")["metadata"]["finalizers"]


def test_prune_is_skipped_unless_asked_and_reversed_by_wave():
    stale = [
        obj(
            "ConfigMap",
            "first",
            namespace="apps",
            annotations={SYNC_WAVE: "1", "argocd.argoproj.io/tracking-id": "app:/ConfigMap:apps/first"},
        ),
        obj(
            "ConfigMap",
            "second",
            namespace="apps",
            annotations={SYNC_WAVE: "2", "argocd.argoproj.io/tracking-id": "app:/ConfigMap:apps/second"},
        ),
    ]
    sync = Sync([obj("ConfigMap", "keep")])
    sync.cluster.add(*stale)
    sync.finish()
    assert sync.result("first").message == "ignored (requires pruning)"
    assert sync.cluster.names("ConfigMap") == ["first", "keep", "second"]

    pruning = Sync([obj("ConfigMap", "keep")], state=start(prune=True))
    pruning.cluster.add(*stale)
    step = pruning.finish()
    assert step.state.message == "successfully synced (all tasks run)"
    assert pruning.cluster.names("ConfigMap") == ["keep"]
    deletes = [c for c in pruning.cluster.calls if c.startswith("delete")]
    assert deletes == ["delete ConfigMap/second", "delete ConfigMap/first"]  # wave 2 pruned before wave 1


def test_prune_confirmation_blocks_the_step():
    tracked = {"argocd.argoproj.io/tracking-id": "app:/ConfigMap:apps/old", SYNC_OPTIONS: "Prune=confirm"}
    sync = Sync([obj("ConfigMap", "new")], state=start(prune=True))
    sync.cluster.add(obj("ConfigMap", "old", namespace="apps", annotations=tracked))
    sync.step()
    assert sync.message == "waiting for pruning confirmation of /ConfigMap/old"
    assert sync.cluster.names("ConfigMap") == ["old"]  # not even the create ran (gotcha 23)
    sync.world_fields["prune_confirmed"] = True
    sync.step()
    assert sync.cluster.names("ConfigMap") == ["new"]


def test_a_degraded_resource_fails_a_multi_step_sync():
    sync = Sync([deployment("web"), obj("ConfigMap", "after", annotations={SYNC_WAVE: "1"})])
    sync.step()
    assert sync.message == "waiting for healthy state of apps/Deployment/web"
    sync.cluster.complete("Deployment", "web", failed=True)
    step = sync.step()
    assert (step.state.phase, step.state.message) == (
        OperationPhase.FAILED,
        "one or more synchronization tasks completed unsuccessfully",
    )
    assert sync.result("web").message == 'Deployment "web" exceeded its progress deadline'


def test_an_unknown_kind_makes_the_tasks_invalid_before_anything_runs():
    sync = Sync([obj("Widget", "w", api_version="example.io/v1"), obj("ConfigMap", "c")])
    step = sync.step()
    assert (step.state.phase, step.state.message) == (
        OperationPhase.FAILED,
        'one or more synchronization tasks are not valid: no matches for kind "Widget" in version "example.io/v1"',
    )
    assert sync.cluster.calls == []


def test_create_namespace_comes_first_and_ends_succeeded():
    sync = Sync([obj("ConfigMap", "c")], state=start(sync_options=("CreateNamespace=true",)))
    step = sync.step()
    assert sync.cluster.calls[0] == "apply Namespace/apps"
    assert step.state.message == "successfully synced (all tasks run)"
    assert sync.result("apps").hook_phase is OperationPhase.SUCCEEDED


def test_an_operation_dry_run_validates_everything_and_touches_nothing():
    sync = Sync([presync(), deployment("web"), hook("smoke", "PostSync")], state=start(dry_run=True))
    step = sync.step()
    assert (step.state.phase, step.state.message) == (OperationPhase.SUCCEEDED, "successfully synced (no more tasks)")
    assert sync.cluster.objects == {}
    assert {r.message for r in sync.state.results} == {
        f"job.batch/{PRESYNC_NAME} created (dry run)",
        "deployment.apps/web created (dry run)",
        "job.batch/smoke created (dry run)",
    }


def test_termination_deletes_running_hooks_and_reports_them_terminated():
    sync = Sync([presync(), deployment("web")])
    sync.step()
    sync.state = sync.state.__class__(**{**sync.state.__dict__, "phase": OperationPhase.TERMINATING})
    step = sync.step()
    assert (step.state.phase, step.state.message) == (OperationPhase.FAILED, "Operation terminated")
    assert sync.result(PRESYNC_NAME).message == "Terminated"
    assert sync.result(PRESYNC_NAME).hook_phase is OperationPhase.FAILED
    assert sync.cluster.names("Job") == []


def test_the_operation_timeout_terminates_like_a_user_would():
    sync = Sync([presync(), deployment("web")], timeout=timedelta(minutes=5))
    sync.step()
    step = sync.step(after=timedelta(minutes=5))
    assert (step.state.phase, step.state.message) == (
        OperationPhase.FAILED,
        "Operation terminated, triggered by sync timeout of 5m expired",
    )
    assert sync.cluster.names("Job") == []


def test_a_hook_timeout_fails_the_hook_and_wakes_the_driver_in_time():
    sync = Sync([presync(**{"tiphys.io/hook-timeout": "90s"}), deployment("web")])
    sync.step()
    waiting = sync.step()
    assert waiting.wake_at == waiting.state.started_at + timedelta(seconds=90)
    sync.step(after=timedelta(seconds=89))
    assert sync.state.phase is OperationPhase.RUNNING
    sync.cluster.logs[PRESYNC_NAME] = "still migrating"
    step = sync.step(after=timedelta(seconds=90))
    assert (step.state.phase, step.state.message) == (
        OperationPhase.FAILED,
        "one or more synchronization tasks completed unsuccessfully",
    )
    assert sync.result(PRESYNC_NAME).message == "hook timed out after 1m30s\nstill migrating"
    assert sync.cluster.names("Job") == []


def test_a_failed_hook_carries_the_tail_of_its_log():
    sync = Sync([presync(), obj("ConfigMap", "c")])
    sync.step()
    sync.cluster.complete("Job", PRESYNC_NAME, failed=True, message="Job has reached the specified backoff limit")
    sync.cluster.logs[PRESYNC_NAME] = "connecting to db\nerror: connection refused"
    sync.step()
    result = sync.result(PRESYNC_NAME)
    assert result.message == "Job has reached the specified backoff limit\nconnecting to db\nerror: connection refused"
    assert result.logs == "connecting to db\nerror: connection refused"


def test_a_hook_created_by_this_operation_but_not_recorded_is_awaited_not_recreated():
    sync = Sync([presync(), obj("ConfigMap", "c")])
    sync.step()
    created = sync.cluster.get("Job", PRESYNC_NAME)
    forgetful = Sync([presync(), obj("ConfigMap", "c")], sync.cluster)  # the driver died before recording
    forgetful.cluster.calls.clear()
    forgetful.step()
    assert forgetful.message == f"waiting for completion of hook batch/Job/{PRESYNC_NAME}"
    assert forgetful.cluster.get("Job", PRESYNC_NAME) is created
    assert not [c for c in forgetful.cluster.calls if c.startswith(("apply", "delete"))]
