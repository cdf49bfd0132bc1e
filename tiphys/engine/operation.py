"""The requested operation (``operation`` and ``status.operationState.operation``, spec §13.2, §13.3, §7.4).

Frozen values with Argo CD's JSON field names; ``to_json``/``from_json`` round-trip what an
Application stores. Application sources stay opaque JSON objects: the engine only carries them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from ._durations import parse_duration
from ._wire import JsonObject, get_bool, get_int, get_list, get_object, get_str, get_strs
from .objects import ResourceKey

__all__ = [
    "DEFAULT_AUTOMATED_RETRY",
    "Backoff",
    "Info",
    "Operation",
    "OperationInitiator",
    "RetryStrategy",
    "SyncOperation",
    "SyncOperationResource",
    "SyncStrategy",
    "SyncStrategyType",
]

_DEFAULT_DURATION: Final = timedelta(seconds=5)
_DEFAULT_FACTOR: Final = 2
_DEFAULT_MAX_DURATION: Final = timedelta(minutes=3)
_LONGEST_WAIT: Final = timedelta(days=10_000)  # Go overflows its Duration here; we just cap


class SyncStrategyType(StrEnum):
    APPLY = "apply"  # plain apply: no hook tasks at all
    HOOK = "hook"  # the default: hooks run


@dataclass(frozen=True)
class SyncStrategy:
    type: SyncStrategyType = SyncStrategyType.HOOK
    force: bool = False

    def to_json(self) -> JsonObject:
        return {self.type.value: {"force": True} if self.force else {}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SyncStrategy:
        for strategy in (SyncStrategyType.APPLY, SyncStrategyType.HOOK):  # Argo CD checks apply first
            options = get_object(data, strategy.value)
            if options is not None:
                return cls(strategy, get_bool(options, "force"))
        return cls()


@dataclass(frozen=True)
class SyncOperationResource:
    """One resource of a selective sync; an empty namespace matches any."""

    kind: str
    name: str
    group: str = ""
    namespace: str = ""

    def matches(self, key: ResourceKey) -> bool:
        return (key.group, key.kind, key.name) == (self.group, self.kind, self.name) and self.namespace in (
            "",
            key.namespace,
        )

    def to_json(self) -> JsonObject:
        data: JsonObject = {"group": self.group} if self.group else {}
        data |= {"kind": self.kind, "name": self.name}
        return data | ({"namespace": self.namespace} if self.namespace else {})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SyncOperationResource:
        return cls(get_str(data, "kind"), get_str(data, "name"), get_str(data, "group"), get_str(data, "namespace"))


@dataclass(frozen=True)
class SyncOperation:
    """``operation.sync``: what to sync and how."""

    revision: str = ""
    revisions: tuple[str, ...] = ()
    prune: bool = False
    dry_run: bool = False
    sync_strategy: SyncStrategy | None = None
    resources: tuple[SyncOperationResource, ...] = ()
    source: Mapping[str, Any] | None = None
    sources: tuple[Mapping[str, Any], ...] = ()
    manifests: tuple[str, ...] = ()
    sync_options: tuple[str, ...] = ()
    auto_heal_attempts_count: int = 0

    @property
    def is_apply_strategy(self) -> bool:
        return self.sync_strategy is not None and self.sync_strategy.type is SyncStrategyType.APPLY

    @property
    def force(self) -> bool:
        return self.sync_strategy is not None and self.sync_strategy.force

    @property
    def selective(self) -> bool:
        return bool(self.resources)

    @property
    def skip_hooks(self) -> bool:
        """Selective syncs and the apply strategy create no hook tasks (spec §11)."""
        return self.is_apply_strategy or self.selective

    def has_option(self, option: str) -> bool:
        """Exact match of one ``Key=value`` item, e.g. ``has_option("PruneLast=true")``."""
        return option in self.sync_options

    def option_value(self, key: str) -> str | None:
        prefix = key + "="
        return next((item[len(prefix) :] for item in self.sync_options if item.startswith(prefix)), None)

    def to_json(self) -> JsonObject:
        fields: list[tuple[str, Any]] = [
            ("revision", self.revision),
            ("prune", self.prune),
            ("dryRun", self.dry_run),
            ("syncStrategy", self.sync_strategy.to_json() if self.sync_strategy else None),
            ("resources", [r.to_json() for r in self.resources]),
            ("source", dict(self.source) if self.source is not None else None),
            ("manifests", list(self.manifests)),
            ("syncOptions", list(self.sync_options)),
            ("sources", [dict(s) for s in self.sources]),
            ("revisions", list(self.revisions)),
            ("autoHealAttemptsCount", self.auto_heal_attempts_count),
        ]
        return {key: value for key, value in fields if value}  # all omitempty

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SyncOperation:
        strategy = get_object(data, "syncStrategy")
        sources = get_list(data, "sources")
        if not all(isinstance(s, Mapping) for s in sources):
            raise ValueError("sources: expected a list of objects")
        return cls(
            revision=get_str(data, "revision"),
            revisions=get_strs(data, "revisions"),
            prune=get_bool(data, "prune"),
            dry_run=get_bool(data, "dryRun"),
            sync_strategy=SyncStrategy.from_json(strategy) if strategy is not None else None,
            resources=tuple(SyncOperationResource.from_json(r) for r in get_list(data, "resources")),
            source=get_object(data, "source"),
            sources=tuple(sources),
            manifests=get_strs(data, "manifests"),
            sync_options=get_strs(data, "syncOptions"),
            auto_heal_attempts_count=get_int(data, "autoHealAttemptsCount"),
        )


@dataclass(frozen=True)
class Backoff:
    duration: str = ""  # bare seconds or a Go duration; default 5s
    factor: int | None = None  # default 2
    max_duration: str = ""  # default 3m

    def to_json(self) -> JsonObject:
        data: JsonObject = {"duration": self.duration} if self.duration else {}
        data |= {"factor": self.factor} if self.factor is not None else {}
        return data | ({"maxDuration": self.max_duration} if self.max_duration else {})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Backoff:
        factor = data.get("factor")
        return cls(
            get_str(data, "duration"), None if factor is None else get_int(data, "factor"), get_str(data, "maxDuration")
        )


@dataclass(frozen=True)
class RetryStrategy:
    """``limit`` 0 never retries, a negative limit retries forever (spec §7.4)."""

    limit: int = 0
    backoff: Backoff | None = None
    refresh: bool = False  # retry with the latest revision instead of the original one

    def allows_retry(self, retry_count: int) -> bool:
        return self.limit < 0 or retry_count < self.limit

    def next_retry_at(self, last_attempt: datetime, retry_count: int) -> datetime:
        """``last_attempt + min(maxDuration, duration * factor**retry_count)``; ValueError on a bad duration."""
        backoff = self.backoff or Backoff()
        duration = parse_duration(backoff.duration) if backoff.duration else _DEFAULT_DURATION
        max_duration = parse_duration(backoff.max_duration) if backoff.max_duration else _DEFAULT_MAX_DURATION
        factor = _DEFAULT_FACTOR if backoff.factor is None else backoff.factor
        wait_us = (duration // timedelta(microseconds=1)) * factor**retry_count
        if max_duration > timedelta(0):
            wait_us = min(max_duration // timedelta(microseconds=1), wait_us)
        longest_us = _LONGEST_WAIT // timedelta(microseconds=1)
        return last_attempt + timedelta(microseconds=max(-longest_us, min(longest_us, wait_us)))

    def to_json(self) -> JsonObject:
        data: JsonObject = {"limit": self.limit} if self.limit else {}
        data |= {"backoff": self.backoff.to_json()} if self.backoff is not None else {}
        return data | ({"refresh": True} if self.refresh else {})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RetryStrategy:
        backoff = get_object(data, "backoff")
        return cls(
            get_int(data, "limit"),
            Backoff.from_json(backoff) if backoff is not None else None,
            get_bool(data, "refresh"),
        )


DEFAULT_AUTOMATED_RETRY: Final = RetryStrategy(limit=5)
"""What an automated sync retries with when the Application sets no ``syncPolicy.retry``."""


@dataclass(frozen=True)
class OperationInitiator:
    username: str = ""
    automated: bool = False

    def to_json(self) -> JsonObject:
        data: JsonObject = {"username": self.username} if self.username else {}
        return data | ({"automated": True} if self.automated else {})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OperationInitiator:
        return cls(get_str(data, "username"), get_bool(data, "automated"))


@dataclass(frozen=True)
class Info:
    name: str
    value: str

    def to_json(self) -> JsonObject:
        return {"name": self.name, "value": self.value}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Info:
        return cls(get_str(data, "name"), get_str(data, "value"))


@dataclass(frozen=True)
class Operation:
    """A requested operation; Tiphys, like the engine, only knows sync operations."""

    sync: SyncOperation | None = None
    initiated_by: OperationInitiator = field(default_factory=OperationInitiator)
    info: tuple[Info, ...] = ()
    retry: RetryStrategy = field(default_factory=RetryStrategy)

    def to_json(self) -> JsonObject:
        data: JsonObject = {"sync": self.sync.to_json()} if self.sync is not None else {}
        data["initiatedBy"] = self.initiated_by.to_json()  # Go never omits a struct field
        if self.info:
            data["info"] = [i.to_json() for i in self.info]
        data["retry"] = self.retry.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Operation:
        sync = get_object(data, "sync")
        initiated_by = get_object(data, "initiatedBy")
        retry = get_object(data, "retry")
        return cls(
            sync=SyncOperation.from_json(sync) if sync is not None else None,
            initiated_by=OperationInitiator.from_json(initiated_by)
            if initiated_by is not None
            else OperationInitiator(),
            info=tuple(Info.from_json(i) for i in get_list(data, "info")),
            retry=RetryStrategy.from_json(retry) if retry is not None else RetryStrategy(),
        )
