"""The bookkeeping of one step while it is decided: tasks, results, actions and how outcomes are recorded.

A ``Book`` is mutable but private to one pure call: ``decide`` fills one, and a step that waits
for outcomes keeps a frozen ``Snapshot`` of it, from which ``settle`` builds a fresh one. Results
follow Argo CD's ``setResourceResult`` (§4.10): the task and the persisted result change together,
and a message is replaced only by a non-empty one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from . import hooks, messages, objects
from .actions import Action, Apply, ApplyOptions, Delete, FetchLogs, ObjectRef, Outcome, Purpose, ReleaseFinalizer
from .annotations import SYNC_OPTIONS, csv_items
from .objects import KubeObject
from .operation import SyncOperation
from .plan import Plan
from .results import OperationState, ResourceResult, SyncResult
from .tasks import SyncTask
from .types import OperationPhase, ResultCode, SyncOption
from .world import World

__all__ = ["Book", "Snapshot"]

_PROPAGATION = {"foreground": "Foreground", "background": "Background", "orphan": "Orphan"}
_REPLACE = SyncOption.REPLACE.option("true")
_FORCE = SyncOption.FORCE.option("true")
_SSA = SyncOption.SERVER_SIDE_APPLY.option("true")
_SSA_OFF = SyncOption.SERVER_SIDE_APPLY.option("false")
_VALIDATE_OFF = SyncOption.VALIDATE.option("false")
_CSA_MIGRATION_OFF = SyncOption.CLIENT_SIDE_APPLY_MIGRATION.option("false")


def _sync_options(obj: KubeObject | None) -> tuple[str, ...]:
    """The object's ``sync-options`` annotation items; none for a missing object."""
    text = objects.annotations_of(obj).get(SYNC_OPTIONS) if obj is not None else None
    return csv_items(text) if text else ()


@dataclass(frozen=True)
class Snapshot:
    state: OperationState
    world: World
    plan: Plan
    tasks: tuple[SyncTask, ...]
    now: datetime
    next_id: int


class Book:
    _tasks: list[SyncTask]
    _index: dict[str, int]
    _base: OperationState
    _results: dict[str, ResourceResult]
    _dirty: bool

    def __init__(self, state: OperationState, world: World, plan: Plan, *, now: datetime) -> None:
        self.world = world
        self.plan = plan
        self.now = now
        self.state = replace(state, sync_result=plan.results)
        self.tasks = list(plan.tasks)
        self._ids = itertools.count()

    # Tasks and results are indexed by result key: a step over thousands of objects stays linear.

    @property
    def tasks(self) -> list[SyncTask]:
        return self._tasks

    @tasks.setter
    def tasks(self, tasks: list[SyncTask]) -> None:
        self._tasks = tasks
        self._index = {t.result_key: i for i, t in enumerate(tasks)}

    @property
    def state(self) -> OperationState:
        if self._dirty:
            result = self._base.sync_result or SyncResult()
            self._base = replace(self._base, sync_result=replace(result, resources=tuple(self._results.values())))
            self._dirty = False
        return self._base

    @state.setter
    def state(self, state: OperationState) -> None:
        self._base = state
        self._results = {r.key: r for r in (state.results)}
        self._dirty = False

    @classmethod
    def thaw(cls, snapshot: Snapshot) -> Book:
        book = cls(snapshot.state, snapshot.world, snapshot.plan, now=snapshot.now)
        book.state = snapshot.state  # with everything recorded since the plan was built
        book.tasks = list(snapshot.tasks)
        book._ids = itertools.count(snapshot.next_id)
        return book

    def freeze(self) -> Snapshot:
        next_id = next(self._ids)
        self._ids = itertools.count(next_id)
        return Snapshot(self.state, self.world, self.plan, tuple(self.tasks), self.now, next_id)

    @property
    def sync(self) -> SyncOperation:
        return self.state.operation.sync or SyncOperation()

    @property
    def dry_run(self) -> bool:
        return self.sync.dry_run

    def task(self, key: str) -> SyncTask:
        return self._tasks[self._index[key]]

    def current(self, tasks: Iterable[SyncTask]) -> list[SyncTask]:
        """The latest version of each of ``tasks`` (results recorded since change them)."""
        return [self.task(t.result_key) for t in tasks]

    # -- results ------------------------------------------------------------------------------

    def record(
        self,
        task: SyncTask,
        status: ResultCode | None,
        state: OperationPhase | None,
        message: str = "",
        *,
        logs: str = "",
    ) -> SyncTask:
        """``setResourceResult``: the task and its persisted result change together (§4.10)."""
        key = task.result_key
        position = self._index[key]
        updated = self._tasks[position].with_result(status, state, message)
        self._tasks[position] = updated
        existing = self._results.get(key)
        if existing is None:
            self._results[key] = updated.to_result(logs=logs)
        else:
            self._results[key] = replace(
                existing,
                status=status,
                hook_phase=state,
                message=message or existing.message,
                logs=logs or existing.logs,
            )
        self._dirty = True
        return updated

    def set_live(self, task: SyncTask, live: Mapping[str, object] | None) -> None:
        position = self._index[task.result_key]
        self._tasks[position] = replace(self._tasks[position], live=live)

    def phase(self, phase: OperationPhase, message: str) -> OperationState:
        finished = self.now.replace(microsecond=0) if phase.completed else None
        self.state = replace(self.state, phase=phase, message=message, finished_at=finished)
        return self.state

    # -- actions ------------------------------------------------------------------------------

    def options(self, task: SyncTask, *, dry_run: bool) -> ApplyOptions:
        """Apply selection per task (``applyObject``, spec §11)."""
        sync = self.sync
        dry_run = dry_run or self.dry_run
        target = _sync_options(task.target)
        either = (*target, *_sync_options(task.live))
        return ApplyOptions(
            dry_run=dry_run,
            replace=_REPLACE in sync.sync_options or _REPLACE in either,
            force=sync.force or _FORCE in either,
            server_side=not dry_run and _SSA_OFF not in target and (_SSA in sync.sync_options or _SSA in target),
            validate=_VALIDATE_OFF not in sync.sync_options and _VALIDATE_OFF not in target,
            namespace_pending=dry_run and task.namespace in self.plan.pending_namespaces,
            csa_migration=_CSA_MIGRATION_OFF not in sync.sync_options and _CSA_MIGRATION_OFF not in either,
        )

    @property
    def propagation(self) -> str:
        chosen = self.sync.option_value(SyncOption.PRUNE_PROPAGATION_POLICY.value) or "foreground"
        return _PROPAGATION.get(chosen.lower(), "Foreground")

    def apply(self, purpose: Purpose, task: SyncTask, *, dry_run: bool = False) -> Apply:
        assert task.target is not None
        options = self.options(task, dry_run=dry_run)
        return Apply(next(self._ids), purpose, task.result_key, task.target, task.live, options)

    def delete(self, purpose: Purpose, task: SyncTask, *, release_finalizer: bool = False) -> Delete:
        assert task.live is not None
        ref = ObjectRef.of(task.live)
        return Delete(next(self._ids), purpose, task.result_key, ref, self.propagation, release_finalizer)

    def release(self, purpose: Purpose, task: SyncTask) -> ReleaseFinalizer:
        assert task.live is not None
        return ReleaseFinalizer(next(self._ids), purpose, task.result_key, ObjectRef.of(task.live))

    def fetch_logs(self, task: SyncTask) -> FetchLogs:
        assert task.live is not None
        return FetchLogs(next(self._ids), Purpose.LOGS, task.result_key, ObjectRef.of(task.live), self.plan.secrets)

    # -- outcomes -----------------------------------------------------------------------------

    def fold(self, action: Action, outcome: Outcome) -> None:
        """Record one outcome the way its purpose asks (gitops-engine's ``runTasks`` and friends)."""
        task = self.task(action.task)
        purpose = action.purpose
        if purpose in (Purpose.NAMESPACE, Purpose.APPLY, Purpose.SYNC_FAIL, Purpose.DRY_RUN):
            if not outcome.ok:
                self.record(task, ResultCode.SYNC_FAILED, OperationPhase.FAILED, outcome.message)
            elif purpose is not Purpose.DRY_RUN or self.dry_run:
                state = OperationPhase.SUCCEEDED if self.dry_run else OperationPhase.RUNNING
                self.record(task, ResultCode.SYNCED, state, outcome.message)
                if outcome.live is not None and not self.dry_run:
                    self.set_live(task, outcome.live)
        elif purpose is Purpose.PRUNE:
            if outcome.ok:
                self.record(task, ResultCode.PRUNED, OperationPhase.SUCCEEDED, messages.pruned())
            else:
                self.record(task, ResultCode.SYNC_FAILED, OperationPhase.FAILED, outcome.message)
        elif purpose in (Purpose.RELEASE, Purpose.PRE_RELEASE):
            if not outcome.ok:
                text = messages.failed_to_remove_hook_finalizer(
                    outcome.message, before_run=purpose is Purpose.PRE_RELEASE
                )
                self.record(task, task.sync_status, OperationPhase.ERROR, text)
        elif purpose in (Purpose.DELETE_BEFORE_CREATION, Purpose.DELETE_HOOK):
            if not outcome.ok:
                text = messages.failed_to_delete_resource(outcome.message)
                self.record(task, task.sync_status, OperationPhase.ERROR, text)
        elif purpose is Purpose.LOGS and outcome.ok and outcome.message:
            self.record(
                task,
                task.sync_status,
                task.operation_state,
                f"{task.message}\n{outcome.message}",
                logs=outcome.message,
            )
        # TIMEOUT: the hook was already recorded as timed out; a failed deletion changes nothing.
        # TERMINATE is folded by termination itself.

    def fold_all(self, actions: Sequence[Action], outcomes: Mapping[int, Outcome]) -> None:
        for action in actions:
            outcome = outcomes.get(action.id)
            if outcome is not None:
                self.fold(action, outcome)


def has_hook_finalizer(task: SyncTask) -> bool:
    return task.live is not None and hooks.has_hook_finalizer(task.live)


def deleting(task: SyncTask) -> bool:
    return task.live is not None and bool(objects.meta(task.live).get("deletionTimestamp"))
