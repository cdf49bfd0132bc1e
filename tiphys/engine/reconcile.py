"""From desired and live objects to (unsorted) tasks (spec §2.3, §3.1, §3.2, §3.5).

``reconcile`` pairs each managed target with its live object, as gitops-engine's ``Reconcile``;
live objects nobody claims become ``(None, live)`` pairs, the prune candidates (live hooks of
earlier syncs among them). ``resource_tasks`` and ``hook_tasks`` then make one task per object
and phase. Go iterates maps here; Tiphys keeps input order, and sorting decides the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from . import hooks, objects
from .objects import KubeObject, ResourceKey
from .tasks import SyncTask

__all__ = ["IsNamespaced", "Pair", "find_live", "hook_tasks", "pair_key", "reconcile", "resource_tasks"]

Pair = tuple[KubeObject | None, KubeObject | None]
"""``(target, live)``: a target without live object is to be created, a live one without target pruned."""

IsNamespaced = Callable[[str, str], bool | None]
"""Whether ``(group, kind)`` is namespaced; None when discovery does not know the kind."""


def pair_key(pair: Pair) -> ResourceKey:
    """The key of a pair: the live object's if there is one, else the target's."""
    target, live = pair
    obj = live if live is not None else target
    assert obj is not None, "a pair needs a target or a live object"
    return objects.resource_key(obj)


def _dedup_live_by_uid(targets: Sequence[KubeObject], live: dict[ResourceKey, KubeObject]) -> None:
    """One object served under two groups (apps and extensions Deployments): keep the one in Git, or one."""
    wanted = {objects.resource_key(target) for target in targets}
    by_uid: dict[str, list[ResourceKey]] = {}
    for key, obj in live.items():
        uid = objects.meta(obj).get("uid")
        if isinstance(uid, str) and uid:
            by_uid.setdefault(uid, []).append(key)
    for keys in by_uid.values():
        left = len(keys)
        for key in keys:
            if left == 1:
                break
            if key not in wanted:
                del live[key]
                left -= 1


def reconcile(
    targets: Sequence[KubeObject],
    live_objects: Iterable[KubeObject],
    *,
    namespace: str,
    is_namespaced: IsNamespaced,
) -> list[Pair]:
    """Pair managed targets (not hooks) with live objects by group, kind, namespace and name.

    A target without a namespace is looked up in ``namespace``; a kind of unknown scope is looked
    up both namespaced and cluster-scoped, so it is never mistaken for a prune.
    """
    live = {objects.resource_key(obj): obj for obj in live_objects}
    _dedup_live_by_uid(targets, live)
    pairs: list[Pair] = []
    for target in targets:
        group, kind, name = objects.api_group(target), objects.kind(target), objects.name(target)
        scope = is_namespaced(group, kind)
        keys = []
        if scope is None or scope:
            keys.append(ResourceKey(group, kind, objects.namespace(target) or namespace, name))
        if scope is None or not scope:
            keys.append(ResourceKey(group, kind, "", name))
        match = next((key for key in keys if key in live), None)
        pairs.append((target, live.pop(match) if match is not None else None))
    pairs.extend((None, obj) for obj in live.values())
    return pairs


def find_live(target: KubeObject, pairs: Iterable[Pair]) -> KubeObject | None:
    """The live object for a hook or a target without one (§3.5): same group, kind and name, and the
    target's namespace unless the pair's key has none (cluster-scoped). It may be None."""
    wanted = objects.resource_key(target)
    for pair in pairs:
        key = pair_key(pair)
        if (key.group, key.kind, key.name) == (wanted.group, wanted.kind, wanted.name) and key.namespace in (
            "",
            wanted.namespace,
        ):
            return pair[1]
    return None


def resource_tasks(pairs: Iterable[Pair], *, include: Callable[[Pair], bool] | None = None) -> list[SyncTask]:
    """One task per phase of each pair (§3.1): never for hooks, live ones included, so hooks are never pruned.

    ``include`` is the selective-sync filter; Skip objects get no task, so they are neither applied nor pruned.
    """
    tasks: list[SyncTask] = []
    for pair in pairs:
        target, live = pair
        obj = target if target is not None else live
        if obj is None or (include is not None and not include(pair)) or hooks.is_hook(obj):
            continue
        tasks.extend(SyncTask(phase, target=target, live=live) for phase in hooks.sync_phases(obj))
    return tasks


def hook_tasks(desired_hooks: Iterable[KubeObject], *, revision: str, started_at: datetime) -> list[SyncTask]:
    """One task per phase of each hook (§3.2), named for this operation and holding the hook finalizer."""
    return [
        SyncTask(phase, target=hooks.hook_manifest(hook, phase=phase, revision=revision, started_at=started_at))
        for hook in desired_hooks
        for phase in hooks.sync_phases(hook)
    ]
