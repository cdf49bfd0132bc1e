"""What a sync step sees: the desired objects of one revision, the live objects, and cluster facts.

A ``World`` is plain data gathered by a driver before each step: nothing in it is a client or a
callback, so a test builds one from dicts and steps the engine through it. ``live`` may hold more
than the application's objects (a driver hands over what it watches); the plan keeps those the
application tracks plus those named like a desired object, as Argo CD's cluster cache does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from . import objects
from .health import GroupKind, HealthCheck
from .ignore import IgnoreRule
from .objects import KubeObject, ResourceKey

__all__ = ["World"]


@dataclass(frozen=True)
class World:
    app: str
    """The Application's name: tracking ids and the Helm release name derive from it."""
    namespace: str
    """The destination namespace: targets without one are put there (even cluster-scoped ones)."""
    revision: str
    """The resolved revision the desired objects were rendered from (a commit SHA)."""
    desired: tuple[KubeObject, ...] = ()
    live: tuple[KubeObject, ...] = ()
    kinds: Mapping[GroupKind, bool] = field(default_factory=dict)
    """Every kind the server serves, with whether it is namespaced; a kind missing here is unknown."""
    namespaces: Mapping[str, KubeObject] = field(default_factory=dict)
    """The live Namespace objects by name (whether or not the application tracks them)."""
    prune_confirmed: bool = False
    """The Application's deletion-approved annotation is not older than the operation."""
    health_overrides: Mapping[GroupKind, HealthCheck] | None = None
    ignore_differences: tuple[IgnoreRule, ...] = ()
    """The Application's ``spec.ignoreDifferences``: left out of diffs; kept as live with RespectIgnoreDifferences."""

    def is_namespaced(self, group: str, kind: str) -> bool | None:
        return self.kinds.get((group, kind))

    def with_live(self, *updated: KubeObject) -> World:
        """This world after the server answered with ``updated`` objects (apply responses)."""
        by_key = {objects.resource_key(obj): obj for obj in self.live}
        namespaces = dict(self.namespaces)
        for obj in updated:
            by_key[objects.resource_key(obj)] = obj
            if objects.kind(obj) == "Namespace" and objects.api_group(obj) == "":
                namespaces[objects.name(obj)] = obj
        return replace(self, live=tuple(by_key.values()), namespaces=namespaces)

    def live_by_key(self) -> dict[ResourceKey, KubeObject]:
        return {objects.resource_key(obj): obj for obj in self.live}
