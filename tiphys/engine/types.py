"""The sync vocabularies: Argo CD's status words as enums whose values are the wire strings.

Everything here is persisted in ``status.operationState`` or read from annotations, so the values
are exactly Argo CD's (gitops-engine ``pkg/sync/common/types.go``, ``pkg/health/health.go``). The
predicates live on the types, as upstream puts them on its string constants.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "HealthStatus",
    "HookDeletePolicy",
    "HookType",
    "OperationPhase",
    "ResultCode",
    "SyncOption",
    "SyncPhase",
    "is_worse",
    "parse_hook_type",
]


class SyncPhase(StrEnum):
    """The phase a task runs in; a sync walks them in this order, SyncFail only on failure."""

    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"

    @property
    def rank(self) -> int:
        """Position in the sort key (`syncPhaseOrder` in gitops-engine `sync_tasks.go`)."""
        return _PHASE_RANK[self]

    @property
    def hook_type(self) -> HookType:
        """The hook type a hook task of this phase reports (`hookType` of its result)."""
        return HookType(self.value)


_PHASE_RANK = {SyncPhase.PRE_SYNC: -1, SyncPhase.SYNC: 0, SyncPhase.POST_SYNC: 1, SyncPhase.SYNC_FAIL: 2}


class HookType(StrEnum):
    """Values of ``argocd.argoproj.io/hook``; the engine knows five, Argo CD adds the deletion hooks."""

    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"
    SKIP = "Skip"
    PRE_DELETE = "PreDelete"  # run by the controller on Application deletion, never during a sync
    POST_DELETE = "PostDelete"

    @property
    def sync_phase(self) -> SyncPhase | None:
        """The sync phase this type puts a hook in; None for Skip and the deletion hooks."""
        try:
            return SyncPhase(self.value)
        except ValueError:
            return None

    @property
    def is_deletion(self) -> bool:
        return self in (HookType.PRE_DELETE, HookType.POST_DELETE)

    @property
    def known_to_engine(self) -> bool:
        """Whether the sync engine accepts it (`NewHookType`); the deletion hooks are not."""
        return not self.is_deletion


def parse_hook_type(text: str) -> HookType | None:
    """The hook type spelled exactly (case-sensitive) as ``text``, or None for anything else."""
    try:
        return HookType(text)
    except ValueError:
        return None


class HookDeletePolicy(StrEnum):
    """Values of ``argocd.argoproj.io/hook-delete-policy``; judged on the operation's outcome."""

    HOOK_SUCCEEDED = "HookSucceeded"  # deleted when the operation ends Succeeded
    HOOK_FAILED = "HookFailed"  # deleted when the operation fails
    BEFORE_HOOK_CREATION = "BeforeHookCreation"  # an existing object of that name is deleted first


class OperationPhase(StrEnum):
    """Phase of an operation, and also the per-task state recorded as a result's ``hookPhase``."""

    RUNNING = "Running"
    TERMINATING = "Terminating"  # termination requested (by a user or a timeout)
    FAILED = "Failed"
    ERROR = "Error"  # an unexpected problem rather than a sync failure
    SUCCEEDED = "Succeeded"

    @property
    def completed(self) -> bool:
        return self in (OperationPhase.FAILED, OperationPhase.ERROR, OperationPhase.SUCCEEDED)

    @property
    def successful(self) -> bool:
        return self is OperationPhase.SUCCEEDED

    @property
    def running(self) -> bool:
        return self is OperationPhase.RUNNING

    @property
    def failed(self) -> bool:
        return self is OperationPhase.FAILED


class ResultCode(StrEnum):
    """Per-resource sync status of a result (``status``)."""

    SYNCED = "Synced"
    SYNC_FAILED = "SyncFailed"
    PRUNED = "Pruned"
    PRUNE_SKIPPED = "PruneSkipped"

    @property
    def operation_phase(self) -> OperationPhase:
        """The task state a fresh result with this code starts in (spec §4.10)."""
        return _RESULT_PHASE[self]


_RESULT_PHASE = {
    ResultCode.SYNCED: OperationPhase.RUNNING,
    ResultCode.SYNC_FAILED: OperationPhase.FAILED,
    ResultCode.PRUNED: OperationPhase.SUCCEEDED,
    ResultCode.PRUNE_SKIPPED: OperationPhase.SUCCEEDED,
}


class HealthStatus(StrEnum):
    """Health of a resource or an application; members are declared from healthiest to worst."""

    HEALTHY = "Healthy"
    SUSPENDED = "Suspended"  # paused or suspended, waiting for an event
    PROGRESSING = "Progressing"  # not healthy yet, but may become so
    MISSING = "Missing"  # not in the cluster
    DEGRADED = "Degraded"  # failed, or cannot become healthy
    UNKNOWN = "Unknown"  # the assessment itself failed

    @property
    def rank(self) -> int:
        """Index in upstream's `healthOrder`: higher is worse."""
        return _HEALTH_ORDER.index(self)

    def is_worse_than(self, current: HealthStatus) -> bool:
        return is_worse(current, self)


_HEALTH_ORDER = list(HealthStatus)


def is_worse(current: str, new: str) -> bool:
    """Whether ``new`` is a worse health than ``current`` (gitops-engine `IsWorse`).

    Codes outside the six count as Healthy, as the Go loop leaves their index at zero.
    """
    order = [status.value for status in _HEALTH_ORDER]
    current_index = order.index(current) if current in order else 0
    new_index = order.index(new) if new in order else 0
    return new_index > current_index


class SyncOption(StrEnum):
    """Keys of sync options, written ``Key=value`` in ``syncOptions`` or the sync-options annotation."""

    VALIDATE = "Validate"
    CREATE_NAMESPACE = "CreateNamespace"
    REPLACE = "Replace"
    FORCE = "Force"
    SERVER_SIDE_APPLY = "ServerSideApply"
    CLIENT_SIDE_APPLY_MIGRATION = "ClientSideApplyMigration"
    APPLY_OUT_OF_SYNC_ONLY = "ApplyOutOfSyncOnly"
    PRUNE = "Prune"  # true, false or confirm
    PRUNE_LAST = "PruneLast"
    PRUNE_PROPAGATION_POLICY = "PrunePropagationPolicy"  # foreground, background or orphan
    SKIP_DRY_RUN_ON_MISSING_RESOURCE = "SkipDryRunOnMissingResource"
    RESPECT_IGNORE_DIFFERENCES = "RespectIgnoreDifferences"
    FAIL_ON_SHARED_RESOURCE = "FailOnSharedResource"
    DELETE = "Delete"  # true, false or confirm; Application deletion only

    def option(self, value: str) -> str:
        """The option as written: ``SyncOption.PRUNE_LAST.option("true") == "PruneLast=true"``."""
        return f"{self.value}={value}"
