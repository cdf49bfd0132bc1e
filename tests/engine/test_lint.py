"""What Argo CD tolerates silently, Tiphys tolerates the same way and reports (issue 4; gotchas 8-10)."""

from __future__ import annotations

import pytest

from tiphys.engine import AnnotationWarning, ResourceKey, annotation_warnings
from tiphys.engine.annotations import HELM_HOOK, HELM_HOOK_DELETE_POLICY, HOOK, HOOK_DELETE_POLICY, SYNC_WAVE

from .builders import annotated, obj

DROPPED = "the object is not synced at all, as Argo CD ignores it"


@pytest.mark.parametrize(
    "annotations, messages",
    [
        pytest.param({}, [], id="plain"),
        pytest.param({HOOK: "PreSync", HOOK_DELETE_POLICY: "HookSucceeded"}, [], id="valid-hook"),
        pytest.param({HELM_HOOK: "crd-install"}, [], id="crd-install"),
        pytest.param({HOOK: "PreDelete"}, [], id="deletion-hook-is-valid"),
        pytest.param({HOOK: "Sync", HELM_HOOK: "test"}, [], id="helm-ignored-by-design"),
        pytest.param(
            {HOOK: "presync"},
            [
                'annotation argocd.argoproj.io/hook: "presync" names no hook type '
                "(PreSync, Sync, PostSync, SyncFail or Skip) (did you mean PreSync?): " + DROPPED
            ],
            id="wrong-case-dropped",
        ),
        pytest.param(
            {HOOK: "Garbage"},
            [
                'annotation argocd.argoproj.io/hook: "Garbage" names no hook type '
                "(PreSync, Sync, PostSync, SyncFail or Skip): " + DROPPED
            ],
            id="garbage-dropped",
        ),
        pytest.param({HOOK: ""}, ["annotation argocd.argoproj.io/hook is empty: " + DROPPED], id="empty-dropped"),
        pytest.param(
            {HELM_HOOK: "test"},
            [
                'annotation helm.sh/hook: "test" is not a hook Argo CD runs (pre-install, pre-upgrade, post-install, '
                "post-upgrade, pre-delete or post-delete): " + DROPPED
            ],
            id="helm-test-dropped",
        ),
        pytest.param(
            {HOOK: "Sync,Garbage"},
            ['annotation argocd.argoproj.io/hook: unknown hook type "Garbage" is ignored'],
            id="unknown-item-ignored",
        ),
        pytest.param(
            {HOOK: "PostSync,sync"},
            ['annotation argocd.argoproj.io/hook: unknown hook type "sync" is ignored (did you mean Sync?)'],
            id="unknown-item-hint",
        ),
        pytest.param(
            {HOOK: "Skip,PreSync"},
            ["annotation argocd.argoproj.io/hook: Skip only skips on its own; this object is a PreSync hook"],
            id="skip-with-another",
        ),
        pytest.param(
            {HELM_HOOK: "pre-install,test"},
            ['annotation helm.sh/hook: "test" is not supported and is ignored'],
            id="helm-item-ignored",
        ),
        pytest.param(
            {HOOK: "PreSync", HOOK_DELETE_POLICY: "HookSucceeded,OnSuccess"},
            ['annotation argocd.argoproj.io/hook-delete-policy: unknown delete policy "OnSuccess" is ignored'],
            id="unknown-policy",
        ),
        pytest.param(
            {HOOK: "PreSync", HOOK_DELETE_POLICY: "hookSucceeded"},
            [
                'annotation argocd.argoproj.io/hook-delete-policy: unknown delete policy "hookSucceeded" is ignored '
                "(did you mean HookSucceeded?); the default BeforeHookCreation applies"
            ],
            id="only-unknown-policy-gives-default",
        ),
        pytest.param(
            {HELM_HOOK: "post-install", HELM_HOOK_DELETE_POLICY: "hook-succeded"},
            [
                'annotation helm.sh/hook-delete-policy: unknown delete policy "hook-succeded" is ignored; '
                "the default BeforeHookCreation applies"
            ],
            id="helm-policy-typo",
        ),
        pytest.param({HOOK_DELETE_POLICY: "Whatever"}, [], id="policy-on-resource-means-nothing"),
        pytest.param(
            {HOOK: "PreSync", "tiphys.io/hook-timeout": "5 minutes"},
            [
                'annotation tiphys.io/hook-timeout: "5 minutes" is not a duration (like "90s" or "5m"); '
                "the hook has no timeout"
            ],
            id="bad-timeout",
        ),
        pytest.param(
            {HOOK: "PreSync", "tiphys.io/hook-timeout": "0s"},
            ['annotation tiphys.io/hook-timeout: "0s" is not positive; the hook has no timeout'],
            id="zero-timeout",
        ),
    ],
)
def test_annotation_warnings(annotations, messages):
    assert [w.message for w in annotation_warnings(annotated(annotations))] == messages


def test_a_warning_names_the_object_and_annotation():
    thing = obj("Job", "migrate", api_version="batch/v1", namespace="db", annotations={SYNC_WAVE: "first"})
    [warning] = annotation_warnings(thing)
    assert warning == AnnotationWarning(
        resource=ResourceKey("batch", "Job", "db", "migrate"),
        annotation=SYNC_WAVE,
        value="first",
        message=warning.message,
    )
    assert str(warning).startswith("batch/Job/db/migrate: annotation argocd.argoproj.io/sync-wave")
