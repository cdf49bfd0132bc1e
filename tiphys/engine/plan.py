"""Every task of an operation, for each step (spec §2.3, §3).

``build_plan(state, world)`` composes the rules the way gitops-engine's ``getSyncTasks`` does:
tracking ids on every desired object; managed live objects picked out of the world; targets
paired with them (``reconcile``); one task per object and phase, hooks named for this operation
and holding the hook finalizer (§3.2); destination namespace defaulting (§3.3); the namespace
task of ``CreateNamespace=true`` (§3.4); live objects found for targets (§3.5); kinds the server
does not serve either skip the dry-run or make the plan invalid (§3.6); prune waves reversed and
PruneLast (§3.7); one sort (§3.8); and the recorded results attached (§3.9).

What depends on the desired objects alone is derived once per revision (``desired``); a step whose
live objects only changed in place reuses the previous step's sorted tasks (``skeleton``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Final

from . import hooks, objects, tracking
from .annotations import SYNC_OPTIONS, has_option
from .desired import DesiredSide, desired_side, tracked
from .ignore import respect
from .objects import KubeObject, ResourceKey
from .operation import SyncOperation
from .ordering import order_prunes, sort_tasks
from .reconcile import Pair, pair_key, reconcile, resource_tasks
from .results import OperationState, SyncResult
from .skeleton import Skeleton, attach, carry, check_same, recall, remember, skeleton_of
from .tasks import SyncTask, default_namespace
from .types import ResultCode, SyncOption, SyncPhase
from .world import World

__all__ = ["Plan", "build_plan", "namespace_manifest"]

_SKIP_DRY_RUN: Final = SyncOption.SKIP_DRY_RUN_ON_MISSING_RESOURCE.option("true")


@dataclass(frozen=True)
class Plan:
    """The sorted tasks of one step, with the results recorded so far attached."""

    tasks: tuple[SyncTask, ...]
    results: SyncResult
    """The operation's results, plus a ``SyncFailed`` one for each task that could not be checked."""
    invalid: tuple[str, ...] = ()
    """Why tasks are not valid (§3.6); the operation fails before anything runs when non-empty."""
    pending_namespaces: frozenset[str] = frozenset()
    """Namespaces this sync creates: a dry-run may not find them yet."""
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Values of the desired Secrets, masked wherever Tiphys shows text from the cluster."""

    @property
    def valid(self) -> bool:
        return not self.invalid


def namespace_manifest(name: str) -> dict[str, Any]:
    """The minimal Namespace ``CreateNamespace=true`` applies."""
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _is_namespace(obj: KubeObject | None, name: str) -> bool:
    return (
        obj is not None
        and objects.kind(obj) == "Namespace"
        and objects.api_group(obj) == ""
        and objects.name(obj) == name
    )


def _named_like(world: World, wanted: frozenset[ResourceKey]) -> list[KubeObject]:
    """Live objects with the key of a desired object (untracked ones too, as in Argo CD's cache)."""
    return [obj for obj in world.live if objects.resource_key(obj) in wanted]


def _managed_live(world: World, names: frozenset[ResourceKey]) -> list[KubeObject]:
    """Live objects the app tracks, plus untracked ones named like a desired resource."""
    return [
        obj for obj in world.live if objects.resource_key(obj) in names or tracking.is_tracked_by(obj, world.app)
    ]


LiveIndex = dict[tuple[str, str, str], list[tuple[str, KubeObject | None]]]


def _live_index(pairs: Iterable[Pair]) -> LiveIndex:
    """``find_live``'s search as a lookup: pairs by group, kind and name, in order, with their key's namespace."""
    index: LiveIndex = {}
    for pair in pairs:
        key = pair_key(pair)
        index.setdefault((key.group, key.kind, key.name), []).append((key.namespace, pair[1]))
    return index


def _find_live(index: LiveIndex, target: KubeObject) -> KubeObject | None:
    """The same answer as ``reconcile.find_live`` (§3.5), without a scan of every pair per target."""
    candidates = index.get((objects.api_group(target), objects.kind(target), objects.name(target)), [])
    wanted = objects.namespace(target)
    return next((live for namespace, live in candidates if namespace in ("", wanted)), None)


def _hook_tasks(state: OperationState, world: World, desired_hooks: Iterable[KubeObject]) -> list[SyncTask]:
    tasks = []
    for hook in desired_hooks:
        for phase in hooks.sync_phases(hook):
            target = hooks.hook_manifest(hook, phase=phase, revision=world.revision, started_at=state.started_at)
            mark = tracking.operation_mark(state.started_at, state.retry_count, phase)
            target = tracked(world, tracking.with_annotations(target, {tracking.OPERATION_MARK: mark}))
            tasks.append(SyncTask(phase, target=target))
    return tasks


def _namespace_task(state: OperationState, world: World, resources: Iterable[KubeObject]) -> SyncTask | None:
    """The PreSync task creating the destination namespace (§3.4), kept while this operation has a result for it.

    Argo CD drops the task once the namespace exists, leaving its result ``Running`` for good;
    Tiphys keeps it until it is refreshed, so the result ends ``Succeeded``.
    """
    if any(_is_namespace(obj, world.namespace) for obj in resources):
        return None
    task = SyncTask(SyncPhase.PRE_SYNC, target=namespace_manifest(world.namespace))
    live = world.namespaces.get(world.namespace)
    return replace(task, live=live) if live is None or _recorded(state, task) else None


def _recorded(state: OperationState, task: SyncTask) -> bool:
    return state.sync_result is not None and state.sync_result.find(task.result_key) is not None


def _check_kinds(
    tasks: list[SyncTask], sync: SyncOperation, world: World, crd_kinds: set[tuple[str, str]]
) -> tuple[list[SyncTask], list[tuple[SyncTask, str]]]:
    """§3.6: an unknown kind skips the dry-run when its CRD comes with this sync (or an option says so)."""
    checked, failed = [], []
    for task in tasks:
        if (task.group, task.kind) in world.kinds:
            checked.append(task)
        elif (
            sync.has_option(_SKIP_DRY_RUN)
            or (task.target is not None and has_option(task.target, SYNC_OPTIONS, _SKIP_DRY_RUN))
            or (task.group, task.kind) in crd_kinds
        ):
            checked.append(replace(task, skip_dry_run=True))
        else:
            message = f'no matches for kind "{task.kind}" in version "{objects.api_version(task.obj)}"'
            failed.append((task, message))
            checked.append(task)
    return checked, failed


def _frame(state: OperationState, world: World, sync: SyncOperation, desired: DesiredSide) -> tuple[Any, ...] | None:
    """Everything besides the live objects that shapes the tasks; None when live values shape targets too."""
    if world.ignore_differences and sync.has_option(SyncOption.RESPECT_IGNORE_DIFFERENCES.option("true")):
        return None
    namespace: tuple[Any, ...] = ()
    if sync.has_option(SyncOption.CREATE_NAMESPACE.option("true")) and world.namespace:
        task = SyncTask(SyncPhase.PRE_SYNC, target=namespace_manifest(world.namespace))
        namespace = (world.namespaces.get(world.namespace), _recorded(state, task))
    return (desired, sync, state.started_at, state.retry_count, world.revision, world.kinds, namespace)


def build_plan(state: OperationState, world: World) -> Plan:
    """The sorted tasks of ``state``'s operation in ``world``, with its recorded results attached."""
    sync = state.operation.sync or SyncOperation()
    desired = desired_side(world)
    frame = _frame(state, world, sync, desired)
    skeleton = _carried(frame, world, desired) if frame is not None else None
    if skeleton is None:
        skeleton = _build(state, world, sync, desired, frame)
    elif os.environ.get("TIPHYS_PLAN_CHECK") == "1":
        check_same(skeleton, _build(state, world, sync, desired, None))

    results = state.sync_result or SyncResult(revision=world.revision)
    for index, message in skeleton.failed:
        task = skeleton.tasks[index]
        results = results.record(task.with_result(ResultCode.SYNC_FAILED, None, message).to_result())
    return Plan(
        tasks=tuple(attach(skeleton, results)),
        results=results,
        invalid=tuple(message for _, message in skeleton.failed),
        pending_namespaces=skeleton.pending_namespaces,
        secrets=desired.secrets,
    )


def _seen(world: World, desired: DesiredSide) -> Callable[[KubeObject], bool]:
    """Whether the plan looks at a live object: tracked by the app, or named like a desired one."""
    names = desired.resource_names | desired.hook_names

    def seen(obj: KubeObject) -> bool:
        return objects.resource_key(obj) in names or tracking.is_tracked_by(obj, world.app)

    return seen


def _carried(frame: tuple[Any, ...], world: World, desired: DesiredSide) -> Skeleton | None:
    """The previous step's skeleton with this world's live objects, when the change allows it."""
    previous = recall(frame)
    carried = carry(previous, world.live, _seen(world, desired)) if previous is not None else None
    if carried is not None:
        remember(carried)
    return carried


def _build(
    state: OperationState, world: World, sync: SyncOperation, desired: DesiredSide, frame: tuple[Any, ...] | None
) -> Skeleton:
    """Every task from scratch, sorted, without results (remembered for ``carry`` when ``frame`` is set)."""
    split = desired.split
    pairs: list[Pair] = reconcile(
        split.resources,
        _managed_live(world, desired.resource_names),
        namespace=world.namespace,
        is_namespaced=world.is_namespaced,
    )

    def selected(pair: Pair) -> bool:
        key = objects.resource_key(pair[0] if pair[0] is not None else pair[1])  # type: ignore[arg-type]
        return any(resource.matches(key) for resource in sync.resources)

    kept = [pair for pair in pairs if selected(pair)] if sync.selective else pairs
    if world.ignore_differences and sync.has_option(SyncOption.RESPECT_IGNORE_DIFFERENCES.option("true")):
        # The live values of ignored fields go into the target, so the sync leaves them alone (§11).
        kept = [
            (respect(t, live, world.ignore_differences), live) if t is not None and live is not None else (t, live)
            for t, live in kept
        ]
    # Targets without a namespace get the destination's (§3.3): cached for resources, fresh for hooks.
    tasks = resource_tasks(
        [(desired.with_namespace(t, world.namespace) if t is not None else None, live) for t, live in kept]
    )
    if not sync.skip_hooks:
        tasks += [
            replace(t, target=default_namespace(t.target, world.namespace)) if t.target is not None else t
            for t in _hook_tasks(state, world, split.hooks)
        ]
    namespace_task = None
    if sync.has_option(SyncOption.CREATE_NAMESPACE.option("true")) and world.namespace:
        namespace_task = _namespace_task(state, world, split.resources)
        if namespace_task is not None:
            tasks.append(namespace_task)
    # A named hook also finds an untracked object of its name (it is never a prune candidate).
    known = {id(obj) for _, obj in pairs}
    lookup = pairs + [(None, obj) for obj in _named_like(world, desired.hook_names) if id(obj) not in known]
    index = _live_index(lookup)
    tasks = [
        replace(t, live=_find_live(index, t.target))
        if t.target is not None and t.live is None and t is not namespace_task
        else t
        for t in tasks
    ]
    tasks, failed = _check_kinds(tasks, sync, world, set(desired.crd_kinds))
    tasks = sort_tasks(order_prunes(tasks, prune_last=sync.has_option(SyncOption.PRUNE_LAST.option("true"))))

    pending_namespaces = frozenset(t.name for t in tasks if _is_namespace(t.target, t.name) and t.live is None)
    position = {t.result_key: i for i, t in enumerate(tasks)}
    failed_at = tuple((position[task.result_key], message) for task, message in failed)
    hooked = {(k.group, k.kind, k.name) for k in desired.hook_names}
    shared = {t.key for t in tasks if not t.is_hook and (t.group, t.kind, t.name) in hooked}

    def pair_key_of(task: SyncTask) -> ResourceKey | None:
        """The key a new object needs to be this task's live one, as a rebuild would pair them."""
        if task.is_hook:  # found by name in the task's namespace (§3.5), unless a resource shares the name
            return task.key if task.namespace and task.key not in shared else None
        # A new Namespace changes which namespaces are pending, and a hook may find an object by name.
        scope = world.is_namespaced(task.group, task.kind)
        if scope is None or task.kind == "Namespace" or (task.group, task.kind, task.name) in hooked:
            return None
        return ResourceKey(task.group, task.kind, task.namespace if scope else "", task.name)

    skeleton = skeleton_of(
        frame or (),
        tasks,
        failed_at,
        pending_namespaces,
        world.live,
        pair_key_of=pair_key_of,
        seen=_seen(world, desired),
    )
    if skeleton is None:
        return Skeleton((), tuple(tasks), failed_at, pending_namespaces, {}, {}, {}, {}, frozenset())
    if frame is not None:
        remember(skeleton)
    return skeleton
