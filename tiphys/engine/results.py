"""What a sync records: per-resource results, the sync result and the operation state (spec §13.1, §13.2).

These are persisted in the Application's ``status.operationState``, so they hold JSON values only
(no exceptions, no objects) and serialize with Argo CD's field names. A step function rebuilds its
tasks every time and re-attaches these results by ``result_key`` (§3.9); ``SyncResult.record``
applies Argo CD's bookkeeping rule (§4.10). Two Tiphys extensions are opt-in and omitted when
empty: ``logs`` on a result (the failing hook's last log lines) and ``warnings`` on the sync result
(what Argo CD tolerated silently, e.g. an unparseable wave).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from typing import Any

from ._wire import (
    JsonObject,
    format_time,
    get_enum,
    get_int,
    get_list,
    get_object,
    get_str,
    get_strs,
    get_time,
    require_aware,
)
from .objects import ResourceKey
from .operation import Operation
from .types import HookType, OperationPhase, ResultCode, SyncPhase

__all__ = ["OperationState", "ResourceResult", "SyncResult", "result_key"]


def result_key(key: ResourceKey, phase: SyncPhase | None) -> str:
    """``{group}/{kind}/{namespace}/{name}:{syncPhase}``: one result per object and phase."""
    return f"{key}:{phase.value if phase else ''}"


@dataclass(frozen=True)
class ResourceResult:
    """The outcome of one task: an object in one phase (``ResourceResult`` in Argo CD's API)."""

    group: str
    version: str
    kind: str
    namespace: str
    name: str
    status: ResultCode | None = None  # None until applied/pruned
    message: str = ""  # the latest non-empty message: kubectl output, health message, error
    hook_type: HookType | None = None  # the phase, for hooks; None for resources
    hook_phase: OperationPhase | None = None  # the task's state, for hooks and resources alike
    sync_phase: SyncPhase | None = None
    images: tuple[str, ...] = ()
    logs: str = ""  # Tiphys extension: the tail of a failed hook's container log

    @property
    def resource_key(self) -> ResourceKey:
        return ResourceKey(self.group, self.kind, self.namespace, self.name)

    @cached_property  # looked up for every result in every step; a frozen value, so it never goes stale
    def key(self) -> str:
        return result_key(self.resource_key, self.sync_phase)

    def to_json(self) -> JsonObject:
        data: JsonObject = {
            "group": self.group,
            "version": self.version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
        }
        optional: list[tuple[str, Any]] = [
            ("status", self.status),
            ("message", self.message),
            ("hookType", self.hook_type),
            ("hookPhase", self.hook_phase),
            ("syncPhase", self.sync_phase),
            ("images", list(self.images)),
            ("logs", self.logs),
        ]
        data.update((key, str(value) if isinstance(value, str) else value) for key, value in optional if value)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResourceResult:
        return cls(
            group=get_str(data, "group"),
            version=get_str(data, "version"),
            kind=get_str(data, "kind"),
            namespace=get_str(data, "namespace"),
            name=get_str(data, "name"),
            status=get_enum(data, "status", ResultCode),
            message=get_str(data, "message"),
            hook_type=get_enum(data, "hookType", HookType),
            hook_phase=get_enum(data, "hookPhase", OperationPhase),
            sync_phase=get_enum(data, "syncPhase", SyncPhase),
            images=get_strs(data, "images"),
            logs=get_str(data, "logs"),
        )


@dataclass(frozen=True)
class SyncResult:
    """``syncResult``: the revision synced and the results in the order they were first recorded."""

    revision: str = ""
    resources: tuple[ResourceResult, ...] = ()
    revisions: tuple[str, ...] = ()
    source: Mapping[str, Any] | None = None
    sources: tuple[Mapping[str, Any], ...] = ()
    managed_namespace_metadata: Mapping[str, Any] | None = None
    warnings: tuple[str, ...] = ()  # Tiphys extension

    def find(self, key: str) -> ResourceResult | None:
        return next((r for r in self.resources if r.key == key), None)

    def by_key(self) -> dict[str, ResourceResult]:
        return {r.key: r for r in self.resources}

    def record(self, result: ResourceResult) -> SyncResult:
        """Argo CD's ``setResourceResult``: a new key is appended; an existing one keeps its place,
        identity and images, takes the new status and hook phase, and the new message unless empty.
        """
        existing = self.find(result.key)
        if existing is None:
            return replace(self, resources=(*self.resources, result))
        updated = replace(
            existing,
            status=result.status,
            hook_phase=result.hook_phase,
            message=result.message or existing.message,
            logs=result.logs or existing.logs,
        )
        return replace(self, resources=tuple(updated if r.key == result.key else r for r in self.resources))

    @property
    def pruning_required(self) -> int:
        """Results still waiting for a prune, ``Prune=false`` ones excepted (``PruningRequired``)."""
        return sum(1 for r in self.resources if r.status is ResultCode.PRUNE_SKIPPED and "no prune" not in r.message)

    def to_json(self) -> JsonObject:
        data: JsonObject = {"resources": [r.to_json() for r in self.resources]} if self.resources else {}
        data["revision"] = self.revision
        if self.source is not None:
            data["source"] = dict(self.source)
        if self.sources:
            data["sources"] = [dict(s) for s in self.sources]
        if self.revisions:
            data["revisions"] = list(self.revisions)
        if self.managed_namespace_metadata is not None:
            data["managedNamespaceMetadata"] = dict(self.managed_namespace_metadata)
        if self.warnings:
            data["warnings"] = list(self.warnings)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SyncResult:
        sources = get_list(data, "sources")
        if not all(isinstance(s, Mapping) for s in sources):
            raise ValueError("sources: expected a list of objects")
        return cls(
            revision=get_str(data, "revision"),
            resources=tuple(ResourceResult.from_json(r) for r in get_list(data, "resources")),
            revisions=get_strs(data, "revisions"),
            source=get_object(data, "source"),
            sources=tuple(sources),
            managed_namespace_metadata=get_object(data, "managedNamespaceMetadata"),
            warnings=get_strs(data, "warnings"),
        )


@dataclass(frozen=True)
class OperationState:
    """``status.operationState``: everything a step needs to carry on after a restart."""

    operation: Operation
    phase: OperationPhase
    started_at: datetime
    message: str = ""
    sync_result: SyncResult | None = None
    finished_at: datetime | None = None
    retry_count: int = 0

    def __post_init__(self) -> None:
        require_aware(self.started_at, "started_at")
        if self.finished_at is not None:
            require_aware(self.finished_at, "finished_at")

    @classmethod
    def start(cls, operation: Operation, *, now: datetime) -> OperationState:
        """A new operation: Running, started now (to the second, as it will be stored)."""
        require_aware(now, "now")
        return cls(operation=operation, phase=OperationPhase.RUNNING, started_at=now.replace(microsecond=0))

    @property
    def results(self) -> tuple[ResourceResult, ...]:
        return self.sync_result.resources if self.sync_result is not None else ()

    @property
    def started(self) -> bool:
        """Whether a first step has recorded anything (the engine's ``started()``)."""
        return bool(self.results)

    @property
    def completed(self) -> bool:
        return self.phase.completed

    @property
    def waiting_to_retry(self) -> bool:
        """A failed attempt with retries left is Running with a ``finishedAt`` (spec §7.4)."""
        return self.phase is OperationPhase.RUNNING and self.finished_at is not None

    def to_json(self) -> JsonObject:
        data: JsonObject = {"operation": self.operation.to_json(), "phase": self.phase.value}
        if self.message:
            data["message"] = self.message
        if self.sync_result is not None:
            data["syncResult"] = self.sync_result.to_json()
        data["startedAt"] = format_time(self.started_at)
        if self.finished_at is not None:
            data["finishedAt"] = format_time(self.finished_at)
        if self.retry_count:
            data["retryCount"] = self.retry_count
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OperationState:
        phase = get_enum(data, "phase", OperationPhase)
        started_at = get_time(data, "startedAt")
        if phase is None or started_at is None:
            raise ValueError("operationState needs a phase and a startedAt")
        sync_result = get_object(data, "syncResult")
        return cls(
            operation=Operation.from_json(get_object(data, "operation") or {}),
            phase=phase,
            started_at=started_at,
            message=get_str(data, "message"),
            sync_result=SyncResult.from_json(sync_result) if sync_result is not None else None,
            finished_at=get_time(data, "finishedAt"),
            retry_count=get_int(data, "retryCount"),
        )
