"""Deleting an Application behind its finalizers: PreDelete hooks, the cascade, PostDelete hooks (spec §14).

``finalize(ctx, app)`` does one stage per call, as Argo CD's ``finalizeApplicationDeletion`` does,
and removes that stage's finalizer when it is done; the API server removes the Application once
none is left. The rules (which stage, which objects, which hooks) are pure, in
``tiphys.engine.deletion``; this module only lists, creates, deletes and patches.

The app's live objects are the destination's objects whose tracking id names the app, looked up
in every kind and namespace the app's manifests, recorded resources and last operation mention.
A failure (a failed PreDelete hook, an API error) blocks the deletion with a ``DeletionError``
condition and is tried again later.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from tiphys.engine import HookType, objects, tracking, wave_of
from tiphys.engine import deletion as rules
from tiphys.kube import AlreadyExists, Kube, KubeError, NotFound, Propagation, UnknownKind

from . import application as apps
from .context import AppContext

__all__ = ["DeletionFailed", "finalize", "managed_live"]

log = logging.getLogger(__name__)

_OURS: Final = (
    rules.RESOURCES_FINALIZER,
    rules.FOREGROUND_FINALIZER,
    rules.BACKGROUND_FINALIZER,
    rules.PRE_DELETE_FINALIZER,
    rules.PRE_DELETE_CLEANUP_FINALIZER,
    rules.POST_DELETE_FINALIZER,
    rules.POST_DELETE_CLEANUP_FINALIZER,
)
_WAIT: Final = 1.0
_RETRY: Final = 5.0
_CONDITION: Final = "DeletionError"


class DeletionFailed(Exception):
    """A stage cannot go on (the ``DeletionError`` condition's message)."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _namespace(app: Mapping[str, Any]) -> str:
    return str(((app.get("spec") or {}).get("destination") or {}).get("namespace") or "default")


def _scopes(ctx: AppContext, app: Mapping[str, Any]) -> set[tuple[str, str, str]]:
    """(apiVersion, kind, namespace) of everything the app may have created."""
    found: set[tuple[str, str, str]] = set()
    default = _namespace(app)
    rendered = ctx.comparison.rendered
    for obj in rendered.objects if rendered is not None else ():
        found.add((objects.api_version(obj), objects.kind(obj), objects.namespace(obj) or default))
    status = app.get("status") or {}
    entries: list[Mapping[str, Any]] = list(status.get("resources") or [])
    operation = apps.operation_state(app)
    entries += [r.to_json() for r in (operation.results if operation is not None else ())]
    for entry in entries:
        group, version, kind = entry.get("group", ""), entry.get("version", ""), entry.get("kind", "")
        if kind and version:
            found.add((f"{group}/{version}" if group else version, kind, str(entry.get("namespace") or default)))
    return found


async def managed_live(ctx: AppContext, app: Mapping[str, Any], dest: Kube) -> list[dict[str, Any]]:
    """The destination's live objects that the app's tracking id claims."""
    name = str(app["metadata"]["name"])
    seen: dict[objects.ResourceKey, dict[str, Any]] = {}
    listed: set[tuple[str, str, str | None]] = set()
    for api_version, kind, namespace in sorted(_scopes(ctx, app)):
        try:
            info = await dest.resource(api_version, kind)
        except (UnknownKind, ValueError):
            continue
        scope = (api_version, kind, namespace if info.namespaced else None)
        if scope in listed:
            continue
        listed.add(scope)
        try:
            page = await dest.list(api_version, kind, namespace=scope[2])
        except NotFound:
            continue
        for obj in page.items:
            if tracking.is_tracked_by(obj, name):
                seen[objects.resource_key(obj)] = obj
    return list(seen.values())


async def finalize(ctx: AppContext, app: dict[str, Any]) -> None:
    """One stage of the deletion of ``app`` (which has a deletionTimestamp)."""
    finalizers = list((app.get("metadata") or {}).get("finalizers") or [])
    stage = rules.next_stage(finalizers)
    if stage is rules.Stage.DONE:
        return
    dest = ctx.dest
    if dest is None:
        # Argo CD: nothing can be deleted on a cluster it cannot reach; let the Application go.
        await _set_finalizers(ctx, app, [f for f in finalizers if f not in _OURS])
        return
    try:
        done = await _STAGES[stage](ctx, app, dest)
    except (DeletionFailed, KubeError) as e:
        message = str(e)
        log.warning("%s: deletion blocked: %s", ctx.name, message)
        await _condition(ctx, app, message)
        with contextlib.suppress(Exception):
            await ctx.recorder.event(
                app,
                reason="StatusRefreshed",
                message=f"Unable to delete application resources: {message}",
                warning=True,
            )
        ctx.requeue(_RETRY)
        return
    if not done:
        ctx.requeue(_WAIT)
        return
    log.info("%s: deletion stage %s done", ctx.name, stage.value)
    remaining = [f for f in finalizers if f not in rules.finalizer_of(stage)]
    await _set_finalizers(ctx, app, remaining, clear_condition=True)
    ctx.requeue(0.0)


async def _set_finalizers(
    ctx: AppContext, app: Mapping[str, Any], finalizers: list[str], *, clear_condition: bool = False
) -> None:
    ops: list[dict[str, Any]] = [{"op": "add", "path": "/metadata/finalizers", "value": finalizers}]
    conditions = apps.set_condition(app, _CONDITION, None, now=_now()) if clear_condition else None
    if conditions is not None:
        ops.append({"op": "add", "path": "/status/conditions", "value": conditions})
    with contextlib.suppress(NotFound):
        await apps.update_app(ctx.home, ctx.name, ops, based_on=app)


async def _condition(ctx: AppContext, app: Mapping[str, Any], message: str) -> None:
    conditions = apps.set_condition(app, _CONDITION, message, now=_now())
    if conditions is None:
        return
    path, value = (
        ("/status/conditions", conditions)
        if isinstance(app.get("status"), Mapping)
        else (
            "/status",
            {"conditions": conditions},
        )
    )
    with contextlib.suppress(KubeError):
        await apps.update_app(ctx.home, ctx.name, [{"op": "add", "path": path, "value": value}], based_on=app)


async def _delete(dest: Kube, obj: Mapping[str, Any], propagation: str | None = None) -> None:
    with contextlib.suppress(NotFound):
        await dest.delete(
            objects.api_version(obj),
            objects.kind(obj),
            objects.name(obj),
            namespace=objects.namespace(obj) or None,
            propagation=Propagation(propagation) if propagation else Propagation.BACKGROUND,
        )


async def _run_hooks(hook_type: HookType, ctx: AppContext, app: Mapping[str, Any], dest: Kube) -> bool:
    """``executeHooks``: create the missing hooks (then wait), wait for running ones, fail on failed ones."""
    rendered = ctx.comparison.rendered
    if rendered is None:
        raise DeletionFailed(ctx.comparison.error or "the manifests could not be rendered")
    live = await managed_live(ctx, app, dest)
    missing = rules.hooks_to_create(hook_type, rendered.objects, live, namespace=_namespace(app))
    created = 0
    for obj in missing:
        try:
            info = await dest.resource(objects.api_version(obj), objects.kind(obj))
        except UnknownKind as e:
            raise DeletionFailed(str(e)) from e
        body = dict(obj) if info.namespaced else _cluster_scoped(obj)
        claim = tracking.tracking_id(ctx.name, body, cluster_scoped=not info.namespaced)
        body = tracking.with_annotations(body, {tracking.TRACKING_ID: claim})
        try:
            await dest.create(body)
            created += 1
        except AlreadyExists:
            log.info("%s: %s hook %s already exists", ctx.name, hook_type.value, objects.name(obj))
    if created:
        log.info("%s: created %d %s hooks", ctx.name, created, hook_type.value)
        return False
    run = rules.judge_hooks(hook_type, live)
    if run.failed:
        for obj in run.failed:  # deleted so that a fixed hook can run on the next attempt
            await _delete(dest, obj)
        raise DeletionFailed(rules.hooks_failed(hook_type, run.failed))
    return run.done


def _cluster_scoped(obj: Mapping[str, Any]) -> dict[str, Any]:
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "namespace"}
    return {**obj, "metadata": metadata}


async def _pre_delete(ctx: AppContext, app: Mapping[str, Any], dest: Kube) -> bool:
    return await _run_hooks(HookType.PRE_DELETE, ctx, app, dest)


async def _post_delete(ctx: AppContext, app: Mapping[str, Any], dest: Kube) -> bool:
    return await _run_hooks(HookType.POST_DELETE, ctx, app, dest)


def _deletable(live: Iterable[Mapping[str, Any]], app: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    options = tuple(str(o) for o in ((app.get("spec") or {}).get("syncPolicy") or {}).get("syncOptions") or ())
    return [obj for obj in live if rules.should_be_deleted(obj, app_sync_options=options)]


async def _cascade(ctx: AppContext, app: Mapping[str, Any], dest: Kube) -> bool:
    """Delete the app's objects one sync wave at a time, highest first; done when none is left."""
    live = await managed_live(ctx, app, dest)
    if any(objects.meta(obj).get("deletionTimestamp") for obj in live):
        return False  # a wave is still going away
    batch = rules.deletion_batch(_deletable(live, app))
    propagation = rules.propagation((app.get("metadata") or {}).get("finalizers") or [])
    for obj in batch:
        await _delete(dest, obj, propagation)
    if batch:
        log.info("%s: deleting %d objects of wave %d", ctx.name, len(batch), wave_of(batch[0]))
    return not _deletable(await managed_live(ctx, app, dest), app)


async def _cleanup(hook_type: HookType, ctx: AppContext, app: Mapping[str, Any], dest: Kube) -> bool:
    """``cleanupHooks``: delete hooks whose policy matches the worst health of their type; wait until gone."""
    live = await managed_live(ctx, app, dest)
    delete, pending = rules.cleanup_targets(hook_type, live)
    for obj in delete:
        await _delete(dest, obj)
    return pending == 0


async def _pre_cleanup(ctx: AppContext, app: Mapping[str, Any], dest: Kube) -> bool:
    return await _cleanup(HookType.PRE_DELETE, ctx, app, dest)


async def _post_cleanup(ctx: AppContext, app: Mapping[str, Any], dest: Kube) -> bool:
    return await _cleanup(HookType.POST_DELETE, ctx, app, dest)


_STAGES: Final = {
    rules.Stage.PRE_DELETE: _pre_delete,
    rules.Stage.CASCADE: _cascade,
    rules.Stage.POST_DELETE: _post_delete,
    rules.Stage.PRE_DELETE_CLEANUP: _pre_cleanup,
    rules.Stage.POST_DELETE_CLEANUP: _post_cleanup,
}
