"""The re-entrant sync step: ``decide`` what to do next, ``settle`` what the driver reports (spec §4, §7).

Contract (gitops-engine's ``Sync()``, split at every I/O): ``decide(state, world, now=…)`` rebuilds
every task from the operation state and the world, then returns a ``Step``: the state to record,
the ``stages`` of actions to run (none when it only waits), what it waits for and when to wake
up without an event. A driver runs the stages (``actions.proceeds`` says when to stop early),
then calls ``settle(step, outcomes)``, which folds the outcomes in and may return another step
with more stages (SyncFail hooks after a failed apply, hook deletions at the end); it repeats
until a step has no stages, records ``step.state``, and calls ``decide`` again when something it
waits for changes. Nothing here performs I/O, reads the clock, sleeps or loops over time.

Termination (``Terminating`` phase, §7.3), the operation timeout (``timeout``) and the per-hook
``tiphys.io/hook-timeout`` are decided here too, from ``now``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial

from . import _run, hooks, messages, objects
from ._book import Book, Snapshot, deleting, has_hook_finalizer
from ._wire import parse_time, require_aware
from .actions import Action, Apply, Gate, Outcome, Purpose, Stage
from .lint import annotation_warnings
from .ordering import is_multi_step
from .plan import build_plan
from .progress import hook_progress, resource_progress
from .results import OperationState, SyncResult
from .tasks import SyncTask
from .terminate import terminate
from .tracking import created_by, operation_mark
from .types import OperationPhase, ResultCode, SyncPhase
from .world import World

__all__ = ["Preflight", "Step", "decide", "preflight", "revision_warnings", "settle"]

Resume = Callable[[Mapping[int, Outcome]], "Step"]


@dataclass(frozen=True)
class Step:
    """One decision: the state to record, the actions to run, and what to wait for afterwards."""

    state: OperationState
    stages: tuple[Stage, ...] = ()
    tasks: tuple[SyncTask, ...] = ()
    """Every task of the operation as this step saw it, in order (what a progress view shows)."""
    waiting_for: tuple[SyncTask, ...] = ()
    wake_at: datetime | None = None
    """Decide again at this time even without an event (a hook or operation timeout)."""
    resume: Resume | None = field(default=None, repr=False, compare=False)

    @property
    def actions(self) -> tuple[Action, ...]:
        return tuple(action for stage in self.stages for action in stage.actions)

    @property
    def completed(self) -> bool:
        return self.state.completed and not self.stages


def revision_warnings(world: World, *, extra: Sequence[str] = ()) -> tuple[str, ...]:
    """What Argo CD would tolerate silently in the desired objects (and ``extra``), said out loud."""
    found = [*extra, *(str(w) for obj in world.desired for w in annotation_warnings(obj))]
    return tuple(dict.fromkeys(found))


def settle(step: Step, outcomes: Mapping[int, Outcome]) -> Step:
    """The step after its actions ran; ``outcomes`` by action id, missing for actions not run."""
    return step.resume(outcomes) if step.resume is not None else step


def decide(state: OperationState, world: World, *, now: datetime, timeout: timedelta | None = None) -> Step:
    """What the operation does next in ``world`` at ``now``; ``timeout`` bounds the whole operation."""
    require_aware(now, "now")
    if state.completed:
        return Step(state)
    if state.sync_result is None:
        state = replace(state, sync_result=SyncResult(revision=world.revision, warnings=revision_warnings(world)))
    expired = timeout is not None and now >= state.started_at + timeout
    if expired and state.phase is OperationPhase.RUNNING:
        state = replace(state, phase=OperationPhase.TERMINATING, message=messages.terminating_due_to_timeout())
    if state.phase is OperationPhase.TERMINATING:
        cause = messages.sync_timeout_cause(timeout) if expired and timeout is not None else None
        return terminate(state, world, now=now, cause=cause)

    plan = build_plan(state, world)
    book = Book(state, world, plan, now=now)
    if not plan.valid:
        book.phase(OperationPhase.FAILED, messages.tasks_not_valid(plan.invalid))
        return Step(book.state, tasks=tuple(book.tasks))
    if not book.state.started:
        return _prepare(book, timeout)
    return _advance(book, timeout)


# -- the first step: the destination namespace, then a dry-run of everything (§4.2) --------------


def _namespace_task(book: Book) -> SyncTask | None:
    """A Namespace named like the destination that does not exist yet: created before the dry-run."""
    return next(
        (
            t
            for t in book.tasks
            if t.live is None
            and t.target is not None
            and objects.kind(t.target) == "Namespace"
            and objects.api_group(t.target) == ""
            and t.name == book.world.namespace
        ),
        None,
    )


@dataclass(frozen=True)
class Preflight:
    """What the first step of an operation would check, for validating a revision before any write."""

    invalid: tuple[str, ...]
    dry_runs: tuple[Apply, ...]
    tasks: tuple[SyncTask, ...]


def preflight(state: OperationState, world: World) -> Preflight:
    """The dry-run applies the first step would send in ``world`` (nothing is recorded anywhere)."""
    fresh = replace(state, sync_result=SyncResult(revision=world.revision), phase=OperationPhase.RUNNING)
    plan = build_plan(fresh, world)
    book = Book(fresh, world, plan, now=state.started_at)
    namespace_task = _namespace_task(book)
    dry = _run.out_of_sync_only(book, [t for t in book.tasks if t is not namespace_task])
    actions = [a for a in _run.dry_run_actions(book, dry) if isinstance(a, Apply)]
    rules = [f"ignoreDifferences: {p}" for rule in world.ignore_differences for p in rule.problems()]
    return Preflight((*plan.invalid, *rules), tuple(actions), plan.tasks)


def _prepare(book: Book, timeout: timedelta | None) -> Step:
    namespace_task = _namespace_task(book)
    stages = []
    if namespace_task is not None:
        stages.append(Stage((book.apply(Purpose.NAMESPACE, namespace_task),), Gate.ALL_OK))
    dry = [t for t in book.tasks if t is not namespace_task]
    dry_actions = _run.dry_run_actions(book, _run.out_of_sync_only(book, dry))
    if dry_actions:
        stages.append(Stage(tuple(dry_actions)))
    snapshot = book.freeze()
    if not stages:
        return _after_prepare(snapshot, (), timeout, {})
    resume = partial(_after_prepare, snapshot, tuple(stages), timeout)
    return Step(book.state, tuple(stages), tuple(book.tasks), resume=resume)


def _after_prepare(
    snapshot: Snapshot, stages: Sequence[Stage], timeout: timedelta | None, outcomes: Mapping[int, Outcome]
) -> Step:
    book = Book.thaw(snapshot)
    world = book.world
    actions = [action for stage in stages for action in stage.actions]
    for action in actions:
        outcome = outcomes.get(action.id)
        if action.purpose is Purpose.NAMESPACE:
            if outcome is None or not outcome.ok:
                if outcome is not None:
                    book.fold(action, outcome)
                reason = outcome.message if outcome is not None else "not applied"
                book.phase(
                    OperationPhase.FAILED,
                    messages.operation_failed(messages.namespace_failed_to_apply(), reasons=[reason]),
                )
                return Step(book.state, tasks=tuple(book.tasks))
            book.fold(action, outcome)
            if outcome.live is not None and not book.dry_run:
                world = world.with_live(outcome.live)
        elif outcome is not None:
            book.fold(action, outcome)
    if any(not o.ok for a in actions if (o := outcomes.get(a.id)) is not None):
        book.phase(OperationPhase.FAILED, messages.dry_run_failed())
        return Step(book.state, tasks=tuple(book.tasks))
    fresh = Book(book.state, world, build_plan(book.state, world), now=book.now)
    return _advance(fresh, timeout)


# -- every later step (§4.3 to §4.9) ---------------------------------------------------------------


def _adopt(book: Book) -> None:
    """Hooks this operation created without recording it (the driver died in between) are running."""
    state = book.state
    marks: dict[SyncPhase, str] = {}
    for task in book.tasks:
        if not (task.is_hook and task.pending and task.live is not None):
            continue
        mark = marks.get(task.phase)
        if mark is None:
            mark = marks[task.phase] = operation_mark(state.started_at, state.retry_count, task.phase)
        if created_by(task.live, mark):
            verb = messages.applied(group=task.group, kind=task.kind, name=task.name, verb="created")
            book.record(task, ResultCode.SYNCED, OperationPhase.RUNNING, verb)


def _age(live: Mapping[str, object], now: datetime) -> timedelta | None:
    created = objects.meta(live).get("creationTimestamp")  # type: ignore[misc]
    try:
        return now - parse_time(created) if isinstance(created, str) else None
    except ValueError:
        return None


def _refresh(book: Book, logs: list[Action], deletions: list[Action]) -> None:
    """§4.3: running tasks move on by their live object's health; Tiphys adds hook timeouts and logs."""
    overrides = book.world.health_overrides
    for task in [t for t in book.tasks if t.running and t.live is not None]:
        live = task.live
        assert live is not None
        if not task.is_hook:
            resource = resource_progress(live, overrides=overrides)
            if resource is not None:
                book.record(task, task.sync_status, resource.state, resource.message)
            continue
        progress = hook_progress(live, overrides=overrides)
        limit = hooks.hook_timeout(task.target if task.target is not None else live)
        age = _age(live, book.now)
        if progress.state is OperationPhase.RUNNING and limit is not None and age is not None and age >= limit:
            failed = book.record(task, task.sync_status, OperationPhase.FAILED, messages.hook_timed_out(limit))
            if task.kind in ("Job", "Pod"):
                logs.append(book.fetch_logs(failed))
            deletions.append(book.delete(Purpose.TIMEOUT, failed, release_finalizer=True))
            continue
        updated = book.record(task, task.sync_status, progress.state, progress.message)
        if updated.operation_state is OperationPhase.FAILED and task.kind in ("Job", "Pod"):
            logs.append(book.fetch_logs(updated))


def _wake_at(book: Book, timeout: timedelta | None) -> datetime | None:
    deadlines = [book.state.started_at + timeout] if timeout is not None else []
    for task in book.tasks:
        if task.is_hook and task.running and task.live is not None:
            limit = hooks.hook_timeout(task.target if task.target is not None else task.live)
            age = _age(task.live, book.now)
            if limit is not None and age is not None:
                deadlines.append(book.now - age + limit)
    return min(deadlines, default=None)


def _advance(book: Book, timeout: timedelta | None) -> Step:
    logs: list[Action] = []
    deletions: list[Action] = []
    _adopt(book)
    _refresh(book, logs, deletions)
    before = _run.stages_of(logs, deletions)

    multi_step = is_multi_step(book.tasks)
    waiting = [t for t in book.tasks if t.running and (t.is_hook or multi_step)]
    if waiting:  # §4.4
        for task in waiting:
            if task.live is None:
                message = messages.resource_missing(task.group, task.kind, task.name)
                book.record(task, ResultCode.SYNC_FAILED, OperationPhase.ERROR, message)
        book.phase(OperationPhase.RUNNING, messages.waiting_for(waiting))
        return _run.waiting(book, before, waiting, _wake_at(book, timeout))

    pending_deletion = [t for t in book.tasks if t.pruned and t.live is not None and deleting(t)]
    if pending_deletion:  # §4.5
        book.phase(OperationPhase.RUNNING, messages.waiting_for(pending_deletion, pending_deletion=True))
        return _run.waiting(book, before, pending_deletion, _wake_at(book, timeout))

    releases = [  # §4.6
        book.release(Purpose.RELEASE, t) for t in book.tasks if t.is_hook and t.completed and has_hook_finalizer(t)
    ]
    before = _run.stages_of([*releases, *logs], deletions)
    on_success = [t for t in book.tasks if t.is_hook and not t.running and t.delete_on_success]  # §4.7
    on_failure = [t for t in book.tasks if t.is_hook and not t.running and t.delete_on_failure]

    sync_fail = [t for t in book.tasks if t.phase is SyncPhase.SYNC_FAIL]  # §4.8
    tasks = [t for t in book.tasks if t.phase is not SyncPhase.SYNC_FAIL]
    if any(t.completed and not t.successful for t in tasks):
        apply_failed = [t for t in tasks if t.sync_status is ResultCode.SYNC_FAILED]
        cleanup = [book.delete(Purpose.DELETE_HOOK, t) for t in on_failure]
        _, started = _run.sync_fail_phase(book, sync_fail, apply_failed, messages.completed_unsuccessfully())
        return _run.followed_by(book, [*before, Stage(tuple(cleanup)), Stage(tuple(started))])

    pending = _run.out_of_sync_only(book, [t for t in tasks if t.pending])  # §4.9
    if not pending:
        book.phase(OperationPhase.SUCCEEDED, messages.synced_no_more_tasks())
        cleanup = [book.delete(Purpose.DELETE_HOOK, t) for t in on_success]
        return _run.followed_by(book, [*before, Stage(tuple(cleanup))])
    return _run.run_step(book, pending, before, sync_fail=sync_fail, on_success=on_success, on_failure=on_failure)
