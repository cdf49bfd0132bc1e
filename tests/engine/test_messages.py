"""Argo CD's messages, compared word for word (spec §4.12, §6, §7, §13)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tiphys.engine import messages


@dataclass
class T:
    name: str
    is_hook: bool = False
    group: str = ""
    kind: str = "Pod"


def pods(*names):
    return [T(n) for n in names]


def hooks(*names):
    return [T(n, is_hook=True) for n in names]


@pytest.mark.parametrize(
    "tasks, pending_deletion, expected",
    [
        pytest.param([], False, "", id="empty"),
        pytest.param(pods("my-pod"), False, "waiting for healthy state of /Pod/my-pod", id="one-resource"),
        pytest.param(
            pods("pod-1", "pod-2", "pod-3"),
            False,
            "waiting for healthy state of /Pod/pod-1 and 2 more resources",
            id="resources",
        ),
        pytest.param(hooks("hook-1"), False, "waiting for completion of hook /Pod/hook-1", id="one-hook"),
        pytest.param(
            hooks("hook-1", "hook-2"), False, "waiting for completion of hook /Pod/hook-1 and 1 more hooks", id="hooks"
        ),
        pytest.param(
            [T("pod-1"), T("hook-1", True), T("pod-2")],
            False,
            "waiting for completion of hook /Pod/hook-1 and 2 more resources",
            id="hooks-first",
        ),
        pytest.param(pods("my-pod"), True, "waiting for deletion of /Pod/my-pod", id="deletion"),
        pytest.param(pods("a", "b", "c"), True, "waiting for deletion of /Pod/a and 2 more resources", id="deletions"),
        pytest.param(hooks("hook-1"), True, "waiting for deletion of hook /Pod/hook-1", id="hook-deletion"),
        pytest.param(
            hooks("hook-1", "hook-2"),
            True,
            "waiting for deletion of hook /Pod/hook-1 and 1 more hooks",
            id="hook-deletions",
        ),
        pytest.param(
            [T("pod-1"), T("hook-1", True), T("pod-2")],
            True,
            "waiting for deletion of hook /Pod/hook-1 and 2 more resources",
            id="hook-deletion-first",
        ),
        pytest.param(
            [T("web", group="apps", kind="Deployment"), *pods("a", "b")],
            False,
            "waiting for healthy state of apps/Deployment/web and 2 more resources",
            id="group-shown",
        ),
        pytest.param(
            [T("migrate", True, "batch", "Job")],
            False,
            "waiting for completion of hook batch/Job/migrate",
            id="job-hook",
        ),
    ],
)
def test_waiting_for(tasks, pending_deletion, expected):
    assert messages.waiting_for(tasks, pending_deletion=pending_deletion) == expected


def test_waiting_for_pruning_confirmation():
    tasks = [T("new"), T("old-1"), T("old-2"), T("old-3")]
    message = messages.waiting_for(tasks, awaiting_prune_confirmation=tasks[1:])
    assert message == "waiting for pruning confirmation of /Pod/old-1 and 2 more resources"
    assert messages.waiting_for(tasks[1:2], awaiting_prune_confirmation=tasks[1:2]) == (
        "waiting for pruning confirmation of /Pod/old-1"
    )


@pytest.mark.parametrize(
    "message, expected",
    [
        pytest.param(messages.tasks_not_valid(), "one or more synchronization tasks are not valid", id="not-valid"),
        pytest.param(
            messages.tasks_not_valid(["b: denied", "", "a: missing", "b: denied"]),
            "one or more synchronization tasks are not valid: a: missing; b: denied",
            id="not-valid-reasons-sorted",
        ),
        pytest.param(messages.dry_run_failed(), "one or more objects failed to apply (dry run)", id="dry-run"),
        pytest.param(messages.tasks_running(), "one or more tasks are running", id="running"),
        pytest.param(messages.synced_no_more_tasks(), "successfully synced (no more tasks)", id="no-more-tasks"),
        pytest.param(messages.synced_all_tasks_run(), "successfully synced (all tasks run)", id="all-tasks-run"),
        pytest.param(
            messages.operation_failed(messages.completed_unsuccessfully()),
            "one or more synchronization tasks completed unsuccessfully",
            id="completed-unsuccessfully",
        ),
        pytest.param(
            messages.operation_failed(
                messages.failed_to_apply(), reasons=["x is invalid", "y is invalid", "x is invalid"]
            ),
            "one or more objects failed to apply, reason: x is invalid,y is invalid",
            id="failed-to-apply-reasons",
        ),
        pytest.param(
            messages.operation_failed(messages.namespace_failed_to_apply(), reasons=["forbidden"]),
            "the namespace failed to apply, reason: forbidden",
            id="namespace",
        ),
        pytest.param(
            messages.operation_failed(
                messages.completed_unsuccessfully(), sync_fail_reasons=['job.batch "notify" is invalid']
            ),
            "one or more synchronization tasks completed unsuccessfully\n"
            'one or more SyncFail hooks failed, reason: job.batch "notify" is invalid',
            id="sync-fail-hooks-failed",
        ),
        pytest.param(messages.with_reasons("m", [""]), "m, reason: ", id="empty-reason-kept-as-go-does"),
        pytest.param(messages.sync_wave_hook_failed("boom"), "SyncWaveHook failed: boom", id="wave-hook"),
        pytest.param(messages.operation_terminated(), "Operation terminated", id="terminated"),
        pytest.param(messages.termination_had_errors(), "Operation termination had errors", id="termination-errors"),
        pytest.param(messages.operation_terminating(), "operation is terminating", id="terminating"),
        pytest.param(
            messages.terminating_due_to_timeout(), "operation is terminating due to timeout", id="terminating-timeout"
        ),
        pytest.param(
            messages.triggered_by("Operation terminated", "controller sync timeout"),
            "Operation terminated, triggered by controller sync timeout",
            id="triggered-by",
        ),
        pytest.param(
            messages.triggered_by("Operation terminated", messages.sync_timeout_cause(timedelta(minutes=5))),
            "Operation terminated, triggered by sync timeout of 5m expired",
            id="tiphys-timeout",
        ),
        pytest.param(
            messages.retrying_at("failed", 1, datetime(2024, 1, 1, 15, 4, tzinfo=UTC)),
            "failed. Retrying attempt #1 at 3:04PM.",
            id="retrying-pm",
        ),
        pytest.param(
            messages.retrying_at("failed", 2, datetime(2024, 1, 1, 0, 7, tzinfo=UTC)),
            "failed. Retrying attempt #2 at 12:07AM.",
            id="retrying-midnight",
        ),
        pytest.param(
            messages.retry_failed("failed", "unable to parse x as a duration"),
            "failed (failed to retry: unable to parse x as a duration)",
            id="retry-failed",
        ),
        pytest.param(messages.retried_times("failed", 5), "failed (retried 5 times).", id="retried"),
        pytest.param(messages.retrying_operation(2), "Retrying operation. Attempt #2", id="retrying-operation"),
        pytest.param(
            messages.retrying_operation(1, latest_revisions=True),
            "Retrying operation with latest revisions. Attempt #1",
            id="retrying-latest",
        ),
        pytest.param(messages.hook_created("migrate"), "migrate created", id="hook-created"),
        pytest.param(
            messages.applied(group="batch", kind="Job", name="migrate", verb="created"),
            "job.batch/migrate created",
            id="applied",
        ),
        pytest.param(
            messages.applied(group="", kind="ConfigMap", name="c", verb="configured", dry_run=True),
            "configmap/c configured (dry run)",
            id="applied-dry-run",
        ),
        pytest.param(messages.updated("Namespace", "apps"), "Namespace/apps updated", id="updated"),
        pytest.param(messages.failed_to_get_health("x"), "failed to get resource health: x", id="health"),
        pytest.param(
            messages.resource_missing("batch", "Job", "m"),
            "Resource batch/Job/m is missing, it might have been deleted",
            id="missing",
        ),
        pytest.param(messages.failed_to_get_live_resource("x"), "Failed to get live resource x", id="live-no-colon"),
        pytest.param(
            messages.failed_to_get_live_resource("x", terminating=True),
            "Failed to get live resource: x",
            id="live-colon",
        ),
        pytest.param(
            messages.failed_to_remove_hook_finalizer("x"), "Failed to remove hook finalizer: x", id="finalizer"
        ),
        pytest.param(
            messages.failed_to_remove_hook_finalizer("x", before_run=True),
            "failed to remove hook finalizer: x",
            id="finalizer-before-run",
        ),
        pytest.param(messages.failed_to_delete_resource("x"), "failed to delete resource: x", id="delete"),
        pytest.param(
            messages.failed_to_delete_resource("x", terminating=True), "Failed to delete: x", id="delete-term"
        ),
        pytest.param(messages.failed_to_get_hook_health("x"), "Failed to get hook health: x", id="hook-health"),
        pytest.param(messages.terminated(), "Terminated", id="task-terminated"),
        pytest.param(messages.hook_timed_out(timedelta(minutes=5)), "hook timed out after 5m", id="hook-timeout"),
        pytest.param(
            messages.hook_timed_out(timedelta(seconds=90)), "hook timed out after 1m30s", id="hook-timeout-90s"
        ),
        pytest.param(messages.pruned(), "pruned", id="pruned"),
        pytest.param(messages.pruned(dry_run=True), "pruned (dry run)", id="pruned-dry-run"),
        pytest.param(messages.prune_skipped_requires_pruning(), "ignored (requires pruning)", id="requires-pruning"),
        pytest.param(messages.prune_skipped_no_prune(), "ignored (no prune)", id="no-prune"),
        pytest.param(
            messages.namespace_auto_creation_failed("x"), "namespace auto creation failed: x", id="namespace-auto"
        ),
        pytest.param(
            messages.resource_not_permitted("apps", "Deployment", "default"),
            "resource apps:Deployment is not permitted in project default",
            id="resource-not-permitted",
        ),
        pytest.param(
            messages.namespace_not_permitted("kube-system", "default"),
            "namespace kube-system is not permitted in project 'default'",
            id="namespace-not-permitted",
        ),
        pytest.param(
            messages.no_operation_specified(), "Invalid operation request: no operation specified", id="no-operation"
        ),
        pytest.param(messages.blocked_by_sync_window(), "Sync operation blocked by sync window", id="sync-window"),
        pytest.param(messages.shared_resource_found("x"), "Shared resource found: x", id="shared"),
        pytest.param(messages.failed_to_load_project("x"), "Failed to load application project: x", id="project"),
        pytest.param(messages.failed_to_record_history("x"), "failed to record sync to history: x", id="history"),
    ],
)
def test_messages(message, expected):
    assert message == expected
