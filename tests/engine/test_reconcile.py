"""From desired and live objects to tasks (spec §2.3, §3.1, §3.2, §3.5)."""

from __future__ import annotations

from datetime import UTC, datetime

from tiphys.engine import SyncPhase, find_live, hook_tasks, reconcile, resource_tasks, split_desired
from tiphys.engine.annotations import HOOK, HOOK_FINALIZER

from .builders import annotated, obj

CLUSTER_SCOPED = {"Namespace", "ClusterRole"}


def is_namespaced(group, kind):
    return None if kind == "Mystery" else kind not in CLUSTER_SCOPED


def names(pairs):
    return [(t["metadata"]["name"] if t else None, lv["metadata"]["name"] if lv else None) for t, lv in pairs]


def test_targets_pair_with_live_objects_and_the_rest_are_prune_candidates():
    targets = [obj("ConfigMap", "kept"), obj("ConfigMap", "new", namespace="other"), obj("ClusterRole", "reader")]
    live = [
        obj("ConfigMap", "kept", namespace="apps"),
        obj("ConfigMap", "gone", namespace="apps"),
        obj("ClusterRole", "reader"),
        obj("ConfigMap", "new", namespace="apps"),  # same name, other namespace: not the target
    ]
    pairs = reconcile(targets, live, namespace="apps", is_namespaced=is_namespaced)
    assert names(pairs) == [("kept", "kept"), ("new", None), ("reader", "reader"), (None, "gone"), (None, "new")]


def test_unknown_scope_checks_both_keys():
    pairs = reconcile(
        [obj("Mystery", "m", api_version="x.io/v1")],
        [obj("Mystery", "m", api_version="x.io/v1")],
        namespace="apps",
        is_namespaced=is_namespaced,
    )
    assert names(pairs) == [("m", "m")]


def test_live_duplicates_by_uid_keep_the_one_in_git():
    apps = obj("Deployment", "web", api_version="apps/v1", namespace="ns")
    extensions = obj("Deployment", "web", api_version="extensions/v1beta1", namespace="ns")
    for thing in (apps, extensions):
        thing["metadata"]["uid"] = "same"
    pairs = reconcile([apps], [extensions, apps], namespace="ns", is_namespaced=is_namespaced)
    assert pairs == [(apps, apps)]


def test_resource_tasks_skip_hooks_and_skip_objects():
    desired = split_desired(
        [obj("ConfigMap", "c"), annotated({HOOK: "Skip"}, name="skipped"), annotated({HOOK: "PreSync"}, name="hook")]
    )
    old_hook = annotated({HOOK: "PreSync"}, name="old-hook", namespace="apps")
    pairs = reconcile(desired.resources, [old_hook], namespace="apps", is_namespaced=is_namespaced)
    tasks = resource_tasks(pairs)
    assert [(t.phase, t.name, t.is_prune) for t in tasks] == [(SyncPhase.SYNC, "c", False)]


def test_resource_tasks_filter_for_selective_sync():
    pairs = [(obj("ConfigMap", "a"), None), (obj("ConfigMap", "b"), None)]
    tasks = resource_tasks(pairs, include=lambda pair: pair[0] is not None and pair[0]["metadata"]["name"] == "b")
    assert [t.name for t in tasks] == ["b"]


def test_hook_tasks_one_per_phase_named_for_the_operation():
    hook = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": "smoke-", "annotations": {HOOK: "PostSync,PreSync"}},
    }
    started = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    tasks = hook_tasks([hook], revision="0123456789", started_at=started)
    assert [(t.phase, t.name) for t in tasks] == [
        (SyncPhase.PRE_SYNC, "smoke-0123456-presync-1700000000"),
        (SyncPhase.POST_SYNC, "smoke-0123456-postsync-1700000000"),
    ]
    assert all(HOOK_FINALIZER in t.obj["metadata"]["finalizers"] for t in tasks)
    assert all(t.live is None and t.is_hook for t in tasks)


def test_find_live():
    existing_hook = annotated({HOOK: "PreSync"}, name="migrate", namespace="apps")
    role = obj("ClusterRole", "reader")
    pairs = [(None, existing_hook), (role, role), (obj("ConfigMap", "c", namespace="apps"), None)]
    assert find_live(annotated({HOOK: "PreSync"}, name="migrate", namespace="apps"), pairs) is existing_hook
    assert find_live(annotated({HOOK: "PreSync"}, name="migrate", namespace="other"), pairs) is None
    assert find_live(obj("ClusterRole", "reader", namespace="apps"), pairs) is role  # cluster-scoped key
    assert find_live(obj("ConfigMap", "c", namespace="apps"), pairs) is None  # a pair without live object
