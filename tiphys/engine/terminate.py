"""Ending an operation early: ``Terminate()`` as Argo CD's current engine does it (spec §7.3).

Pending tasks never start, resources are left alone and no SyncFail hook runs. Every running
hook is looked at once more: one that finished in the meantime keeps its real result, one still
running is deleted and reported ``Failed``/``Terminated``; hooks with ``HookFailed`` are deleted
either way. The operation ends ``Failed``, ``Operation terminated`` — or ``Error`` when
something went wrong on the way. A cause (Tiphys's ``--timeout``) is appended to the message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from . import messages
from ._book import Book, Snapshot, has_hook_finalizer
from .actions import Action, Outcome, Purpose, Stage
from .plan import build_plan
from .progress import hook_progress
from .results import OperationState
from .types import HookDeletePolicy, OperationPhase
from .world import World

if TYPE_CHECKING:
    from .step import Step

__all__ = ["terminate"]


def terminate(state: OperationState, world: World, *, now: datetime, cause: str | None = None) -> Step:
    """Terminate ``state``'s operation; ``cause`` is appended as ``, triggered by <cause>``."""
    book = Book(state, world, build_plan(state, world), now=now)  # validity does not matter here
    errors = False
    actions: list[Action] = [
        book.release(Purpose.RELEASE, t) for t in book.tasks if t.is_hook and t.completed and has_hook_finalizer(t)
    ]
    for task in [t for t in book.tasks if t.is_hook and t.running]:
        if task.live is None:
            book.record(task, task.sync_status, OperationPhase.SUCCEEDED, messages.terminated())
            continue
        progress = hook_progress(task.live, overrides=world.health_overrides)
        if progress.state is OperationPhase.ERROR:
            book.record(
                task, task.sync_status, OperationPhase.ERROR, messages.failed_to_get_hook_health(progress.message)
            )
            errors, remove = True, True
        elif progress.state.completed:
            task = book.record(task, task.sync_status, progress.state, progress.message)
            remove = HookDeletePolicy.HOOK_FAILED in task.delete_policies
        else:
            task = book.record(task, task.sync_status, OperationPhase.FAILED, messages.terminated())
            remove = True
        if remove:
            actions.append(book.delete(Purpose.TERMINATE, task, release_finalizer=True))
        elif has_hook_finalizer(task):
            actions.append(book.release(Purpose.RELEASE, task))
    snapshot = book.freeze()
    resume = partial(_after, snapshot, tuple(actions), errors, cause)
    if not actions:
        return resume({})
    from .step import Step

    return Step(book.state, (Stage(tuple(actions)),), tuple(book.tasks), resume=resume)


def _after(
    snapshot: Snapshot,
    actions: Sequence[Action],
    errors: bool,
    cause: str | None,
    outcomes: Mapping[int, Outcome],
) -> Step:
    from .step import Step

    book = Book.thaw(snapshot)
    for action in actions:
        outcome = outcomes.get(action.id)
        if outcome is None or outcome.ok:
            continue
        task = book.task(action.task)
        errors = True
        if action.purpose is Purpose.TERMINATE:
            text = messages.failed_to_delete_resource(outcome.message, terminating=True)
            book.record(task, task.sync_status, OperationPhase.FAILED, text)
        else:
            book.record(
                task, task.sync_status, OperationPhase.ERROR, messages.failed_to_remove_hook_finalizer(outcome.message)
            )
    if errors:
        phase, message = OperationPhase.ERROR, messages.termination_had_errors()
    else:
        phase, message = OperationPhase.FAILED, messages.operation_terminated()
    book.phase(phase, messages.triggered_by(message, cause) if cause else message)
    return Step(book.state, tasks=tuple(book.tasks))
