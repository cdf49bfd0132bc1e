"""What a plan derives from the desired objects alone, computed once per revision (spec §3.1-§3.3).

Tracking ids on every resource (deep copies), namespace defaulting, the CRDs a revision brings,
the keys live objects are looked up by, and the values of desired Secrets (for masking). Each
step of an operation used to re-derive them; ``desired_side`` keeps them per desired tuple.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from . import hooks, objects, tracking
from .objects import KubeObject, ResourceKey
from .tasks import default_namespace
from .world import World

__all__ = ["DesiredSide", "desired_side", "names_of", "secret_values", "tracked"]


def tracked(world: World, obj: KubeObject) -> dict[str, Any]:
    """``obj`` with the app's tracking id (cluster-scoped kinds get an empty namespace in it)."""
    cluster_scoped = world.is_namespaced(objects.api_group(obj), objects.kind(obj)) is False
    target = default_namespace(obj, world.namespace) if not cluster_scoped else obj
    value = tracking.tracking_id(world.app, target, cluster_scoped=cluster_scoped)
    return tracking.with_annotations(obj, {tracking.TRACKING_ID: value})


def names_of(world: World, desired: Iterable[KubeObject]) -> frozenset[ResourceKey]:
    """The keys a plan looks for among live objects: each desired object's, in its namespace and cluster-wide."""
    wanted = set()
    for obj in desired:
        key = objects.resource_key(obj)
        if key.name:
            wanted.add(ResourceKey(key.group, key.kind, key.namespace or world.namespace, key.name))
            wanted.add(ResourceKey(key.group, key.kind, "", key.name))
    return frozenset(wanted)


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
class DesiredSide:
    """What a plan derives from the desired objects alone: the same for every step of one operation."""

    desired: tuple[KubeObject, ...]  # held so that its id stays unique while cached
    key: tuple[Any, ...]
    split: hooks.DesiredObjects  # resources carry their tracking id
    crd_kinds: frozenset[tuple[str, str]]
    secrets: tuple[str, ...]
    resource_names: frozenset[ResourceKey]  # live objects named like these are looked at
    hook_names: frozenset[ResourceKey]
    defaulted: dict[int, KubeObject] = field(default_factory=dict)  # id(target) -> target with a namespace

    def with_namespace(self, target: KubeObject, namespace: str) -> KubeObject:
        found = self.defaulted.get(id(target))
        if found is None:
            found = self.defaulted[id(target)] = default_namespace(target, namespace)
        return found


_DESIRED_CACHE_SIZE: Final = 32  # operations stepped in turn by one process (the controller runs many)
_desired_cache: OrderedDict[tuple[Any, ...], DesiredSide] = OrderedDict()


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


def desired_side(world: World) -> DesiredSide:
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
    split = replace(split, resources=tuple(tracked(world, obj) for obj in split.resources))
    side = DesiredSide(
        desired=world.desired,
        key=key,
        split=split,
        crd_kinds=frozenset(_crd_kinds([*split.resources, *split.hooks])),
        secrets=secret_values(world.desired),
        resource_names=names_of(world, split.resources),
        hook_names=names_of(world, split.hooks),
        defaulted={id(obj): default_namespace(obj, world.namespace) for obj in split.resources},
    )
    _desired_cache[key] = side
    while len(_desired_cache) > _DESIRED_CACHE_SIZE:
        _desired_cache.popitem(last=False)
    return side
