"""Edge cases of the step function: SyncFail apply errors, multi-phase hooks, preflight, tracking (spec §4.8, §15)."""

from __future__ import annotations

from tiphys.engine import OperationPhase, Purpose, build_plan, preflight
from tiphys.engine.annotations import HOOK, HOOK_DELETE_POLICY
from tiphys.engine.tracking import TRACKING_ID, is_tracked_by

from .builders import crd, job, obj
from .stepping import Cluster, Sync, start


def test_a_sync_fail_hook_that_cannot_be_applied_adds_a_second_line():
    cluster = Cluster(failing={"notify": 'Job.batch "notify" is invalid: spec.template: Required value'})
    sync = Sync([job("pre", annotations={HOOK: "PreSync"}), job("notify", annotations={HOOK: "SyncFail"})], cluster)
    sync.step()
    sync.cluster.complete("Job", "pre", failed=True)
    sync.step()
    step = sync.step()
    assert (step.state.phase, step.state.message) == (
        OperationPhase.FAILED,
        "one or more synchronization tasks completed unsuccessfully\n"
        'one or more SyncFail hooks failed, reason: Job.batch "notify" is invalid: spec.template: Required value',
    )


def test_a_named_hook_in_two_phases_is_recreated_for_the_second():
    sync = Sync([job("twice", annotations={HOOK: "PreSync,PostSync"}), obj("ConfigMap", "c")])
    sync.step()
    sync.cluster.complete("Job", "twice")
    sync.step()
    assert sync.message == "waiting for healthy state of /ConfigMap/c"
    sync.step()
    assert sync.message == "waiting for deletion of hook batch/Job/twice"
    sync.step()
    assert sync.message == "waiting for completion of hook batch/Job/twice"
    assert sync.cluster.get("Job", "twice").get("status") is None  # a fresh object
    sync.cluster.complete("Job", "twice")
    assert sync.finish().state.message == "successfully synced (no more tasks)"
    assert [(r.sync_phase.value, r.hook_phase.value) for r in sync.state.results if r.name == "twice"] == [
        ("PreSync", "Succeeded"),
        ("PostSync", "Succeeded"),
    ]


def test_termination_keeps_a_hook_that_just_finished_unless_hook_failed():
    sync = Sync(
        [
            job("done", annotations={HOOK: "PreSync"}),
            job("failed-policy", annotations={HOOK: "PreSync", HOOK_DELETE_POLICY: "HookFailed"}),
            obj("ConfigMap", "c"),
        ]
    )
    sync.step()
    sync.cluster.complete("Job", "done")
    sync.cluster.complete("Job", "failed-policy")
    sync.state = sync.state.__class__(**{**sync.state.__dict__, "phase": OperationPhase.TERMINATING})
    step = sync.step()
    assert step.state.message == "Operation terminated"
    assert sync.result("done").hook_phase is OperationPhase.SUCCEEDED
    assert sync.cluster.names("Job") == ["done"]


def test_preflight_lists_the_first_steps_dry_run_without_recording_anything():
    desired = [
        crd("example.io", "Widget"),
        obj("Widget", "w", api_version="example.io/v1"),
        job("pre", annotations={HOOK: "PreSync"}),
        obj("Namespace", "apps"),
    ]
    world = Cluster().world(desired)
    checked = preflight(start(), world)
    assert checked.invalid == ()
    assert [(a.purpose, a.ref.kind, a.ref.name) for a in checked.dry_runs] == [
        (Purpose.DRY_RUN, "Job", "pre"),
        (Purpose.DRY_RUN, "CustomResourceDefinition", "widgets.example.io"),
    ]  # the Namespace is created for real first; the Widget's kind is not served yet
    assert all(a.options.dry_run for a in checked.dry_runs)


def test_only_objects_whose_tracking_id_names_them_belong_to_the_app():
    own = obj("ConfigMap", "a", namespace="apps", annotations={TRACKING_ID: "app:/ConfigMap:apps/a"})
    copied = obj("ConfigMap", "b", namespace="apps", annotations={TRACKING_ID: "app:/ConfigMap:apps/a"})
    other = obj("ConfigMap", "c", namespace="apps", annotations={TRACKING_ID: "other:/ConfigMap:apps/c"})
    assert [is_tracked_by(o, "app") for o in (own, copied, other)] == [True, False, False]
    cluster = Cluster()
    cluster.add(own, copied, other)
    plan = build_plan(start(prune=True), cluster.world([]))
    assert [t.name for t in plan.tasks] == ["a"]  # only its own object is a prune candidate


def test_an_app_default_of_prune_false_skips_prunes():
    cluster = Cluster()
    cluster.add(obj("ConfigMap", "old", namespace="apps", annotations={TRACKING_ID: "app:/ConfigMap:apps/old"}))
    sync = Sync([obj("ConfigMap", "new")], cluster, state=start(prune=True, sync_options=("Prune=false",)))
    sync.finish()
    assert sync.result("old").message == "ignored (no prune)"
