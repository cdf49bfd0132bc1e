"""A plan's tasks carried from one step to the next when the live objects only changed in place.

Rebuilding every task of a 1,000-object sync costs tens of milliseconds, and between two steps
usually nothing that shapes the plan has changed: a wave's objects report new status, a hook's Job
completes, the objects just applied appear. ``carry`` gives the previous step's tasks with the new
live objects swapped in when every change is one of these:

- an object the plan sees (tracked by the app, or named like a desired object) changed, keeping
  its key, uid and the annotations a plan reads (tracking id, hook, wave, sync options);
- a new object with exactly the key of a target that had no live object (just applied or created);
- anything at all about objects the plan never sees.

Anything else (a deletion, a new hook object, an annotation change) returns None: the caller
rebuilds from scratch. ``TIPHYS_PLAN_CHECK=1`` makes ``build_plan`` rebuild anyway and compare,
which the test suites turn on.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from . import objects
from .objects import KubeObject, ResourceKey
from .results import ResourceResult, SyncResult
from .tasks import SyncTask

__all__ = ["Skeleton", "attach", "carry", "check_same", "forget_all", "recall", "remember", "skeleton_of"]

Holders = dict[int, tuple[int, ...]]


@dataclass
class Skeleton:
    """The sorted tasks of one step without their results, and what ``carry`` needs to update them."""

    frame: tuple[Any, ...]
    """Everything besides the live objects the tasks depend on; only an equal frame may reuse them."""
    tasks: tuple[SyncTask, ...]
    failed: tuple[tuple[int, str], ...]
    """Tasks of kinds that cannot be checked (by index), with why."""
    pending_namespaces: frozenset[str]
    live: dict[int, KubeObject]
    """The world's live objects by id: holding them keeps their ids unique while this is cached."""
    by_key: dict[ResourceKey, KubeObject]
    holders: Holders
    """Which tasks hold each live object (by id)."""
    open: dict[ResourceKey, tuple[int, ...]]
    """The tasks without a live object, by the one key a new object must have to become theirs."""
    uids: frozenset[str]
    attached: dict[str, tuple[SyncTask, ResourceResult, SyncTask]] = field(default_factory=dict)
    """``attach``'s answers by result key: (task, result, task with the result)."""


def _uid(obj: KubeObject) -> str:
    value = objects.meta(obj).get("uid")
    return value if isinstance(value, str) else ""


def skeleton_of(
    frame: tuple[Any, ...],
    tasks: Sequence[SyncTask],
    failed: Sequence[tuple[int, str]],
    pending_namespaces: frozenset[str],
    live: Sequence[KubeObject],
    *,
    pair_key_of: Callable[[SyncTask], ResourceKey | None],
    seen: Callable[[KubeObject], bool],
) -> Skeleton | None:
    """Index freshly built ``tasks`` for ``carry``; None when ``live`` repeats a key (never carried).

    ``pair_key_of`` gives the key a new live object needs to become the live object of a task that
    has none (None when there is no single such key); ``seen`` says whether the plan looks at an object.
    """
    by_id = {id(obj): obj for obj in live}
    by_key = {objects.resource_key(obj): obj for obj in live}
    if len(by_id) != len(live) or len(by_key) != len(live):
        return None
    holders: dict[int, list[int]] = {}
    open_slots: dict[ResourceKey, list[int]] = {}
    for index, task in enumerate(tasks):
        if task.live is not None:
            holders.setdefault(id(task.live), []).append(index)
        elif task.target is not None:
            key = pair_key_of(task)
            if key is not None:
                open_slots.setdefault(key, []).append(index)
    return Skeleton(
        frame=frame,
        tasks=tuple(tasks),
        failed=tuple(failed),
        pending_namespaces=pending_namespaces,
        live=by_id,
        by_key=by_key,
        holders={k: tuple(v) for k, v in holders.items()},
        open={k: tuple(v) for k, v in open_slots.items()},
        uids=frozenset(uid for obj in live if seen(obj) and (uid := _uid(obj))),
    )


_PLAN_ANNOTATIONS = ("argocd.argoproj.io/", "helm.sh/", "tiphys.io/")
"""Where every annotation a plan reads lives: tracking id, hook, wave, delete policy and sync options."""


def _plan_annotations(obj: KubeObject) -> dict[str, str]:
    return {k: v for k, v in objects.annotations_of(obj).items() if k.startswith(_PLAN_ANNOTATIONS)}


def _same_shape(old: KubeObject, new: KubeObject) -> bool:
    """Same uid and plan annotations: others (a Deployment's revision, say) change without reshaping the plan."""
    return _uid(old) == _uid(new) and _plan_annotations(old) == _plan_annotations(new)


def carry(skeleton: Skeleton, live: Sequence[KubeObject], seen: Callable[[KubeObject], bool]) -> Skeleton | None:
    """``skeleton`` with ``live`` swapped in, or None when the change may reshape the plan."""
    known = skeleton.live
    if len(live) == len(known) and all(id(obj) in known for obj in live):
        return skeleton
    by_id = {id(obj): obj for obj in live}
    if len(by_id) != len(live):
        return None
    gone = {i: obj for i, obj in known.items() if i not in by_id}
    tasks = list(skeleton.tasks)
    by_key = dict(skeleton.by_key)
    holders = dict(skeleton.holders)
    open_slots = dict(skeleton.open)
    uids = set(skeleton.uids)

    def hand_over(indices: tuple[int, ...], obj: KubeObject) -> None:
        for index in indices:
            tasks[index] = replace(tasks[index], live=obj)
        holders[id(obj)] = indices

    for obj in live:
        if id(obj) in known:
            continue
        key = objects.resource_key(obj)
        old = by_key.get(key)
        if old is not None:  # an update
            if gone.pop(id(old), None) is None:
                return None  # two live objects with one key
            if not _same_shape(old, obj) and (seen(old) or seen(obj)):
                return None
            hand_over(holders.pop(id(old), ()), obj)
        elif seen(obj):  # a new object the plan looks at: only the pair of a target waiting for it
            slots = open_slots.pop(key, None)
            uid = _uid(obj)
            if slots is None or (uid and uid in uids):
                return None
            if uid:
                uids.add(uid)
            hand_over(slots, obj)
        by_key[key] = obj
    for old in gone.values():  # deletions: only of objects no task holds and the plan never saw
        if id(old) in holders or seen(old):
            return None
        del by_key[objects.resource_key(old)]
    return Skeleton(
        frame=skeleton.frame,
        tasks=tuple(tasks),
        failed=skeleton.failed,
        pending_namespaces=skeleton.pending_namespaces,
        live=by_id,
        by_key=by_key,
        holders=holders,
        open=open_slots,
        uids=frozenset(uids),
        attached=dict(skeleton.attached),
    )


def attach(skeleton: Skeleton, results: SyncResult) -> list[SyncTask]:
    """``attach_results`` for the skeleton's tasks, reusing each answer while its task and result are the same."""
    recorded: Mapping[str, ResourceResult] = results.by_key()
    memo = skeleton.attached
    attached = []
    for task in skeleton.tasks:
        key = task.result_key
        result = recorded.get(key)
        if result is None:
            attached.append(task)
            continue
        hit = memo.get(key)
        if hit is not None and hit[0] is task and hit[1] is result:
            attached.append(hit[2])
            continue
        done = replace(task, sync_status=result.status, operation_state=result.hook_phase, message=result.message)
        memo[key] = (task, result, done)
        attached.append(done)
    return attached


# -- the skeletons of the operations being stepped ---------------------------------------------

_CACHE_SIZE: Final = 16  # operations stepped in turn by one process; each skeleton holds its live objects
_skeletons: OrderedDict[tuple[int, Any, Any], Skeleton] = OrderedDict()


def _cache_key(frame: tuple[Any, ...]) -> tuple[int, Any, Any]:
    return id(frame[0]), frame[2], frame[3]  # the desired objects, the operation's start and retry


def recall(frame: tuple[Any, ...]) -> Skeleton | None:
    """The last skeleton remembered with an equal ``frame``."""
    found = _skeletons.get(_cache_key(frame)) if frame else None
    return found if found is not None and found.frame == frame else None


def remember(skeleton: Skeleton) -> None:
    key = _cache_key(skeleton.frame)
    _skeletons[key] = skeleton
    _skeletons.move_to_end(key)
    while len(_skeletons) > _CACHE_SIZE:
        _skeletons.popitem(last=False)


def forget_all() -> None:
    _skeletons.clear()


def check_same(carried: Skeleton, built: Skeleton) -> None:
    """``TIPHYS_PLAN_CHECK=1``: a carried skeleton must be exactly what a rebuild gives."""
    if carried.tasks != built.tasks:
        diverged = next(
            (i for i, (a, b) in enumerate(zip(carried.tasks, built.tasks, strict=False)) if a != b),
            min(len(carried.tasks), len(built.tasks)),
        )
        raise AssertionError(f"carried plan differs from a rebuild at task {diverged}")
    if (carried.failed, carried.pending_namespaces) != (built.failed, built.pending_namespaces):
        raise AssertionError("carried plan differs from a rebuild in its invalid tasks or namespaces")
