"""Running one (phase, wave) and ending an operation: ``runTasks``, ``executeSyncFailPhase`` (spec §4.8, §4.9).

Inside a step the order is Argo CD's: hook finalizers off existing hooks, then prunes, then
BeforeHookCreation deletions, then applies in groups of consecutive tasks of one kind (each group
concurrently, groups one after another, a failed group does not stop the next). A failed prune or
deletion stops the step before any apply; a deletion that succeeded makes the step *pending*: the
hook is created in a later step, once its old object is gone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import IntEnum
from functools import partial
from itertools import groupby
from typing import TYPE_CHECKING

from . import diff, messages
from ._book import Book, Snapshot, deleting, has_hook_finalizer
from .actions import Action, Gate, Outcome, Purpose, Stage
from .annotations import SYNC_OPTIONS, option_value
from .hooks import delete_policies
from .ordering import first_step
from .tasks import SyncTask
from .types import HookDeletePolicy, OperationPhase, ResultCode, SyncOption

if TYPE_CHECKING:
    from .step import Step

__all__ = [
    "Gate",
    "deleting",
    "dry_run_actions",
    "followed_by",
    "out_of_sync_only",
    "run_step",
    "stages_of",
    "sync_fail_phase",
    "waiting",
]


class RunState(IntEnum):
    """gitops-engine's tri-state ``runState``; combining keeps the worst (failed is sticky)."""

    SUCCESSFUL = 0
    PENDING = 1
    FAILED = 2


def stages_of(*groups: Sequence[Action]) -> list[Stage]:
    return [Stage(tuple(group)) for group in groups if group]


def out_of_sync_only(book: Book, tasks: list[SyncTask]) -> list[SyncTask]:
    """``ApplyOutOfSyncOnly=true``: resources whose live object already matches are left out; hooks stay."""
    if not book.sync.has_option(SyncOption.APPLY_OUT_OF_SYNC_ONLY.option("true")):
        return tasks
    ignore = book.world.ignore_differences
    return [
        t
        for t in tasks
        if t.is_hook or t.target is None or t.live is None or diff.compare(t.target, t.live, ignore=ignore).modified
    ]


def _prune_option(book: Book, task: SyncTask) -> str | None:
    """``Prune=`` on the live object, else the application's default."""
    assert task.live is not None
    own = option_value(task.live, SYNC_OPTIONS, SyncOption.PRUNE.value)
    return own if own is not None else book.sync.option_value(SyncOption.PRUNE.value)


def _awaiting_confirmation(book: Book, prunes: Sequence[SyncTask]) -> list[SyncTask]:
    if book.world.prune_confirmed:
        return []
    return [t for t in prunes if _prune_option(book, t) == "confirm"]


def _prune_without_call(book: Book, task: SyncTask, *, dry_run: bool) -> tuple[ResultCode, str] | None:
    """The result of a prune that needs no API call, or None when the object must be deleted."""
    if not book.sync.prune:
        return ResultCode.PRUNE_SKIPPED, messages.prune_skipped_requires_pruning()
    if _prune_option(book, task) == "false":
        return ResultCode.PRUNE_SKIPPED, messages.prune_skipped_no_prune()
    if dry_run:
        return ResultCode.PRUNED, messages.pruned(dry_run=True)
    if deleting(task):
        return ResultCode.PRUNED, messages.pruned()
    return None


def dry_run_actions(book: Book, tasks: Sequence[SyncTask]) -> list[Action]:
    """The first step's dry-run of every task (§4.2); prunes and skipped kinds need no call."""
    prunes = [t for t in tasks if t.is_prune]
    if _awaiting_confirmation(book, prunes):
        return []  # Argo CD's dry-run silently ends here (gotcha 23)
    for task in prunes:
        code, message = _prune_without_call(book, task, dry_run=True) or (ResultCode.PRUNED, "")
        if book.dry_run:
            book.record(task, code, code.operation_phase, message)
    actions: list[Action] = []
    for task in tasks:
        if task.is_prune:
            continue
        if task.skip_dry_run:
            if book.dry_run:  # Argo CD would leave these pending forever; say why they were not checked
                verb = "skipped, its kind is created by this sync"
                text = messages.applied(group=task.group, kind=task.kind, name=task.name, verb=verb, dry_run=True)
                book.record(task, ResultCode.SYNCED, OperationPhase.SUCCEEDED, text)
            continue
        action = book.apply(Purpose.DRY_RUN, task, dry_run=True)
        if (
            task.is_hook
            and task.live is not None
            and HookDeletePolicy.BEFORE_HOOK_CREATION in delete_policies(task.obj)
        ):
            # The live hook of an earlier sync is deleted before this one is created: check the
            # manifest as a new object, not as a patch of one that may have immutable fields.
            action = replace(action, options=replace(action.options, as_new=True))
        actions.append(action)
    return actions


def sync_fail_phase(
    book: Book, sync_fail: Sequence[SyncTask], failed: Sequence[SyncTask], base: str
) -> tuple[bool, list[Action]]:
    """``executeSyncFailPhase`` (ACGE): True when the operation is over, else the SyncFail hooks to start."""
    reasons = [t.message for t in book.current(failed)]
    sync_fail = book.current(sync_fail)
    if not sync_fail:
        book.phase(OperationPhase.FAILED, messages.operation_failed(base, reasons=reasons))
        return True, []
    if all(t.completed for t in sync_fail):
        apply_failed = [t.message for t in sync_fail if t.sync_status is ResultCode.SYNC_FAILED]
        book.phase(
            OperationPhase.FAILED,
            messages.operation_failed(base, reasons=reasons, sync_fail_reasons=apply_failed),
        )
        return True, []
    start = [t for t in sync_fail if not t.completed and not t.running]
    book.phase(OperationPhase.RUNNING, messages.waiting_for(start))
    return False, [book.apply(Purpose.SYNC_FAIL, t) for t in start]


def _record_only(
    snapshot: Snapshot,
    stages: Sequence[Stage],
    waiting_for: Sequence[SyncTask],
    wake_at: datetime | None,
    outcomes: Mapping[int, Outcome],
) -> Step:
    from .step import Step

    book = Book.thaw(snapshot)
    book.fold_all([a for stage in stages for a in stage.actions], outcomes)
    return Step(book.state, tasks=tuple(book.tasks), waiting_for=tuple(book.current(waiting_for)), wake_at=wake_at)


def followed_by(
    book: Book,
    stages: Sequence[Stage],
    *,
    waiting_for: Sequence[SyncTask] = (),
    wake_at: datetime | None = None,
) -> Step:
    """A step whose actions (if any) only need their outcomes recorded."""
    from .step import Step

    kept = tuple(stage for stage in stages if stage.actions)
    snapshot = book.freeze()
    resume = partial(_record_only, snapshot, kept, tuple(waiting_for), wake_at) if kept else None
    return Step(book.state, kept, tuple(book.tasks), tuple(waiting_for), wake_at, resume)


def waiting(book: Book, before: Sequence[Stage], tasks: Sequence[SyncTask], wake_at: datetime | None) -> Step:
    return followed_by(book, before, waiting_for=tasks, wake_at=wake_at)


@dataclass(frozen=True)
class _Run:
    """What the resume of a run step needs besides the book."""

    before: tuple[Stage, ...]
    pre_release: tuple[Action, ...]
    prunes: tuple[Action, ...]
    deletions: tuple[Action, ...]
    applies: tuple[Action, ...]
    step: tuple[SyncTask, ...]
    remaining: bool
    sync_fail: tuple[SyncTask, ...]
    on_success: tuple[SyncTask, ...]
    on_failure: tuple[SyncTask, ...]
    state: RunState  # what is known before any call: pending when waiting for a confirmation or a deletion
    awaiting_confirmation: tuple[SyncTask, ...]


def run_step(
    book: Book,
    pending: Sequence[SyncTask],
    before: Sequence[Stage],
    *,
    sync_fail: Sequence[SyncTask],
    on_success: Sequence[SyncTask],
    on_failure: Sequence[SyncTask],
) -> Step:
    """§4.9: run the first (phase, wave) of the pending tasks."""
    from .step import Step

    step, rest = first_step(list(pending))
    remaining = bool(rest) or any(t.is_hook for t in step)
    book.phase(OperationPhase.RUNNING, messages.tasks_running())
    prunes = [t for t in step if t.is_prune]
    creates = [t for t in step if not t.is_prune]
    dry_run = book.dry_run

    pre_release = [
        book.release(Purpose.PRE_RELEASE, t)
        for t in creates
        if not dry_run and t.is_hook and t.pending and has_hook_finalizer(t)
    ]
    confirm = _awaiting_confirmation(book, prunes)
    state = RunState.PENDING if confirm else RunState.SUCCESSFUL
    prune_actions: list[Action] = []
    deletions: list[Action] = []
    applies: list[list[Action]] = []
    if not confirm:
        for task in prunes:
            known = _prune_without_call(book, task, dry_run=dry_run)
            if known is not None:
                book.record(task, known[0], known[0].operation_phase, known[1])
            else:
                prune_actions.append(book.delete(Purpose.PRUNE, task))
        candidates = [t for t in creates if t.delete_before_creation and not dry_run]
        deletions = [book.delete(Purpose.DELETE_BEFORE_CREATION, t) for t in candidates if not deleting(t)]
        if any(deleting(t) for t in candidates):
            state = RunState.PENDING
        else:
            for _, group in groupby(creates, key=lambda t: t.kind):
                applies.append([book.apply(Purpose.APPLY, t) for t in group])
    stages = [
        *before,
        Stage(tuple(pre_release), Gate.ALL_OK),
        Stage(tuple(prune_actions), Gate.ALL_OK),
        Stage(tuple(deletions), Gate.ALL_GONE),
        *(Stage(tuple(group)) for group in applies),
    ]
    stages = [stage for stage in stages if stage.actions]
    run = _Run(
        before=tuple(before),
        pre_release=tuple(pre_release),
        prunes=tuple(prune_actions),
        deletions=tuple(deletions),
        applies=tuple(a for group in applies for a in group),
        step=tuple(step),
        remaining=remaining,
        sync_fail=tuple(sync_fail),
        on_success=tuple(on_success),
        on_failure=tuple(on_failure),
        state=state,
        awaiting_confirmation=tuple(confirm),
    )
    resume = partial(_after_run, book.freeze(), run)
    if not stages:
        return resume({})
    return Step(book.state, tuple(stages), tuple(book.tasks), resume=resume)


def _after_run(snapshot: Snapshot, run: _Run, outcomes: Mapping[int, Outcome]) -> Step:
    book = Book.thaw(snapshot)
    book.fold_all([a for stage in run.before for a in stage.actions], outcomes)
    state = run.state
    for group in (run.pre_release, run.prunes, run.deletions, run.applies):
        for action in group:
            outcome = outcomes.get(action.id)
            if outcome is None:
                continue
            book.fold(action, outcome)
            if not outcome.ok:
                state = RunState.FAILED
            elif action.purpose is Purpose.DELETE_BEFORE_CREATION:
                if outcome.gone:
                    book.set_live(book.task(action.task), None)
                else:
                    state = max(state, RunState.PENDING)
    step = book.current(run.step)

    if state is RunState.FAILED:
        running = [t for t in step if t.running]
        apply_failed = [t for t in step if t.sync_status is ResultCode.SYNC_FAILED]
        if running:
            wait = list(running)
            started: list[Action] = []
            if run.sync_fail:
                done, started = sync_fail_phase(book, run.sync_fail, apply_failed, messages.failed_to_apply())
                if not done:
                    wait += [book.task(a.task) for a in started]
            book.phase(OperationPhase.RUNNING, messages.waiting_for(wait))
            return followed_by(book, [Stage(tuple(started))], waiting_for=wait)
        done, started = sync_fail_phase(book, run.sync_fail, apply_failed, messages.failed_to_apply())
        cleanup = [book.delete(Purpose.DELETE_HOOK, t) for t in run.on_failure] if done else []
        return followed_by(book, [Stage(tuple(cleanup)), Stage(tuple(started))])
    if state is RunState.SUCCESSFUL:
        if not run.remaining:
            book.phase(OperationPhase.SUCCEEDED, messages.synced_all_tasks_run())
            cleanup = [book.delete(Purpose.DELETE_HOOK, t) for t in run.on_success]
            return followed_by(book, [Stage(tuple(cleanup))])
        book.phase(OperationPhase.RUNNING, messages.waiting_for(step))
        return followed_by(book, [], waiting_for=step)
    blocked = [t for t in step if t.delete_before_creation or (t.is_prune and t.pending)]
    text = messages.waiting_for(blocked, pending_deletion=True, awaiting_prune_confirmation=run.awaiting_confirmation)
    book.phase(OperationPhase.RUNNING, text)
    return followed_by(book, [], waiting_for=blocked)
