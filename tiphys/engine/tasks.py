"""A sync task: one object in one phase, with the result recorded for it so far (spec §3).

A step rebuilds every task from the desired objects, the live snapshot and the persisted results,
so a task is a frozen value: ``dataclasses.replace`` gives the next one. ``target`` None means a
prune; ``live`` None means not created yet. Everything a rule needs is derived from the object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from . import hooks, objects
from .objects import KubeObject, ResourceKey
from .results import ResourceResult, SyncResult, result_key
from .types import HookDeletePolicy, HookType, OperationPhase, ResultCode, SyncPhase
from .waves import wave_of

__all__ = ["SyncTask", "attach_results", "default_namespace"]


@dataclass(frozen=True)
class SyncTask:
    phase: SyncPhase
    target: KubeObject | None = None
    live: KubeObject | None = None
    wave_override: int | None = None  # set by prune reversal, PruneLast and dependency hoisting
    skip_dry_run: bool = False
    sync_status: ResultCode | None = None
    operation_state: OperationPhase | None = None  # None: pending
    message: str = ""

    def __post_init__(self) -> None:
        if self.target is None and self.live is None:
            raise ValueError("a sync task needs a target or a live object")

    @property
    def obj(self) -> KubeObject:
        """The target if there is one, else the live object."""
        obj = self.target if self.target is not None else self.live
        assert obj is not None  # guaranteed by __post_init__
        return obj

    @property
    def is_prune(self) -> bool:
        return self.target is None

    @property
    def wave(self) -> int:
        return self.wave_override if self.wave_override is not None else wave_of(self.obj)

    @cached_property
    def is_hook(self) -> bool:
        return hooks.is_hook(self.obj)

    @property
    def group(self) -> str:
        return objects.api_group(self.obj)

    @property
    def version(self) -> str:
        return objects.version(self.obj)

    @property
    def kind(self) -> str:
        return objects.kind(self.obj)

    @property
    def name(self) -> str:
        return objects.name(self.obj)

    @property
    def namespace(self) -> str:
        return objects.namespace(self.obj)

    @cached_property
    def key(self) -> ResourceKey:
        return objects.resource_key(self.obj)

    @cached_property
    def result_key(self) -> str:
        return result_key(self.key, self.phase)

    @property
    def hook_type(self) -> HookType | None:
        return self.phase.hook_type if self.is_hook else None

    @property
    def pending(self) -> bool:
        return self.operation_state is None

    @property
    def running(self) -> bool:
        return self.operation_state is OperationPhase.RUNNING

    @property
    def completed(self) -> bool:
        return self.operation_state is not None and self.operation_state.completed

    @property
    def successful(self) -> bool:
        return self.operation_state is OperationPhase.SUCCEEDED

    @property
    def pruned(self) -> bool:
        return self.sync_status is ResultCode.PRUNED

    @cached_property
    def delete_policies(self) -> tuple[HookDeletePolicy, ...]:
        """The hook's delete policies; none for a resource, where they would mean nothing."""
        return tuple(hooks.delete_policies(self.obj)) if self.is_hook else ()

    @property
    def delete_before_creation(self) -> bool:
        """A pending hook whose old object must go first (§4.9 c)."""
        return self.live is not None and self.pending and HookDeletePolicy.BEFORE_HOOK_CREATION in self.delete_policies

    @property
    def delete_on_success(self) -> bool:
        """Deleted when the operation succeeds, whatever the hook's own outcome (§8.2)."""
        return self.live is not None and HookDeletePolicy.HOOK_SUCCEEDED in self.delete_policies

    @property
    def delete_on_failure(self) -> bool:
        """Deleted when the operation fails, even if this hook succeeded (§8.2)."""
        return self.live is not None and HookDeletePolicy.HOOK_FAILED in self.delete_policies

    def with_result(self, status: ResultCode | None, state: OperationPhase | None, message: str = "") -> SyncTask:
        """The task after a result: the message changes only when the new one is non-empty (§4.10)."""
        return replace(self, sync_status=status, operation_state=state, message=message or self.message)

    def to_result(self, *, logs: str = "") -> ResourceResult:
        """This task's row in ``syncResult.resources``."""
        return ResourceResult(
            group=self.group,
            version=self.version,
            kind=self.kind,
            namespace=self.namespace,
            name=self.name,
            status=self.sync_status,
            message=self.message,
            hook_type=self.hook_type,
            hook_phase=self.operation_state,
            sync_phase=self.phase,
            images=tuple(objects.images(self.obj)),
            logs=logs,
        )


def default_namespace(obj: KubeObject, namespace: str) -> KubeObject:
    """A target without a namespace gets the destination one, even when cluster-scoped (§3.3)."""
    if objects.namespace(obj):
        return obj
    copied: dict[str, Any] = dict(obj)
    metadata = obj.get("metadata")
    copied["metadata"] = {**(metadata if isinstance(metadata, Mapping) else {}), "namespace": namespace}
    return copied


def attach_results(tasks: list[SyncTask], results: SyncResult | None) -> list[SyncTask]:
    """Each task with its recorded status, state and message (§3.9); the rest stay pending."""
    recorded = results.by_key() if results is not None else {}
    attached = []
    for task in tasks:
        result = recorded.get(task.result_key)
        if result is not None:
            task = replace(task, sync_status=result.status, operation_state=result.hook_phase, message=result.message)
        attached.append(task)
    return attached
