"""Hook classification, Helm mapping, phases, delete policies, splitting and naming (spec §2, §3.2, §8.1, §9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tiphys.engine import (
    HookDeletePolicy,
    HookType,
    SyncPhase,
    delete_policies,
    generated_hook_name,
    hook_manifest,
    hook_timeout,
    hook_types,
    is_hook,
    is_ignored,
    is_skip,
    split_desired,
    sync_phases,
)
from tiphys.engine.annotations import HELM_HOOK, HELM_HOOK_DELETE_POLICY, HOOK, HOOK_DELETE_POLICY, HOOK_FINALIZER
from tiphys.engine.hooks import HELM_HOOK_TYPES, deletion_hook_types, has_hook_finalizer, has_sync_phase_hook

from .builders import annotated, obj

PRE, SYNC, POST, FAIL, SKIP = (HookType.PRE_SYNC, HookType.SYNC, HookType.POST_SYNC, HookType.SYNC_FAIL, HookType.SKIP)


@pytest.mark.parametrize(
    "annotations, types, hook, skip, ignored",
    [
        pytest.param({}, [], False, False, False, id="plain-resource"),
        pytest.param({HOOK: "PreSync"}, [PRE], True, False, False, id="pre-sync"),
        pytest.param({HOOK: "Sync"}, [SYNC], True, False, False, id="sync"),
        pytest.param({HOOK: "PostSync"}, [POST], True, False, False, id="post-sync"),
        pytest.param({HOOK: "SyncFail"}, [FAIL], True, False, False, id="sync-fail"),
        pytest.param({HOOK: "Skip"}, [SKIP], False, True, False, id="skip-is-not-a-hook"),
        pytest.param({HOOK: "Skip,Skip"}, [SKIP], False, True, False, id="repeated-skip-still-skips"),
        pytest.param({HOOK: "Skip,PreSync"}, [SKIP, PRE], True, False, False, id="skip-with-another-is-a-hook"),
        pytest.param(
            {HOOK: "Skip,PreSync,PostSync"}, [SKIP, PRE, POST], True, False, False, id="skip-contributes-no-phase"
        ),
        pytest.param({HOOK: "PreSync,PostSync"}, [PRE, POST], True, False, False, id="two-types"),
        pytest.param({HOOK: "Sync,Sync"}, [SYNC], True, False, False, id="duplicates-collapse"),
        pytest.param({HOOK: "Sync,Garbage"}, [SYNC], True, False, False, id="invalid-item-dropped"),
        pytest.param({HOOK: "Garbage"}, [], True, False, True, id="garbage-is-ignored"),
        pytest.param({HOOK: "presync"}, [], True, False, True, id="wrong-case-is-ignored"),
        pytest.param({HOOK: ""}, [], True, False, True, id="empty-value-is-ignored"),
        pytest.param({HOOK: "PreDelete"}, [], True, False, True, id="pre-delete-unknown-to-engine"),
        pytest.param({HOOK: "PostDelete"}, [], True, False, True, id="post-delete-unknown-to-engine"),
        pytest.param({HOOK: " PreSync , Sync "}, [PRE, SYNC], True, False, False, id="items-trimmed"),
        pytest.param({HELM_HOOK: "pre-install"}, [PRE], True, False, False, id="helm-pre-install"),
        pytest.param({HELM_HOOK: "pre-upgrade"}, [PRE], True, False, False, id="helm-pre-upgrade"),
        pytest.param({HELM_HOOK: "post-install"}, [POST], True, False, False, id="helm-post-install"),
        pytest.param({HELM_HOOK: "post-upgrade"}, [POST], True, False, False, id="helm-post-upgrade"),
        pytest.param({HELM_HOOK: "pre-install,pre-upgrade"}, [PRE, PRE], True, False, False, id="helm-both-map-twice"),
        pytest.param({HELM_HOOK: "crd-install"}, [], False, False, False, id="helm-crd-install-is-not-a-hook"),
        pytest.param(
            {HELM_HOOK: "crd-install,pre-install"}, [PRE], True, False, False, id="helm-crd-install-only-as-whole-value"
        ),
        pytest.param({HELM_HOOK: "test"}, [], True, False, True, id="helm-test-ignored"),
        pytest.param({HELM_HOOK: "test-success"}, [], True, False, True, id="helm-test-success-ignored"),
        pytest.param({HELM_HOOK: "test-failure"}, [], True, False, True, id="helm-test-failure-ignored"),
        pytest.param({HELM_HOOK: "pre-rollback"}, [], True, False, True, id="helm-pre-rollback-ignored"),
        pytest.param({HELM_HOOK: "post-rollback"}, [], True, False, True, id="helm-post-rollback-ignored"),
        pytest.param({HELM_HOOK: "pre-delete"}, [], True, False, True, id="helm-pre-delete-unknown-to-engine"),
        pytest.param({HELM_HOOK: "post-delete"}, [], True, False, True, id="helm-post-delete-unknown-to-engine"),
        pytest.param({HELM_HOOK: "garbage"}, [], True, False, True, id="helm-garbage-ignored"),
        pytest.param({HELM_HOOK: "Pre-Install"}, [], True, False, True, id="helm-case-sensitive"),
        pytest.param(
            {HOOK: "Sync", HELM_HOOK: "pre-install"}, [SYNC], True, False, False, id="argo-type-disables-helm"
        ),
        pytest.param(
            {HOOK: "Garbage", HELM_HOOK: "post-install"},
            [POST],
            True,
            False,
            False,
            id="invalid-argo-falls-back-to-helm",
        ),
        pytest.param({HOOK: "Skip", HELM_HOOK: "pre-install"}, [SKIP], False, True, False, id="argo-skip-beats-helm"),
        pytest.param({HOOK: "Garbage", HELM_HOOK: "crd-install"}, [], True, False, True, id="argo-key-makes-hook"),
    ],
)
def test_classification(annotations, types, hook, skip, ignored):
    thing = annotated(annotations)
    assert hook_types(thing) == types
    assert is_hook(thing) is hook
    assert is_skip(thing) is skip
    assert is_ignored(thing) is ignored


def test_helm_mapping_table():
    assert dict(HELM_HOOK_TYPES) == {
        "pre-install": HookType.PRE_SYNC,
        "pre-upgrade": HookType.PRE_SYNC,
        "post-install": HookType.POST_SYNC,
        "post-upgrade": HookType.POST_SYNC,
    }


@pytest.mark.parametrize(
    "annotations, phases",
    [
        pytest.param({}, [SyncPhase.SYNC], id="resource-always-sync"),
        pytest.param({HOOK: "Skip"}, [], id="skip-no-task"),
        pytest.param({HOOK: "Garbage"}, [], id="garbage-no-task"),
        pytest.param({HOOK: "PostSync,PreSync"}, [SyncPhase.PRE_SYNC, SyncPhase.POST_SYNC], id="two-phases-in-order"),
        pytest.param({HOOK: "Skip,PostSync"}, [SyncPhase.POST_SYNC], id="skip-adds-nothing"),
        pytest.param({HOOK: "SyncFail,Sync"}, [SyncPhase.SYNC, SyncPhase.SYNC_FAIL], id="sync-and-sync-fail"),
        pytest.param({HELM_HOOK: "pre-install,pre-upgrade"}, [SyncPhase.PRE_SYNC], id="helm-deduplicated"),
        pytest.param({HELM_HOOK: "crd-install"}, [SyncPhase.SYNC], id="crd-install-is-a-resource"),
        pytest.param({HOOK: "Sync,PreDelete"}, [SyncPhase.SYNC], id="deletion-type-adds-nothing"),
    ],
)
def test_sync_phases(annotations, phases):
    assert sync_phases(annotated(annotations)) == phases


BHC, SUCCEEDED, FAILED = (
    HookDeletePolicy.BEFORE_HOOK_CREATION,
    HookDeletePolicy.HOOK_SUCCEEDED,
    HookDeletePolicy.HOOK_FAILED,
)


@pytest.mark.parametrize(
    "annotations, policies",
    [
        pytest.param({HOOK: "PreSync"}, [BHC], id="default-before-hook-creation"),
        pytest.param({HELM_HOOK: "pre-install"}, [BHC], id="helm-default-too"),
        pytest.param({HOOK_DELETE_POLICY: "HookSucceeded"}, [SUCCEEDED], id="argo-policy"),
        pytest.param({HOOK_DELETE_POLICY: "HookFailed,HookSucceeded"}, [FAILED, SUCCEEDED], id="combined"),
        pytest.param({HOOK_DELETE_POLICY: "Garbage"}, [BHC], id="only-invalid-gives-default"),
        pytest.param({HOOK_DELETE_POLICY: "hooksucceeded"}, [BHC], id="case-sensitive"),
        pytest.param({HELM_HOOK_DELETE_POLICY: "before-hook-creation"}, [BHC], id="helm-before-hook-creation"),
        pytest.param({HELM_HOOK_DELETE_POLICY: "hook-succeeded"}, [SUCCEEDED], id="helm-hook-succeeded"),
        pytest.param({HELM_HOOK_DELETE_POLICY: "hook-failed"}, [FAILED], id="helm-hook-failed"),
        pytest.param(
            {HOOK: "Sync", HOOK_DELETE_POLICY: "HookFailed", HELM_HOOK_DELETE_POLICY: "hook-succeeded"},
            [FAILED, SUCCEEDED],
            id="helm-merged-even-with-argo-hook-type",
        ),
        pytest.param({HELM_HOOK_DELETE_POLICY: "HookSucceeded"}, [BHC], id="argo-word-in-helm-key-invalid"),
    ],
)
def test_delete_policies(annotations, policies):
    assert delete_policies(annotated(annotations)) == policies


@pytest.mark.parametrize(
    "annotations, types, sync_phase_hook",
    [
        pytest.param({HOOK: "PreDelete"}, [HookType.PRE_DELETE], False, id="pre-delete"),
        pytest.param({HOOK: "PostDelete"}, [HookType.POST_DELETE], False, id="post-delete"),
        pytest.param({HELM_HOOK: "pre-delete"}, [HookType.PRE_DELETE], False, id="helm-pre-delete"),
        pytest.param({HELM_HOOK: " post-delete"}, [HookType.POST_DELETE], False, id="helm-post-delete-trimmed"),
        pytest.param({HOOK: "PreDelete,PostSync"}, [HookType.PRE_DELETE], True, id="also-sync-phase"),
        pytest.param({HOOK: "PreDelete,Skip"}, [HookType.PRE_DELETE], False, id="skip-is-no-sync-phase"),
        pytest.param(
            {HOOK: "PostDelete", HELM_HOOK: "pre-delete"},
            [HookType.PRE_DELETE, HookType.POST_DELETE],
            False,
            id="both-annotations-count",
        ),
        pytest.param({HOOK: "PreSync"}, [], True, id="not-a-deletion-hook"),
    ],
)
def test_deletion_hooks(annotations, types, sync_phase_hook):
    thing = annotated(annotations)
    assert deletion_hook_types(thing) == types
    assert has_sync_phase_hook(thing) is sync_phase_hook


def test_split_desired():
    resource = obj("ConfigMap", "config")
    skipped = annotated({HOOK: "Skip"}, name="skipped")
    hook = annotated({HOOK: "PreSync"}, name="hook")
    helm_hook = annotated({HELM_HOOK: "post-install"}, name="helm-hook")
    crd_install = annotated({HELM_HOOK: "crd-install"}, kind="CustomResourceDefinition", name="crd")
    garbage = annotated({HOOK: "presync"}, name="garbage")
    helm_test = annotated({HELM_HOOK: "test"}, name="helm-test")
    pre_delete = annotated({HOOK: "PreDelete"}, name="pre-delete")
    post_delete = annotated({HELM_HOOK: "post-delete"}, name="post-delete")
    both = annotated({HOOK: "PreDelete,PreSync"}, name="both")

    split = split_desired(
        [resource, None, skipped, hook, helm_hook, crd_install, garbage, helm_test, pre_delete, post_delete, both]
    )

    assert split.resources == (resource, skipped, crd_install)
    assert split.hooks == (hook, helm_hook, both)
    assert split.ignored == (garbage, helm_test)
    assert split.deletion_hooks == (pre_delete, post_delete)
    assert split.has_pre_delete_hooks
    assert split.has_post_delete_hooks


def test_split_desired_records_deletion_hooks_kept_for_sync():
    split = split_desired([annotated({HOOK: "PostDelete,Sync"})])
    assert len(split.hooks) == 1
    assert split.deletion_hooks == ()
    assert split.has_post_delete_hooks
    assert not split.has_pre_delete_hooks


STARTED = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # 1700000000


@pytest.mark.parametrize(
    "generate_name, revision, phase, started_at, expected",
    [
        pytest.param(
            "migrate-",
            "abcdef1234567890",
            SyncPhase.PRE_SYNC,
            STARTED,
            "migrate-abcdef1-presync-1700000000",
            id="spec-example",
        ),
        pytest.param("job-", "abcdefgh", SyncPhase.POST_SYNC, STARTED, "job-abcdefg-postsync-1700000000", id="eight"),
        pytest.param("job-", "abcdefg", SyncPhase.SYNC, STARTED, "job-abcdefg-sync-1700000000", id="seven-kept-whole"),
        pytest.param(
            "job-", "1.2.0", SyncPhase.SYNC_FAIL, STARTED, "job-1.2.0-syncfail-1700000000", id="chart-version"
        ),
        pytest.param("job-", "", SyncPhase.PRE_SYNC, STARTED, "job--presync-1700000000", id="empty-revision"),
        pytest.param("Job-", "ABCDEF12", SyncPhase.SYNC, STARTED, "Job-abcdef1-sync-1700000000", id="postfix-lowered"),
        pytest.param(
            "job-",
            "abc",
            SyncPhase.SYNC,
            datetime(2023, 11, 15, 0, 13, 20, 999999, tzinfo=timezone(timedelta(hours=2))),
            "job-abc-sync-1700000000",
            id="utc-seconds",
        ),
    ],
)
def test_generated_hook_name(generate_name, revision, phase, started_at, expected):
    assert generated_hook_name(generate_name, revision=revision, phase=phase, started_at=started_at) == expected


def test_generated_hook_name_needs_an_aware_time():
    with pytest.raises(ValueError, match="timezone"):
        generated_hook_name("x-", revision="r", phase=SyncPhase.SYNC, started_at=datetime(2024, 1, 1))


def test_hook_manifest_names_generate_name_hooks_and_adds_the_finalizer():
    hook: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": "migrate-", "annotations": {HOOK: "PreSync"}, "finalizers": ["other"]},
    }
    target = hook_manifest(hook, phase=SyncPhase.PRE_SYNC, revision="abcdef1234", started_at=STARTED)
    assert target["metadata"]["name"] == "migrate-abcdef1-presync-1700000000"
    assert target["metadata"]["finalizers"] == ["other", HOOK_FINALIZER]
    assert has_hook_finalizer(target)
    assert "name" not in hook["metadata"]  # the desired manifest is untouched
    assert hook["metadata"]["finalizers"] == ["other"]


def test_hook_manifest_is_stable_across_steps_and_retries():
    hook = {"kind": "Job", "metadata": {"generateName": "migrate-"}}
    first = hook_manifest(hook, phase=SyncPhase.PRE_SYNC, revision="abcdef1234", started_at=STARTED)
    again = hook_manifest(hook, phase=SyncPhase.PRE_SYNC, revision="abcdef1234", started_at=STARTED)
    later = hook_manifest(hook, phase=SyncPhase.PRE_SYNC, revision="abcdef1234", started_at=STARTED + timedelta(1))
    assert first == again
    assert first["metadata"]["name"] != later["metadata"]["name"]


def test_named_multi_phase_hook_is_one_object():
    hook = obj("Job", "smoke", api_version="batch/v1", annotations={HOOK: "PreSync,PostSync"})
    names = {
        hook_manifest(hook, phase=phase, revision="r", started_at=STARTED)["metadata"]["name"]
        for phase in sync_phases(hook)
    }
    assert names == {"smoke"}


def test_hook_manifest_keeps_an_existing_finalizer_once():
    hook = {"kind": "Pod", "metadata": {"name": "p", "finalizers": [HOOK_FINALIZER]}}
    target = hook_manifest(hook, phase=SyncPhase.SYNC, revision="r", started_at=STARTED)
    assert target["metadata"]["finalizers"] == [HOOK_FINALIZER]


@pytest.mark.parametrize(
    "value, expected",
    [
        pytest.param(None, None, id="absent"),
        pytest.param("90s", timedelta(seconds=90), id="seconds"),
        pytest.param("5m", timedelta(minutes=5), id="minutes"),
        pytest.param("1h30m", timedelta(hours=1, minutes=30), id="compound"),
        pytest.param("120", timedelta(minutes=2), id="bare-seconds"),
        pytest.param("0s", None, id="zero-means-none"),
        pytest.param("-5m", None, id="negative-means-none"),
        pytest.param("five minutes", None, id="invalid"),
    ],
)
def test_hook_timeout(value, expected):
    thing = annotated({"tiphys.io/hook-timeout": value} if value is not None else {HOOK: "PreSync"})
    assert hook_timeout(thing) == expected
