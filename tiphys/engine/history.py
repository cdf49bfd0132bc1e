"""Deployment history (``status.history``, spec §13.4): one entry per successful full sync.

Argo CD appends an entry only when an operation ends Succeeded and was neither a dry-run nor a
selective sync; ids count up from the last entry (the first is 0) and the list keeps the newest
``spec.revisionHistoryLimit`` entries (default 10).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from ._wire import JsonObject, format_time, get_int, get_list, get_object, get_str, get_strs, get_time, require_aware
from .operation import OperationInitiator
from .results import OperationState
from .types import OperationPhase

__all__ = ["DEFAULT_HISTORY_LIMIT", "RevisionHistory", "append_history", "records_history"]

DEFAULT_HISTORY_LIMIT: Final = 10


@dataclass(frozen=True)
class RevisionHistory:
    id: int
    deployed_at: datetime
    revision: str = ""
    revisions: tuple[str, ...] = ()
    source: Mapping[str, Any] | None = None
    sources: tuple[Mapping[str, Any], ...] = ()
    deploy_started_at: datetime | None = None
    initiated_by: OperationInitiator = field(default_factory=OperationInitiator)

    def __post_init__(self) -> None:
        require_aware(self.deployed_at, "deployed_at")
        if self.deploy_started_at is not None:
            require_aware(self.deploy_started_at, "deploy_started_at")

    def to_json(self) -> JsonObject:
        data: JsonObject = {"revision": self.revision} if self.revision else {}
        data["deployedAt"] = format_time(self.deployed_at)
        data["id"] = self.id
        if self.source is not None:
            data["source"] = dict(self.source)
        if self.deploy_started_at is not None:
            data["deployStartedAt"] = format_time(self.deploy_started_at)
        if self.sources:
            data["sources"] = [dict(s) for s in self.sources]
        if self.revisions:
            data["revisions"] = list(self.revisions)
        data["initiatedBy"] = self.initiated_by.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RevisionHistory:
        deployed_at = get_time(data, "deployedAt")
        if deployed_at is None:
            raise ValueError("history entry needs a deployedAt")
        initiated_by = get_object(data, "initiatedBy")
        return cls(
            id=get_int(data, "id"),
            deployed_at=deployed_at,
            revision=get_str(data, "revision"),
            revisions=get_strs(data, "revisions"),
            source=get_object(data, "source"),
            sources=tuple(s for s in get_list(data, "sources") if isinstance(s, Mapping)),
            deploy_started_at=get_time(data, "deployStartedAt"),
            initiated_by=OperationInitiator.from_json(initiated_by)
            if initiated_by is not None
            else OperationInitiator(),
        )


def records_history(state: OperationState) -> bool:
    """Whether this finished operation goes into the history: Succeeded, not a dry-run, not selective."""
    sync = state.operation.sync
    return state.phase is OperationPhase.SUCCEEDED and sync is not None and not sync.dry_run and not sync.selective


def append_history(
    history: Sequence[RevisionHistory],
    *,
    state: OperationState,
    now: datetime,
    limit: int | None = None,
) -> tuple[RevisionHistory, ...]:
    """The history after ``state`` finished: a new entry for its revision(s), truncated to ``limit``."""
    result = state.sync_result
    multi_source = result is not None and bool(result.sources or result.revisions)
    entry = RevisionHistory(
        id=history[-1].id + 1 if history else 0,
        deployed_at=now,
        revision="" if multi_source or result is None else result.revision,
        revisions=result.revisions if multi_source and result is not None else (),
        source=None if multi_source or result is None else result.source,
        sources=result.sources if multi_source and result is not None else (),
        deploy_started_at=state.started_at,
        initiated_by=state.operation.initiated_by,
    )
    keep = DEFAULT_HISTORY_LIMIT if limit is None else limit
    entries = (*history, entry)
    return entries[len(entries) - keep :] if keep < len(entries) else entries
