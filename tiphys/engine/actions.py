"""What a step asks a driver to do, and what the driver reports back (STYLE convention 7).

A step returns ``Stage``s of ``Action``s: the actions of one stage run concurrently, the stages in
order, and a stage's ``gate`` says whether the next one runs at all (gitops-engine's ``runTasks``
stops after a failed prune, and after a BeforeHookCreation deletion that has to be waited for).
Each action names the task (by result key) whose result its outcome feeds and why it is done
(``Purpose``), so ``settle`` can fold the outcomes back without any I/O.

An ``Outcome`` is in-memory only and may hold the exception; persisted results hold its message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from . import objects
from .objects import KubeObject

__all__ = [
    "Action",
    "Apply",
    "ApplyOptions",
    "Delete",
    "FetchLogs",
    "Gate",
    "ObjectRef",
    "Outcome",
    "Purpose",
    "ReleaseFinalizer",
    "Stage",
    "proceeds",
]


class Purpose(StrEnum):
    """Why an action is taken: it decides how its outcome is recorded."""

    NAMESPACE = "namespace"  # first step: the destination namespace, created before the dry-run (§4.2)
    DRY_RUN = "dry-run"  # first step: every task applied in dry-run (§4.2)
    RELEASE = "release"  # the hook finalizer off a completed hook (§4.6)
    LOGS = "logs"  # the tail of a failed hook's log (Tiphys)
    TIMEOUT = "timeout"  # a hook that ran past tiphys.io/hook-timeout is deleted (Tiphys)
    PRE_RELEASE = "pre-release"  # the hook finalizer off an existing hook about to be re-created (§4.9 a)
    PRUNE = "prune"  # §4.9 b
    DELETE_BEFORE_CREATION = "delete-before-creation"  # §4.9 c
    APPLY = "apply"  # §4.9 d
    SYNC_FAIL = "sync-fail"  # a SyncFail hook started (§4.8)
    DELETE_HOOK = "delete-hook"  # HookSucceeded/HookFailed deletions at the end (§8.2)
    TERMINATE = "terminate"  # a running hook deleted by termination (§7.3)


@dataclass(frozen=True)
class ObjectRef:
    api_version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: KubeObject) -> ObjectRef:
        return cls(objects.api_version(obj), objects.kind(obj), objects.namespace(obj), objects.name(obj))

    def __str__(self) -> str:
        group = self.api_version.rpartition("/")[0]
        return f"{group}/{self.kind}/{self.namespace}/{self.name}"


@dataclass(frozen=True)
class ApplyOptions:
    dry_run: bool = False
    replace: bool = False  # Replace=true: create, or replace (PUT) the live object
    force: bool = False  # Force=true: delete and re-create when an update is refused
    server_side: bool = False  # ServerSideApply=true, as field manager argocd-controller
    validate: bool = True  # Validate=false: unknown fields are ignored instead of refused
    namespace_pending: bool = False  # the object's namespace is created by this sync (dry-run only)
    csa_migration: bool = True  # with server_side: hand kubectl-client-side-apply's fields over first
    as_new: bool = False  # dry-run as a create: the live hook is deleted before it is (BeforeHookCreation)


@dataclass(frozen=True)
class Apply:
    id: int
    purpose: Purpose
    task: str  # the result key the outcome is recorded under
    obj: KubeObject = field(repr=False)
    live: KubeObject | None = field(default=None, repr=False)  # what the plan saw; the driver may re-read
    options: ApplyOptions = ApplyOptions()

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef.of(self.obj)


@dataclass(frozen=True)
class Delete:
    id: int
    purpose: Purpose
    task: str
    ref: ObjectRef
    propagation: str = "Foreground"  # PrunePropagationPolicy, for prunes and hook deletions alike
    release_finalizer: bool = False  # remove the hook finalizer first (termination, timeouts)


@dataclass(frozen=True)
class ReleaseFinalizer:
    """Remove ``argocd.argoproj.io/hook-finalizer`` (re-reading on conflict; a vanished object is fine)."""

    id: int
    purpose: Purpose
    task: str
    ref: ObjectRef


@dataclass(frozen=True)
class FetchLogs:
    """The last lines of the failing container of a hook Job or Pod, with these values masked."""

    id: int
    purpose: Purpose
    task: str
    ref: ObjectRef
    mask: tuple[str, ...] = field(default=(), repr=False)


Action = Apply | Delete | ReleaseFinalizer | FetchLogs


class Gate(StrEnum):
    """Whether the stage after this one runs."""

    ALWAYS = "always"
    ALL_OK = "all-ok"  # only if nothing here failed (a vanished object is not a failure)
    ALL_GONE = "all-gone"  # only if every deletion here found nothing left to delete


@dataclass(frozen=True)
class Stage:
    actions: tuple[Action, ...]
    gate: Gate = Gate.ALWAYS


@dataclass(frozen=True)
class Outcome:
    """What happened to one action: the message is kubectl's line, the error text or the log tail."""

    ok: bool
    message: str = ""
    gone: bool = False  # the object was not there (NotFound)
    live: Mapping[str, Any] | None = field(default=None, repr=False)  # the object as the server returned it
    error: BaseException | None = field(default=None, repr=False, compare=False)

    @classmethod
    def done(cls, message: str = "", *, live: Mapping[str, Any] | None = None) -> Outcome:
        return cls(True, message, live=live)

    @classmethod
    def not_found(cls, message: str = "") -> Outcome:
        return cls(True, message, gone=True)

    @classmethod
    def failed(cls, message: str, error: BaseException | None = None) -> Outcome:
        return cls(False, message, error=error)


def proceeds(stage: Stage, outcomes: Mapping[int, Outcome]) -> bool:
    """Whether the stage after ``stage`` runs, given the outcomes of its actions."""
    results: Sequence[Outcome | None] = [outcomes.get(action.id) for action in stage.actions]
    if stage.gate is Gate.ALL_OK:
        return all(o is not None and o.ok for o in results)
    if stage.gate is Gate.ALL_GONE:
        return all(o is not None and o.ok and o.gone for o in results)
    return True
