"""Argo CD's messages, word for word, one function each (spec §4, §6, §7, §13).

Users read these in ``status.operationState`` and scripts match them, so they are reproduced
exactly, including Argo CD's inconsistencies (``Failed to get live resource <err>`` without a
colon while waiting, with one while terminating). Where Go joins a map's keys in random order,
Tiphys keeps first-occurrence order so a message is stable from one step to the next.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from ._durations import format_duration

__all__ = [
    "Waitable",
    "applied",
    "blocked_by_sync_window",
    "completed_unsuccessfully",
    "dry_run_failed",
    "failed_to_apply",
    "failed_to_delete_resource",
    "failed_to_get_health",
    "failed_to_get_hook_health",
    "failed_to_get_live_resource",
    "failed_to_load_project",
    "failed_to_record_history",
    "failed_to_remove_hook_finalizer",
    "hook_created",
    "hook_timed_out",
    "namespace_auto_creation_failed",
    "namespace_failed_to_apply",
    "namespace_not_permitted",
    "no_operation_specified",
    "operation_failed",
    "operation_terminated",
    "operation_terminating",
    "prune_skipped_no_prune",
    "prune_skipped_requires_pruning",
    "pruned",
    "resource_missing",
    "resource_not_permitted",
    "retried_times",
    "retry_failed",
    "retrying_at",
    "retrying_operation",
    "shared_resource_found",
    "sync_timeout_cause",
    "sync_wave_hook_failed",
    "synced_all_tasks_run",
    "synced_no_more_tasks",
    "tasks_not_valid",
    "tasks_running",
    "terminated",
    "terminating_due_to_timeout",
    "termination_had_errors",
    "triggered_by",
    "unique",
    "updated",
    "waiting_for",
    "with_reasons",
]


class Waitable(Protocol):
    """What a waiting message names: a ``SyncTask`` fits."""

    @property
    def group(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def is_hook(self) -> bool: ...


def unique(items: Iterable[str]) -> list[str]:
    """De-duplicated in first-occurrence order (Go iterates a map here: random order)."""
    return list(dict.fromkeys(items))


# -- the operation ------------------------------------------------------------------------------


def waiting_for(
    tasks: Sequence[Waitable],
    *,
    pending_deletion: bool = False,
    awaiting_prune_confirmation: Sequence[Waitable] = (),
) -> str:
    """``setRunningPhase``: ``waiting for healthy state of apps/Deployment/web and 2 more resources``.

    Hooks come first; the noun is "hooks" only when every task is a hook. Pass the prune tasks of
    ``tasks`` that need a confirmation not yet given as ``awaiting_prune_confirmation``.
    """
    if not tasks:
        return ""
    hooks = [t for t in tasks if t.is_hook]
    noun = "hooks" if len(hooks) == len(tasks) else "resources"
    reason = "completion of hook" if hooks else "healthy state of"
    if pending_deletion:
        reason = "deletion of hook" if hooks else "deletion of"
    first = hooks[0] if hooks else tasks[0]
    extra = len(tasks) - 1
    if awaiting_prune_confirmation:
        reason = "pruning confirmation of"
        first = awaiting_prune_confirmation[0]
        extra = len(awaiting_prune_confirmation) - 1
    message = f"waiting for {reason} {first.group}/{first.kind}/{first.name}"
    return f"{message} and {extra} more {noun}" if extra > 0 else message


def tasks_not_valid(reasons: Iterable[str] = ()) -> str:
    """Task building failed; ACGE appends the distinct error messages, sorted, joined by ``"; "``."""
    distinct = sorted({reason for reason in reasons if reason})
    message = "one or more synchronization tasks are not valid"
    return f"{message}: {'; '.join(distinct)}" if distinct else message


def dry_run_failed() -> str:
    return "one or more objects failed to apply (dry run)"


def namespace_failed_to_apply() -> str:
    """The base message when the destination namespace cannot be created in the first step."""
    return "the namespace failed to apply"


def failed_to_apply() -> str:
    """The base message when an apply or prune of the current step failed."""
    return "one or more objects failed to apply"


def completed_unsuccessfully() -> str:
    """The base message when a task completed Failed or Error."""
    return "one or more synchronization tasks completed unsuccessfully"


def with_reasons(message: str, reasons: Sequence[str]) -> str:
    """``<message>, reason: <a>,<b>``: one reason per failed task (empty ones too, as Go does), de-duplicated."""
    return f"{message}, reason: {','.join(unique(reasons))}" if reasons else message


def operation_failed(base: str, *, reasons: Sequence[str] = (), sync_fail_reasons: Sequence[str] = ()) -> str:
    """``executeSyncFailPhase``'s final message; a second line only when SyncFail hooks failed to apply."""
    message = with_reasons(base, reasons)
    if sync_fail_reasons:
        message += "\n" + with_reasons("one or more SyncFail hooks failed", sync_fail_reasons)
    return message


def tasks_running() -> str:
    return "one or more tasks are running"


def synced_no_more_tasks() -> str:
    return "successfully synced (no more tasks)"


def synced_all_tasks_run() -> str:
    """Success right after applying the final step, which had no hooks; health is not awaited."""
    return "successfully synced (all tasks run)"


def sync_wave_hook_failed(error: str) -> str:
    return f"SyncWaveHook failed: {error}"


def operation_terminated() -> str:
    return "Operation terminated"


def termination_had_errors() -> str:
    return "Operation termination had errors"


def operation_terminating() -> str:
    """Set when a termination request arrives while a step runs."""
    return "operation is terminating"


def terminating_due_to_timeout() -> str:
    return "operation is terminating due to timeout"


def triggered_by(message: str, cause: str) -> str:
    """``Operation terminated, triggered by controller sync timeout``."""
    return f"{message}, triggered by {cause}"


def sync_timeout_cause(timeout: timedelta) -> str:
    """Tiphys ``--timeout``: the cause for ``triggered_by``, naming the timeout that expired."""
    return f"sync timeout of {format_duration(timeout)} expired"


def retrying_at(message: str, attempt: int, at: datetime) -> str:
    """``<msg>. Retrying attempt #1 at 3:04PM.`` (Go's ``time.Kitchen``, in ``at``'s own zone)."""
    hour = at.hour % 12 or 12
    return f"{message}. Retrying attempt #{attempt} at {hour}:{at.minute:02d}{'AM' if at.hour < 12 else 'PM'}."


def retry_failed(message: str, error: str) -> str:
    return f"{message} (failed to retry: {error})"


def retried_times(message: str, count: int) -> str:
    """Appended when retries are exhausted, if there were any."""
    return f"{message} (retried {count} times)."


def retrying_operation(attempt: int, *, latest_revisions: bool = False) -> str:
    return f"Retrying operation{' with latest revisions' if latest_revisions else ''}. Attempt #{attempt}"


# -- one task -----------------------------------------------------------------------------------


def hook_created(name: str) -> str:
    """A hook of a kind without health is done as soon as it is seen."""
    return f"{name} created"


def applied(*, group: str, kind: str, name: str, verb: str, dry_run: bool = False) -> str:
    """kubectl's line, e.g. ``job.batch/migrate created``, ``configmap/app configured (dry run)``."""
    group_kind = f"{kind}.{group}" if group else kind
    return f"{group_kind.lower()}/{name} {verb}{' (dry run)' if dry_run else ''}"


def updated(kind: str, name: str) -> str:
    """Replace of a CRD or Namespace, which is an update with the live resourceVersion."""
    return f"{kind}/{name} updated"


def failed_to_get_health(error: str) -> str:
    return f"failed to get resource health: {error}"


def resource_missing(group: str, kind: str, name: str) -> str:
    return f"Resource {group}/{kind}/{name} is missing, it might have been deleted"


def failed_to_get_live_resource(error: str, *, terminating: bool = False) -> str:
    """While waiting Argo CD writes no colon; while terminating it does."""
    return f"Failed to get live resource: {error}" if terminating else f"Failed to get live resource {error}"


def failed_to_remove_hook_finalizer(error: str, *, before_run: bool = False) -> str:
    """Capitalised for completed and terminated hooks; lowercase before (re)creating a hook."""
    prefix = "failed" if before_run else "Failed"
    return f"{prefix} to remove hook finalizer: {error}"


def failed_to_delete_resource(error: str, *, terminating: bool = False) -> str:
    return f"Failed to delete: {error}" if terminating else f"failed to delete resource: {error}"


def failed_to_get_hook_health(error: str) -> str:
    return f"Failed to get hook health: {error}"


def terminated() -> str:
    return "Terminated"


def hook_timed_out(timeout: timedelta) -> str:
    """Tiphys ``tiphys.io/hook-timeout``: ``hook timed out after 5m``."""
    return f"hook timed out after {format_duration(timeout)}"


def pruned(*, dry_run: bool = False) -> str:
    return "pruned (dry run)" if dry_run else "pruned"


def prune_skipped_requires_pruning() -> str:
    """The operation does not prune (``prune: false``)."""
    return "ignored (requires pruning)"


def prune_skipped_no_prune() -> str:
    """The object, or the app default, says ``Prune=false``."""
    return "ignored (no prune)"


def namespace_auto_creation_failed(error: str) -> str:
    return f"namespace auto creation failed: {error}"


def resource_not_permitted(group: str, kind: str, project: str) -> str:
    return f"resource {group}:{kind} is not permitted in project {project}"


def namespace_not_permitted(namespace: str, project: str) -> str:
    return f"namespace {namespace} is not permitted in project '{project}'"


# -- around the engine (Argo CD's controller) ----------------------------------------------------


def no_operation_specified() -> str:
    return "Invalid operation request: no operation specified"


def blocked_by_sync_window() -> str:
    return "Sync operation blocked by sync window"


def shared_resource_found(message: str) -> str:
    return f"Shared resource found: {message}"


def failed_to_load_project(error: str) -> str:
    return f"Failed to load application project: {error}"


def failed_to_record_history(error: str) -> str:
    return f"failed to record sync to history: {error}"
