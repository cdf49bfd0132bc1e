"""The sync engine's pure rules: Argo CD's hook lifecycle as plain data in, plain data out.

Nothing here does I/O, reads the clock or awaits: objects are dicts, time is a parameter, and
every rule can be called from a REPL. Hook classification and Helm mapping (``hooks``), waves
and order (``waves``, ``ordering``), health (``health``, ``progress``), the tasks and persisted
results a step function works over (``reconcile``, ``tasks``, ``results``, ``operation``), and
Argo CD's messages word for word (``messages``). On top of them: the plan of one step
(``plan``), the re-entrant step itself (``step``: ``decide`` and ``settle``, with ``actions``
for what a driver runs and ``terminate`` for §7.3), and the three-way diff and client-side apply
patches (``diff``, ``merge``). The behaviour is Argo CD's, as recorded in
``shared/spec/argocd-sync.md``.
"""

from . import actions, csa, diff, health, merge, messages, tracking
from ._durations import format_duration, parse_duration
from .actions import (
    Action,
    Apply,
    ApplyOptions,
    Delete,
    FetchLogs,
    Gate,
    ObjectRef,
    Outcome,
    Purpose,
    ReleaseFinalizer,
    Stage,
    proceeds,
)
from .annotations import AnnotationWarning
from .diff import DiffResult, compare
from .health import AppHealth, HealthCheck, HealthResult, app_health, assess
from .history import RevisionHistory, append_history, records_history
from .hooks import (
    DesiredObjects,
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
from .ignore import IgnoreRule
from .lint import annotation_warnings
from .objects import KubeObject, ObjectMeta, ResourceKey, resource_key
from .operation import (
    DEFAULT_AUTOMATED_RETRY,
    Backoff,
    Info,
    Operation,
    OperationInitiator,
    RetryStrategy,
    SyncOperation,
    SyncOperationResource,
    SyncStrategy,
    SyncStrategyType,
)
from .ordering import KIND_ORDER, first_step, is_multi_step, kind_rank, order_prunes, sort_tasks, task_key
from .plan import Plan, build_plan
from .progress import TaskProgress, hook_progress, may_progress, resource_progress
from .reconcile import Pair, find_live, hook_tasks, reconcile, resource_tasks
from .results import OperationState, ResourceResult, SyncResult, result_key
from .step import Preflight, Step, decide, preflight, revision_warnings, settle
from .tasks import SyncTask, attach_results, default_namespace
from .types import (
    HealthStatus,
    HookDeletePolicy,
    HookType,
    OperationPhase,
    ResultCode,
    SyncOption,
    SyncPhase,
    is_worse,
    parse_hook_type,
)
from .waves import wave_of
from .world import World

__all__ = [
    "DEFAULT_AUTOMATED_RETRY",
    "KIND_ORDER",
    "Action",
    "AnnotationWarning",
    "AppHealth",
    "Apply",
    "ApplyOptions",
    "Backoff",
    "Delete",
    "DesiredObjects",
    "DiffResult",
    "FetchLogs",
    "Gate",
    "HealthCheck",
    "HealthResult",
    "HealthStatus",
    "HookDeletePolicy",
    "HookType",
    "IgnoreRule",
    "Info",
    "KubeObject",
    "ObjectMeta",
    "ObjectRef",
    "Operation",
    "OperationInitiator",
    "OperationPhase",
    "OperationState",
    "Outcome",
    "Pair",
    "Plan",
    "Preflight",
    "Purpose",
    "ReleaseFinalizer",
    "ResourceKey",
    "ResourceResult",
    "ResultCode",
    "RetryStrategy",
    "RevisionHistory",
    "Stage",
    "Step",
    "SyncOperation",
    "SyncOperationResource",
    "SyncOption",
    "SyncPhase",
    "SyncResult",
    "SyncStrategy",
    "SyncStrategyType",
    "SyncTask",
    "TaskProgress",
    "World",
    "actions",
    "annotation_warnings",
    "app_health",
    "append_history",
    "assess",
    "attach_results",
    "build_plan",
    "compare",
    "csa",
    "decide",
    "default_namespace",
    "delete_policies",
    "diff",
    "find_live",
    "first_step",
    "format_duration",
    "generated_hook_name",
    "health",
    "hook_manifest",
    "hook_progress",
    "hook_tasks",
    "hook_timeout",
    "hook_types",
    "is_hook",
    "is_ignored",
    "is_multi_step",
    "is_skip",
    "is_worse",
    "kind_rank",
    "may_progress",
    "merge",
    "messages",
    "order_prunes",
    "parse_duration",
    "parse_hook_type",
    "preflight",
    "proceeds",
    "reconcile",
    "records_history",
    "resource_key",
    "resource_progress",
    "resource_tasks",
    "result_key",
    "revision_warnings",
    "settle",
    "sort_tasks",
    "split_desired",
    "sync_phases",
    "task_key",
    "tracking",
    "wave_of",
]
