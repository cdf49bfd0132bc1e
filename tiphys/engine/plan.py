"""Every task of an operation, rebuilt from scratch for each step (spec §2.3, §3).

``build_plan(state, world)`` composes the rules the way gitops-engine's ``getSyncTasks`` does:
tracking ids on every desired object; managed live objects picked out of the world; targets
paired with them (``reconcile``); one task per object and phase, hooks named for this operation
and holding the hook finalizer (§3.2); destination namespace defaulting (§3.3); the namespace
task of ``CreateNamespace=true`` (§3.4); live objects found for targets (§3.5); kinds the server
does not serve either skip the dry-run or make the plan invalid (§3.6); prune waves reversed and
PruneLast (§3.7); one sort (§3.8); and the recorded results attached (§3.9).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from . import hooks, objects, tracking
from .annotations import SYNC_OPTIONS, has_option
from .ignore import respect
from .objects import KubeObject, ResourceKey
from .operation import SyncOperation
from .ordering import order_prunes, sort_tasks
from .reconcile import Pair, pair_key, reconcile, resource_tasks
from .results import OperationState, SyncResult
from .skeleton import Skeleton, attach, carry, skeleton_of
from .tasks import SyncTask, default_namespace
from .types import ResultCode, SyncOption, SyncPhase
from .world import World

__all__ = ["Plan", "build_plan", "namespace_manifest", "secret_values"]

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


def _tracked(world: World, obj: KubeObject) -> dict[str, Any]:
    cluster_scoped = world.is_namespaced(objects.api_group(obj), objects.kind(obj)) is False
    target = default_namespace(obj, world.namespace) if not cluster_scoped else obj
    value = tracking.tracking_id(world.app, target, cluster_scoped=cluster_scoped)
    return tracking.with_annotations(obj, {tracking.TRACKING_ID: value})


def _named_like(world: World, wanted: frozenset[ResourceKey]) -> list[KubeObject]:
    """Live objects with the key of a desired object (untracked ones too, as in Argo CD's cache)."""
    return [obj for obj in world.live if objects.resource_key(obj) in wanted]


def _names(world: World, desired: Iterable[KubeObject]) -> frozenset[ResourceKey]:
    """The keys ``_named_like`` looks for: each desired object's, in its namespace and cluster-wide."""
    wanted = set()
    for obj in desired:
        key = objects.resource_key(obj)
        if key.name:
            wanted.add(ResourceKey(key.group, key.kind, key.namespace or world.namespace, key.name))
            wanted.add(ResourceKey(key.group, key.kind, "", key.name))
    return frozenset(wanted)


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
            target = _tracked(world, tracking.with_annotations(target, {tracking.OPERATION_MARK: mark}))
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
    recorded = state.sync_result is not None and state.sync_result.find(task.result_key) is not None
    return replace(task, live=live) if live is None or recorded else None


def _crd_kinds(desired: Iterable[KubeObject]) -> set[tuple[str, str]]:
    found = set()
    for obj in desired:
        if objects.kind(obj) == "CustomResourceDefinition" and objects.api_group(obj) == "apiextensions.k8s.io":
            spec = obj.get("spec")
            names = spec.get("names") if isinstance(spec, Mapping) else None
            group = spec.get("group") if isinstance(spec, Mapping) else None
            kind = names.get("kind") if isinstance(names, Mapping) else None
            if isinstance(group, str) and isinstance(kind, str):
                found.add((group, kind))
    return found


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


def secret_values(desired: Iterable[KubeObject]) -> tuple[str, ...]:
    """Every value of the desired Secrets, as written and decoded, longest first (for masking)."""
    values: set[str] = set()
    for obj in desired:
        if objects.kind(obj) != "Secret" or objects.api_group(obj) != "":
            continue
        for section in ("data", "stringData"):
            data = obj.get(section)
            for value in data.values() if isinstance(data, Mapping) else ():
                if not isinstance(value, str) or not value:
                    continue
                values.add(value)
                if section == "data":
                    with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                        values.add(base64.b64decode(value, validate=True).decode())
    return tuple(sorted((v for v in values if v.strip()), key=len, reverse=True))


@dataclass(frozen=True, eq=False)  # compared by identity in a skeleton's frame
class _DesiredSide:
    """What a plan derives from the desired objects alone: the same for every step of one operation."""

    desired: tuple[KubeObject, ...]  # held so that its id stays unique while cached
    key: tuple[Any, ...]
    split: hooks.DesiredObjects  # resources carry their tracking id
    crd_kinds: frozenset[tuple[str, str]]
    secrets: tuple[str, ...]
    resource_names: frozenset[ResourceKey]  # what _named_like looks for, for resources and for hooks
    hook_names: frozenset[ResourceKey]
    defaulted: dict[int, KubeObject] = field(default_factory=dict)  # id(target) -> target with a namespace

    def with_namespace(self, target: KubeObject, namespace: str) -> KubeObject:
        found = self.defaulted.get(id(target))
        if found is None:
            found = self.defaulted[id(target)] = default_namespace(target, namespace)
        return found


_DESIRED_CACHE_SIZE: Final = 32  # operations stepped in turn by one process (the controller runs many)
_desired_cache: OrderedDict[tuple[Any, ...], _DesiredSide] = OrderedDict()


_kinds_memo: OrderedDict[int, tuple[tuple[KubeObject, ...], list[tuple[str, str]]]] = OrderedDict()


def _kinds_of(desired: tuple[KubeObject, ...]) -> list[tuple[str, str]]:
    """The sorted (group, kind) pairs of the desired objects, remembered per tuple (held, so its id stays unique)."""
    known = _kinds_memo.get(id(desired))
    if known is not None and known[0] is desired:
        return known[1]
    kinds = sorted({(objects.api_group(o), objects.kind(o)) for o in desired})
    _kinds_memo[id(desired)] = (desired, kinds)
    while len(_kinds_memo) > _DESIRED_CACHE_SIZE:
        _kinds_memo.popitem(last=False)
    return kinds


def _desired_side(world: World) -> _DesiredSide:
    """The desired side of the plan, computed once per revision rather than once per step.

    A step of a 1,000-object sync spent most of its time re-deriving these (tracking ids are deep
    copies); the answer depends only on the desired objects, the app, the namespace and the scope
    the server reports for each desired kind (which changes when a CRD of this sync gets served).
    """
    kinds = _kinds_of(world.desired)
    key = (id(world.desired), world.app, world.namespace, tuple(world.is_namespaced(g, k) for g, k in kinds))
    cached = _desired_cache.get(key)
    if cached is not None and cached.desired is world.desired:
        _desired_cache.move_to_end(key)
        return cached
    split = hooks.split_desired(world.desired)
    split = replace(split, resources=tuple(_tracked(world, obj) for obj in split.resources))
    side = _DesiredSide(
        desired=world.desired,
        key=key,
        split=split,
        crd_kinds=frozenset(_crd_kinds([*split.resources, *split.hooks])),
        secrets=secret_values(world.desired),
        resource_names=_names(world, split.resources),
        hook_names=_names(world, split.hooks),
        defaulted={id(obj): default_namespace(obj, world.namespace) for obj in split.resources},
    )
    _desired_cache[key] = side
    while len(_desired_cache) > _DESIRED_CACHE_SIZE:
        _desired_cache.popitem(last=False)
    return side


_SKELETON_CACHE_SIZE: Final = 16  # operations stepped in turn; each holds its live objects
_skeletons: OrderedDict[tuple[int, Any, int], Skeleton] = OrderedDict()


def _frame(state: OperationState, world: World, sync: SyncOperation, desired: _DesiredSide) -> tuple[Any, ...] | None:
    """Everything besides the live objects that shapes the tasks; None when live values shape targets too."""
    if world.ignore_differences and sync.has_option(SyncOption.RESPECT_IGNORE_DIFFERENCES.option("true")):
        return None
    namespace: tuple[Any, ...] = ()
    if sync.has_option(SyncOption.CREATE_NAMESPACE.option("true")) and world.namespace:
        task = SyncTask(SyncPhase.PRE_SYNC, target=namespace_manifest(world.namespace))
        recorded = state.sync_result is not None and state.sync_result.find(task.result_key) is not None
        namespace = (world.namespaces.get(world.namespace), recorded)
    return (desired, sync, state.started_at, state.retry_count, world.revision, world.kinds, namespace)


def build_plan(state: OperationState, world: World) -> Plan:
    """The sorted tasks of ``state``'s operation in ``world``, with its recorded results attached."""
    sync = state.operation.sync or SyncOperation()
    desired = _desired_side(world)
    frame = _frame(state, world, sync, desired)
    skeleton = _carried(frame, world, desired) if frame is not None else None
    if skeleton is None:
        skeleton = _build(state, world, sync, desired, frame)
    elif os.environ.get("TIPHYS_PLAN_CHECK") == "1":
        _check(skeleton, _build(state, world, sync, desired, None))

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


def _seen(world: World, desired: _DesiredSide) -> Callable[[KubeObject], bool]:
    """Whether the plan looks at a live object: tracked by the app, or named like a desired one."""
    names = desired.resource_names | desired.hook_names

    def seen(obj: KubeObject) -> bool:
        return objects.resource_key(obj) in names or tracking.is_tracked_by(obj, world.app)

    return seen


def _carried(frame: tuple[Any, ...], world: World, desired: _DesiredSide) -> Skeleton | None:
    """The previous step's skeleton with this world's live objects, when the change allows it."""
    previous = _skeletons.get(_cache_key(frame))
    if previous is None or previous.frame != frame:
        return None
    carried = carry(previous, world.live, _seen(world, desired))
    if carried is not None:
        _remember(carried)
    return carried


def _cache_key(frame: tuple[Any, ...]) -> tuple[int, Any, int]:
    return id(frame[0]), frame[2], frame[3]  # the desired side, the operation's start and retry


def _remember(skeleton: Skeleton) -> None:
    key = _cache_key(skeleton.frame)
    _skeletons[key] = skeleton
    _skeletons.move_to_end(key)
    while len(_skeletons) > _SKELETON_CACHE_SIZE:
        _skeletons.popitem(last=False)


def _check(carried: Skeleton, built: Skeleton) -> None:
    """``TIPHYS_PLAN_CHECK=1``: a carried skeleton must be exactly what a rebuild gives."""
    if carried.tasks != built.tasks:
        diverged = next(
            (i for i, (a, b) in enumerate(zip(carried.tasks, built.tasks, strict=False)) if a != b),
            min(len(carried.tasks), len(built.tasks)),
        )
        raise AssertionError(f"carried plan differs from a rebuild at task {diverged}")
    if (carried.failed, carried.pending_namespaces) != (built.failed, built.pending_namespaces):
        raise AssertionError("carried plan differs from a rebuild in its invalid tasks or namespaces")


def _build(
    state: OperationState, world: World, sync: SyncOperation, desired: _DesiredSide, frame: tuple[Any, ...] | None
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
        _remember(skeleton)
    return skeleton
