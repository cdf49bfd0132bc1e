"""The rules composed the way gitops-engine's ``getSyncTasks`` composes them (spec §3, gotchas 7-10, 22, 24, 27).

desired → split → reconcile → resource and hook tasks → namespace defaulting → live lookup →
prune waves → sort, then results re-attached by key. The step function builds on exactly this.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from tiphys.engine import (
    OperationPhase,
    ResultCode,
    SyncPhase,
    SyncResult,
    attach_results,
    default_namespace,
    find_live,
    first_step,
    hook_tasks,
    order_prunes,
    reconcile,
    resource_tasks,
    sort_tasks,
    split_desired,
)
from tiphys.engine.annotations import HELM_HOOK, HELM_HOOK_WEIGHT, HOOK, SYNC_WAVE

from .builders import annotated, crd, obj

STARTED = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
REVISION = "0123456789abcdef"


def is_namespaced(group, kind):
    return kind not in {"Namespace", "CustomResourceDefinition", "ClusterRole"}


def plan(desired, live, *, namespace="apps", prune_last=False, results=None):
    split = split_desired(desired)
    pairs = reconcile(split.resources, live, namespace=namespace, is_namespaced=is_namespaced)
    tasks = resource_tasks(pairs) + hook_tasks(split.hooks, revision=REVISION, started_at=STARTED)
    tasks = [replace(t, target=default_namespace(t.target, namespace)) if t.target is not None else t for t in tasks]
    tasks = [
        replace(t, live=find_live(t.target, pairs)) if t.target is not None and t.live is None else t for t in tasks
    ]
    return attach_results(sort_tasks(order_prunes(tasks, prune_last=prune_last)), results)


DESIRED = [
    obj("Namespace", "apps", annotations={SYNC_WAVE: "5"}),
    obj("ConfigMap", "settings", annotations={SYNC_WAVE: "-1"}),
    obj("Deployment", "web", api_version="apps/v1"),
    obj("Service", "web"),
    crd("example.io", "Widget"),
    obj("Widget", "gadget", api_version="example.io/v1", annotations={SYNC_WAVE: "-3"}),
    obj("ClusterRole", "reader", api_version="rbac.authorization.k8s.io/v1"),
    {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": "migrate-", "annotations": {HOOK: "PreSync"}},
    },
    obj("Job", "smoke", api_version="batch/v1", annotations={HELM_HOOK: "post-install", HELM_HOOK_WEIGHT: "2"}),
    annotated({HOOK: "Skip"}, kind="ConfigMap", name="hand-managed"),
    annotated({HOOK: "presync"}, kind="Job", name="typo"),
]
LIVE = [
    obj("ConfigMap", "legacy", namespace="apps", annotations={SYNC_WAVE: "1"}),
    obj("ConfigMap", "older", namespace="apps", annotations={SYNC_WAVE: "3"}),
    obj("Job", "smoke", api_version="batch/v1", namespace="apps", annotations={HELM_HOOK: "post-install"}),
    obj("ConfigMap", "hand-managed", namespace="apps"),
]


def test_the_plan_of_a_typical_app():
    tasks = plan(DESIRED, LIVE)
    rows = [(t.phase.value, t.wave, t.kind, t.name, "prune" if t.is_prune else "apply") for t in tasks]
    assert rows == [
        ("PreSync", 0, "Namespace", "apps", "apply"),  # hoisted before the first object in it
        ("PreSync", 0, "Job", "migrate-0123456-presync-1700000000", "apply"),
        ("Sync", -3, "CustomResourceDefinition", "widgets.example.io", "apply"),  # hoisted before its resource
        ("Sync", -3, "Widget", "gadget", "apply"),
        ("Sync", -1, "ConfigMap", "settings", "apply"),
        ("Sync", 0, "ClusterRole", "reader", "apply"),
        ("Sync", 0, "Service", "web", "apply"),
        ("Sync", 0, "Deployment", "web", "apply"),
        ("Sync", 1, "ConfigMap", "older", "prune"),  # prune waves 1 and 3 swapped
        ("Sync", 3, "ConfigMap", "legacy", "prune"),
        ("PostSync", 2, "Job", "smoke", "apply"),  # helm weight is the wave
    ]


def test_what_the_plan_leaves_out():
    names = {t.name for t in plan(DESIRED, LIVE)}
    assert "typo" not in names  # a garbage hook is dropped (gotcha 8)
    assert "hand-managed" not in names  # Skip: neither applied nor pruned (gotcha 9)


def test_hooks_find_their_live_objects_and_cluster_scoped_targets_get_the_namespace():
    tasks = {t.name: t for t in plan(DESIRED, LIVE)}
    assert tasks["smoke"].live is not None  # an existing named hook: BeforeHookCreation will delete it first
    assert tasks["smoke"].delete_before_creation
    assert tasks["reader"].result_key == "rbac.authorization.k8s.io/ClusterRole/apps/reader:Sync"
    assert tasks["reader"].namespace == "apps"  # gotcha 27


def test_a_removed_hook_is_never_pruned():
    live_hook = obj("Job", "old-check", api_version="batch/v1", namespace="apps", annotations={HOOK: "PreSync"})
    tasks = plan([obj("ConfigMap", "c")], [live_hook])
    assert [t.name for t in tasks] == ["c"]  # gotcha 7


def test_prune_last_goes_after_the_last_sync_wave_counted_before_hoisting():
    # The Namespace still has its own wave 5 when PruneLast is computed (Argo CD sorts afterwards).
    tasks = plan(DESIRED, LIVE, prune_last=True)
    prunes = [(t.name, t.wave) for t in tasks if t.is_prune]
    assert prunes == [("legacy", 6), ("older", 6)]
    assert tasks[-2].is_prune and tasks[-1].phase is SyncPhase.POST_SYNC


def test_results_re_attach_and_the_next_step_is_what_is_pending():
    first = plan(DESIRED, LIVE)
    done = SyncResult()
    for task in first[:2]:
        done = done.record(task.with_result(ResultCode.SYNCED, OperationPhase.SUCCEEDED, "ok").to_result())
    tasks = plan(DESIRED, LIVE, results=done)
    assert [t.successful for t in tasks[:3]] == [True, True, False]
    pending = [t for t in tasks if t.pending and t.phase is not SyncPhase.SYNC_FAIL]
    step, rest = first_step(pending)
    assert [t.name for t in step] == ["widgets.example.io", "gadget"]
    assert rest
