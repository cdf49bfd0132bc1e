"""Application deletion rules (spec §14): finalizer stages, deletion hooks, cascade order, cleanup."""

from __future__ import annotations

from typing import Any

import pytest

from tiphys.engine import HookType
from tiphys.engine import deletion as d

PRE, PRE_CLEAN = d.PRE_DELETE_FINALIZER, d.PRE_DELETE_CLEANUP_FINALIZER
POST, POST_CLEAN = d.POST_DELETE_FINALIZER, d.POST_DELETE_CLEANUP_FINALIZER


def obj(name: str, kind: str = "ConfigMap", api_version: str = "v1", namespace: str = "ns", **annotations: str):
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


def job(name: str, *, state: str | None = None, **annotations: str) -> dict[str, Any]:
    found = obj(name, "Job", "batch/v1", **annotations)
    found["spec"] = {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}
    if state == "done":
        found["status"] = {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}
    elif state == "failed":
        found["status"] = {"conditions": [{"type": "Failed", "status": "True", "message": "oops"}], "failed": 1}
    elif state == "running":
        found["status"] = {"active": 1}
    return found


@pytest.mark.parametrize(
    "finalizers, stage",
    [
        pytest.param([], d.Stage.DONE, id="none"),
        pytest.param([d.RESOURCES_FINALIZER], d.Stage.CASCADE, id="cascade"),
        pytest.param([d.BACKGROUND_FINALIZER], d.Stage.CASCADE, id="cascade-background"),
        pytest.param([POST, d.RESOURCES_FINALIZER, PRE, PRE_CLEAN], d.Stage.PRE_DELETE, id="pre-delete-first"),
        pytest.param([POST, POST_CLEAN, d.RESOURCES_FINALIZER], d.Stage.CASCADE, id="cascade-before-post"),
        pytest.param([POST_CLEAN, PRE_CLEAN, POST], d.Stage.POST_DELETE, id="post-before-cleanups"),
        pytest.param([POST_CLEAN, PRE_CLEAN], d.Stage.PRE_DELETE_CLEANUP, id="pre-cleanup-first"),
        pytest.param([POST_CLEAN, "other.example.com"], d.Stage.POST_DELETE_CLEANUP, id="post-cleanup"),
    ],
)
def test_next_stage_follows_argo_order(finalizers, stage):
    assert d.next_stage(finalizers) is stage


def test_propagation_and_cascade():
    assert d.propagation([d.RESOURCES_FINALIZER]) == "Foreground"
    assert d.propagation([d.BACKGROUND_FINALIZER]) == "Background"
    assert d.cascaded([d.FOREGROUND_FINALIZER]) and not d.cascaded([PRE, POST])


@pytest.mark.parametrize(
    "current, pre, post, expected",
    [
        pytest.param([], False, False, None, id="nothing-to-do"),
        pytest.param([d.RESOURCES_FINALIZER], True, False, [d.RESOURCES_FINALIZER, PRE, PRE_CLEAN], id="add-pre"),
        pytest.param([], True, True, [PRE, PRE_CLEAN, POST, POST_CLEAN], id="add-both"),
        pytest.param([PRE, PRE_CLEAN, "x"], False, False, ["x"], id="drop-pre"),
        pytest.param([POST, POST_CLEAN], False, True, None, id="already-there"),
    ],
)
def test_hook_finalizers(current, pre, post, expected):
    assert d.hook_finalizers(current, has_pre_delete=pre, has_post_delete=post) == expected


@pytest.mark.parametrize(
    "item, deleted",
    [
        pytest.param(obj("a"), True, id="plain"),
        pytest.param(obj("c", "CustomResourceDefinition", "apiextensions.k8s.io/v1", ""), False, id="crd-kept"),
        pytest.param(obj("a", **{"argocd.argoproj.io/sync-options": "Delete=false"}), False, id="delete-false"),
        pytest.param(obj("a", **{"helm.sh/resource-policy": "keep"}), False, id="helm-keep"),
    ],
)
def test_should_be_deleted(item, deleted):
    assert d.should_be_deleted(item) is deleted


def test_app_level_delete_false_and_annotation_wins():
    assert not d.should_be_deleted(obj("a"), app_sync_options=("Delete=false",))
    overridden = obj("a", **{"argocd.argoproj.io/sync-options": "Delete=true"})
    assert d.should_be_deleted(overridden, app_sync_options=("Delete=false",))


def test_deletion_batch_is_the_highest_wave():
    wave = "argocd.argoproj.io/sync-wave"
    items = [obj("a"), obj("b", **{wave: "5"}), obj("c", **{wave: "-1"}), obj("d", **{"helm.sh/hook-weight": "5"})]
    assert [o["metadata"]["name"] for o in d.deletion_batch(items)] == ["b", "d"]
    assert d.deletion_batch([]) == ()


def test_hooks_to_create_skips_live_and_places_namespace():
    pre = {"argocd.argoproj.io/hook": "PreDelete"}
    desired = [obj("cleanup", namespace="", **pre), obj("x", namespace="", **{"helm.sh/hook": "pre-delete"}), obj("y")]
    live = [obj("x", namespace="apps", **{"helm.sh/hook": "pre-delete"})]
    created = d.hooks_to_create(HookType.PRE_DELETE, desired, live, namespace="apps")
    assert [(o["metadata"]["name"], o["metadata"]["namespace"]) for o in created] == [("cleanup", "apps")]
    assert d.hooks_to_create(HookType.POST_DELETE, desired, live, namespace="apps") == ()


def test_judge_hooks():
    post = {"argocd.argoproj.io/hook": "PostDelete"}
    running = d.judge_hooks(HookType.POST_DELETE, [job("a", state="running", **post), job("b", state="done", **post)])
    assert running.progressing == 1 and not running.done
    failed = d.judge_hooks(HookType.POST_DELETE, [job("a", state="failed", **post), obj("cm", **post)])
    assert [o["metadata"]["name"] for o in failed.failed] == ["a"]
    assert d.hooks_failed(HookType.POST_DELETE, failed.failed) == "PostDelete hook(s) failed: ns/a"
    assert d.judge_hooks(HookType.POST_DELETE, [job("a", state="done", **post), obj("cm", **post)]).done
    # Hooks of the other type are not looked at.
    assert d.judge_hooks(HookType.PRE_DELETE, [job("a", state="running", **post)]).done


def test_cleanup_follows_policies_and_worst_health():
    hook = {"argocd.argoproj.io/hook": "PostDelete"}
    ok = job("ok", state="done", **hook, **{"argocd.argoproj.io/hook-delete-policy": "HookSucceeded"})
    kept = job("kept", state="done", **hook)  # the default policy, BeforeHookCreation: never cleaned up
    delete, pending = d.cleanup_targets(HookType.POST_DELETE, [ok, kept])
    assert [o["metadata"]["name"] for o in delete] == ["ok"] and pending == 1
    bad = job("bad", state="failed", **hook, **{"argocd.argoproj.io/hook-delete-policy": "HookFailed"})
    delete, pending = d.cleanup_targets(HookType.POST_DELETE, [ok, bad])
    assert [o["metadata"]["name"] for o in delete] == ["bad"] and pending == 1  # worst is Degraded
    # Already going away (held by a finalizer, so its health still counts): pending, not deleted again.
    meta = {
        **ok["metadata"],
        "deletionTimestamp": "2024-01-01T00:00:00Z",
        "finalizers": ["argocd.argoproj.io/hook-finalizer"],
    }
    delete, pending = d.cleanup_targets(HookType.POST_DELETE, [dict(ok, metadata=meta)])
    assert delete == () and pending == 1
    assert d.cleanup_targets(HookType.POST_DELETE, [kept]) == ((), 0)
