"""Writing one object the way Argo CD's kubectl does: client-side apply, server-side apply, replace, create.

Client-side apply is ``kubectl apply``: create with the last-applied annotation when the object
is new, else send the three-way merge patch (strategic for built-in kinds, JSON merge for custom
ones) computed by ``engine.merge`` — or nothing at all when it is empty (``unchanged``).
Server-side apply sends the manifest as field manager ``argocd-controller`` with ``force``.
``Replace=true`` creates or replaces (CRDs and Namespaces are updated instead, so their contents
survive); ``Force=true`` deletes and re-creates an object the server refuses to update.
Dry-runs are the server's (``dryRun=All``), so nothing is ever written. Errors come back as
failed outcomes carrying the server's message; nothing is raised to the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any, Final

from tiphys.engine import Apply, ApplyOptions, Outcome, csa, diff, merge, messages, objects, schema
from tiphys.engine.annotations import SSA_FIELD_MANAGER
from tiphys.kube import (
    AlreadyExists,
    Conflict,
    Invalid,
    Kube,
    KubeApiError,
    KubeError,
    NotFound,
    Propagation,
    ResourceInfo,
)
from tiphys.kube.writes import write

__all__ = ["CSA_FIELD_MANAGER", "apply"]

CSA_FIELD_MANAGER: Final = "kubectl-client-side-apply"
_CRD: Final = ("apiextensions.k8s.io", "CustomResourceDefinition")
_APPLY_PATCH: Final = "application/apply-patch+yaml"
_MERGE_PATCH: Final = "application/merge-patch+json"
_STRATEGIC_PATCH: Final = "application/strategic-merge-patch+json"
_JSON_PATCH: Final = "application/json-patch+json"
_UNKNOWN: Any = object()


def _message(obj: Mapping[str, Any], verb: str, options: ApplyOptions) -> str:
    group, kind, name = objects.api_group(obj), objects.kind(obj), objects.name(obj)
    return messages.applied(group=group, kind=kind, name=name, verb=verb, dry_run=options.dry_run)


def _body(info: ResourceInfo, obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object as sent: a cluster-scoped one loses the namespace the engine gave it (spec §3.3)."""
    body = dict(obj)
    if not info.namespaced and objects.namespace(obj):
        body["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "namespace"}
    return body


async def _get(kube: Kube, obj: Mapping[str, Any], info: ResourceInfo) -> dict[str, Any] | None:
    try:
        return await kube.get(
            objects.api_version(obj), objects.kind(obj), objects.name(obj), namespace=_namespace(info, obj)
        )
    except NotFound:
        return None


def _namespace(info: ResourceInfo, obj: Mapping[str, Any]) -> str | None:
    return objects.namespace(obj) or None if info.namespaced else None


async def _send(
    kube: Kube,
    method: str,
    info: ResourceInfo,
    body: Mapping[str, Any],
    options: ApplyOptions,
    *,
    payload: Any = None,
    content_type: str = "application/json",
    field_manager: str = CSA_FIELD_MANAGER,
    force: bool = False,
) -> dict[str, Any]:
    """One write of ``body``'s object as kubectl sends it: its namespace and name, validation and dry-run."""
    return await write(
        kube,
        method,
        info,
        namespace=_namespace(info, body),
        name=None if method == "POST" else objects.name(body),
        body=body if payload is None else payload,
        content_type=content_type,
        field_manager=field_manager,
        field_validation="Strict" if options.validate else "Ignore",
        dry_run=options.dry_run,
        force=force,
    )


async def _create(kube: Kube, info: ResourceInfo, body: Mapping[str, Any], options: ApplyOptions) -> dict[str, Any]:
    return await _send(kube, "POST", info, body, options)


async def _client_side(
    kube: Kube, info: ResourceInfo, body: Mapping[str, Any], options: ApplyOptions, known: Any
) -> Outcome:
    """``kubectl apply``, reading the live object only when the watch cache did not know it (``known``)."""
    modified = diff.with_last_applied(body)
    live = await _get(kube, body, info) if known is _UNKNOWN else known
    if live is None:
        try:
            created = await _create(kube, info, modified, options)
        except AlreadyExists:  # created since the cache looked: apply over it like kubectl would
            live = await _get(kube, body, info)
            if live is None:
                raise
        else:
            return Outcome.done(_message(body, "created", options), live=created)
    strategic = schema.is_builtin(info.group, info.version, info.kind)
    node = schema.root(info.group, info.version, info.kind) if strategic else None
    patch = merge.three_way_patch(diff.last_applied(live), modified, live, node=node, strategic=strategic)
    if not patch:
        return Outcome.done(_message(body, "unchanged", options), live=live)
    try:
        content_type = _STRATEGIC_PATCH if strategic else _MERGE_PATCH
        patched = await _send(kube, "PATCH", info, body, options, payload=patch, content_type=content_type)
    except (Invalid, Conflict):
        if not options.force or options.dry_run:
            raise
        return await _recreate(kube, info, modified, options)
    return Outcome.done(_message(body, "configured", options), live=patched)


async def _dry_run_as_new(kube: Kube, info: ResourceInfo, body: Mapping[str, Any], options: ApplyOptions) -> Outcome:
    """A create's dry-run for an object that will be deleted first: the server validates the body before it
    finds the name taken, so ``AlreadyExists`` means the manifest itself is fine."""
    try:
        created = await _create(kube, info, diff.with_last_applied(body), options)
    except AlreadyExists:
        return Outcome.done(_message(body, "created", options))
    return Outcome.done(_message(body, "created", options), live=created)


async def _recreate(kube: Kube, info: ResourceInfo, body: Mapping[str, Any], options: ApplyOptions) -> Outcome:
    """``--force``: delete the object, wait until it is gone, create it again."""
    name, namespace = objects.name(body), _namespace(info, body)
    api_version, kind = objects.api_version(body), objects.kind(body)
    with contextlib.suppress(NotFound):
        await kube.delete(api_version, kind, name, namespace=namespace, propagation=Propagation.FOREGROUND)
    for _ in range(600):
        if await _get(kube, body, info) is None:
            break
        await asyncio.sleep(0.05)
    return Outcome.done(_message(body, "replaced", options), live=await _create(kube, info, body, options))


async def _replace(kube: Kube, info: ResourceInfo, body: Mapping[str, Any], options: ApplyOptions) -> Outcome:
    live = await _get(kube, body, info)
    if live is None:
        return Outcome.done(_message(body, "created", options), live=await _create(kube, info, body, options))
    updated = {**body, "metadata": {**body["metadata"], "resourceVersion": live["metadata"]["resourceVersion"]}}
    keep_contents = (info.group, info.kind) == _CRD or (info.group, info.kind) == ("", "Namespace")
    if options.force and not keep_contents and not options.dry_run:
        return await _recreate(kube, info, body, options)
    result = await _send(kube, "PUT", info, body, options, payload=updated)
    if keep_contents:
        return Outcome.done(messages.updated(info.kind, objects.name(body)), live=result)
    return Outcome.done(_message(body, "replaced", options), live=result)


async def _migrate_managed_fields(kube: Kube, info: ResourceInfo, body: Mapping[str, Any], live: Any) -> None:
    """Hand kubectl-client-side-apply's fields to argocd-controller before the first server-side apply.

    A JSON patch replacing ``managedFields``, guarded by a test of the resourceVersion, as
    ``csaupgrade.UpgradeManagedFieldsPatch``; a lost race only means the apply goes on unmigrated.
    """
    if live is _UNKNOWN:  # known absent (None): a create, nothing to hand over, no read needed
        live = await _get(kube, body, info)
    if not isinstance(live, Mapping):
        return
    managed = objects.meta(live).get("managedFields")
    if not isinstance(managed, list):
        return
    fields = csa.upgraded(managed, csa_manager=CSA_FIELD_MANAGER, ssa_manager=SSA_FIELD_MANAGER)
    if fields is None:
        return
    patch = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": objects.meta(live).get("resourceVersion")},
        {"op": "replace", "path": "/metadata/managedFields", "value": fields},
    ]
    with contextlib.suppress(Conflict, Invalid, NotFound):
        await write(
            kube,
            "PATCH",
            info,
            namespace=_namespace(info, body),
            name=objects.name(body),
            body=patch,
            content_type=_JSON_PATCH,
        )


async def _server_side(
    kube: Kube, info: ResourceInfo, body: Mapping[str, Any], options: ApplyOptions, live: Any = _UNKNOWN
) -> Outcome:
    if options.csa_migration and not options.dry_run:
        await _migrate_managed_fields(kube, info, body, live)
    result = await _send(
        kube, "PATCH", info, body, options, content_type=_APPLY_PATCH, field_manager=SSA_FIELD_MANAGER, force=True
    )
    return Outcome.done(_message(body, "serverside-applied", options), live=result)


async def _established(kube: Kube, name: str) -> None:
    """After a CRD is applied, wait up to 3 s for ``Established`` (Argo CD's ``ensureCRDReady``)."""
    for _ in range(30):
        try:
            crd = await kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
        except KubeError:
            return
        conditions = (crd.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
            return
        await asyncio.sleep(0.1)


async def apply(kube: Kube, action: Apply, *, trust_live: bool = False) -> Outcome:
    """Apply one object as ``action.options`` say; the outcome carries the server's answer.

    With ``trust_live`` the live object the step saw (``action.live``, from a watch cache) stands
    in for kubectl's read before a client-side apply; a stale view only costs a retry.
    """
    obj, options = action.obj, action.options
    known = action.live if trust_live else _UNKNOWN
    try:
        info = await kube.resource(objects.api_version(obj), objects.kind(obj))
        body = _body(info, obj)
        if options.replace:
            outcome = await _replace(kube, info, body, options)
        elif options.server_side:
            outcome = await _server_side(kube, info, body, options, known)
        elif options.as_new and options.dry_run:
            outcome = await _dry_run_as_new(kube, info, body, options)
        else:
            outcome = await _client_side(kube, info, body, options, known)
    except NotFound as e:
        if options.dry_run and options.namespace_pending and "namespace" in e.status.message.lower():
            return Outcome.done(_message(obj, "created", options))  # its namespace comes with this sync
        return Outcome.failed(e.status.message, e)
    except KubeApiError as e:
        return Outcome.failed(e.status.message, e)
    except KubeError as e:
        return Outcome.failed(str(e), e)
    if (info.group, info.kind) == _CRD and not options.dry_run:
        await _established(kube, objects.name(obj))
    return outcome
