"""Resource templates (spec §2 ``resource``) performed directly through the Kubernetes API.

Upstream runs ``kubectl`` inside an ``argoexec resource`` pod; a controller that already speaks
the API needs no pod for that. Each ``ResourceAction`` becomes one call here, and its outcome a
``ResourceObservation`` for the next reconcile: the object as the server answered, or the error
message the node fails with. ``create`` meeting an existing object and ``delete`` meeting a
missing one are successes, as the contract of ``reconcile`` asks.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Mapping
from typing import Any, Final

from tiphys.kube import AlreadyExists, Kube, KubeApiError, KubeError, NotFound, PatchType

from ..world import ResourceAction, ResourceObservation

__all__ = ["FIELD_MANAGER", "perform"]

FIELD_MANAGER: Final = "workflow-controller"
_PATCH_TYPES: Final = {"strategic": PatchType.STRATEGIC, "merge": PatchType.MERGE, "json": PatchType.JSON}
_UNSUPPORTED_MEDIA_TYPE: Final = 415


def _identity(manifest: Mapping[str, Any]) -> tuple[str, str, str, str]:
    meta = manifest.get("metadata") or {}
    api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
        raise ValueError("the resource manifest has no apiVersion and kind")
    return api_version, kind, str(meta.get("name") or ""), str(meta.get("namespace") or "")


def _owned(action: ResourceAction) -> dict[str, Any]:
    manifest = copy.deepcopy(action.manifest)
    if action.set_owner_reference and action.owner_reference:
        meta = manifest.setdefault("metadata", {})
        owners = [o for o in meta.get("ownerReferences") or [] if o.get("uid") != action.owner_reference.get("uid")]
        meta["ownerReferences"] = [*owners, dict(action.owner_reference)]
    return manifest


def _need_name(name: str, verb: str) -> None:
    if not name:
        raise ValueError(f"resource action {verb!r} needs metadata.name in the manifest")


async def _get(kube: Kube, action: ResourceAction) -> ResourceObservation:
    api_version, kind, name, namespace = _identity(action.manifest)
    _need_name(name, "get")
    try:
        return ResourceObservation(object=await kube.get(api_version, kind, name, namespace=namespace or None))
    except NotFound as e:
        if action.poll:
            return ResourceObservation(object=None)
        return ResourceObservation(error=str(e))


async def _create(kube: Kube, action: ResourceAction) -> ResourceObservation:
    manifest = _owned(action)
    api_version, kind, name, namespace = _identity(manifest)
    try:
        return ResourceObservation(object=await kube.create(manifest))
    except AlreadyExists:
        if not name:
            raise
        return ResourceObservation(object=await kube.get(api_version, kind, name, namespace=namespace or None))


async def _apply(kube: Kube, action: ResourceAction) -> ResourceObservation:
    manifest = _owned(action)
    _, _, name, _ = _identity(manifest)
    if not name:  # kubectl apply of a generateName object creates it
        return ResourceObservation(object=await kube.create(manifest))
    return ResourceObservation(object=await kube.apply(manifest, field_manager=FIELD_MANAGER, force=True))


async def _delete(kube: Kube, action: ResourceAction) -> ResourceObservation:
    api_version, kind, name, namespace = _identity(action.manifest)
    _need_name(name, "delete")
    with contextlib.suppress(NotFound):
        await kube.delete(api_version, kind, name, namespace=namespace or None)
    return ResourceObservation(object=None)


async def _replace(kube: Kube, action: ResourceAction) -> ResourceObservation:
    manifest = _owned(action)
    _need_name(_identity(manifest)[2], "replace")
    manifest.get("metadata", {}).pop("resourceVersion", None)
    return ResourceObservation(object=await kube.replace(manifest))


async def _patch(kube: Kube, action: ResourceAction) -> ResourceObservation:
    api_version, kind, name, namespace = _identity(action.manifest)
    _need_name(name, "patch")
    strategy = action.merge_strategy or "strategic"
    patch_type = _PATCH_TYPES.get(strategy)
    if patch_type is None:
        raise ValueError(f"unknown mergeStrategy {strategy!r}: use strategic, merge or json")
    body: Any
    if patch_type is PatchType.JSON:
        body = action.manifest.get("patch")
        if not isinstance(body, list):
            raise ValueError("a json patch needs the list of operations in the manifest's 'patch' field")
    else:
        body = _owned(action)
    try:
        answer = await kube.patch(api_version, kind, name, body, namespace=namespace or None, patch_type=patch_type)
    except KubeApiError as e:
        if patch_type is not PatchType.STRATEGIC or e.status.code != _UNSUPPORTED_MEDIA_TYPE:
            raise
        # Custom resources take no strategic merge patch; a merge patch is what applies to them.
        answer = await kube.patch(api_version, kind, name, body, namespace=namespace or None)
    return ResourceObservation(object=answer)


_VERBS: Final = {
    "get": _get,
    "create": _create,
    "apply": _apply,
    "delete": _delete,
    "replace": _replace,
    "patch": _patch,
}


async def perform(kube: Kube, action: ResourceAction) -> ResourceObservation:
    """Run one action; every failure becomes an observation carrying the error's message."""
    verb = _VERBS.get("get" if action.poll else action.action)
    if verb is None:
        return ResourceObservation(error=f"unknown resource action {action.action!r}")
    try:
        return await verb(kube, action)
    except (KubeError, ValueError) as e:
        return ResourceObservation(error=str(e))
