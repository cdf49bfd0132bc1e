"""The sync engine's pure rules: Argo CD's hook lifecycle as plain data in, plain data out.

Nothing here does I/O, reads the clock or awaits: objects are dicts, time is a parameter, and
every rule can be called from a REPL. Hook classification and Helm mapping (``hooks``), waves
and order (``waves``, ``ordering``), health (``health``, ``progress``), the tasks and persisted
results a step function works over (``reconcile``, ``tasks``, ``results``, ``operation``), and
Argo CD's messages word for word (``messages``). The behaviour is Argo CD's, as recorded in
``shared/spec/argocd-sync.md``.
"""

from . import health, messages
from .annotations import AnnotationWarning
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
from .progress import TaskProgress, hook_progress, resource_progress
from .reconcile import Pair, find_live, hook_tasks, reconcile, resource_tasks
from .results import OperationState, ResourceResult, SyncResult, result_key
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

__all__ = [
    "DEFAULT_AUTOMATED_RETRY",
    "KIND_ORDER",
    "AnnotationWarning",
    "AppHealth",
    "Backoff",
    "DesiredObjects",
    "HealthCheck",
    "HealthResult",
    "HealthStatus",
    "HookDeletePolicy",
    "HookType",
    "Info",
    "KubeObject",
    "ObjectMeta",
    "Operation",
    "OperationInitiator",
    "OperationPhase",
    "OperationState",
    "Pair",
    "ResourceKey",
    "ResourceResult",
    "ResultCode",
    "RetryStrategy",
    "RevisionHistory",
    "SyncOperation",
    "SyncOperationResource",
    "SyncOption",
    "SyncPhase",
    "SyncResult",
    "SyncStrategy",
    "SyncStrategyType",
    "SyncTask",
    "TaskProgress",
    "annotation_warnings",
    "app_health",
    "append_history",
    "assess",
    "attach_results",
    "default_namespace",
    "delete_policies",
    "find_live",
    "first_step",
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
    "messages",
    "order_prunes",
    "parse_hook_type",
    "reconcile",
    "records_history",
    "resource_key",
    "resource_progress",
    "resource_tasks",
    "result_key",
    "sort_tasks",
    "split_desired",
    "sync_phases",
    "task_key",
    "wave_of",
]
