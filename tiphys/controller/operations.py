"""What the controller does for one Application after each refresh: ``process_app(ctx)``.

In Argo CD's order (``processAppOperationQueueItem``, ``autoSync``):

1. keep the PreDelete/PostDelete finalizers in step with the manifests (§14);
2. an operation requested (``operation``) or in progress (``status.operationState`` not
   completed): start, resume or retry it, a few engine steps at a time (``OperationRunner``);
3. else, an Application being deleted: one stage of its deletion (``deletion.finalize``);
4. else, automated sync and self-heal (``automation.auto_sync``): request an operation and start it.

Nothing is kept in memory between calls: the operation state is written to the Application after
every step that changed it, and a call that has to wait returns and asks to be called again
(``ctx.requeue``). The operation's Lease (``oplock``) keeps ``tiphys sync`` off an app the
controller is syncing, and the other way round.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from tiphys.engine import OperationState
from tiphys.engine import deletion as rules
from tiphys.engine.hooks import split_desired
from tiphys.kube import Conflict, KubeError

from . import application as apps
from . import automation, deletion, oplock
from .context import AppContext
from .runner import AppChanging, OperationRunner

__all__ = ["LEASE_SECONDS", "process_app"]

log = logging.getLogger(__name__)

LEASE_SECONDS: Final = 30
_BUSY_RETRY: Final = 5.0
_UNREACHABLE_RETRY: Final = 5.0


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _in_progress(app: Mapping[str, Any]) -> bool:
    stored = apps.operation_state(app)
    return stored is not None and not stored.completed


async def process_app(ctx: AppContext) -> None:
    """Run, resume or start this Application's operation, its automated sync, or its deletion."""
    app = ctx.app
    deleting = bool((app.get("metadata") or {}).get("deletionTimestamp"))
    try:
        if not deleting:
            app = await _deletion_finalizers(ctx, app)
        if app.get("operation") or _in_progress(app):
            await _operate(ctx, app)
        elif deleting:
            await deletion.finalize(ctx, app)
        else:
            app = await _automate(ctx, app)
            if app.get("operation"):
                await _operate(ctx, app)
    except (Conflict, AppChanging):
        ctx.requeue(0.2)  # the Application changed under us: look again with the new version
    except KubeError as e:  # a cluster did not answer: the state is stored, so simply come back later
        log.warning("%s: %s; trying again in %ss", ctx.name, e, _UNREACHABLE_RETRY)
        ctx.requeue(_UNREACHABLE_RETRY)


_renewed: dict[tuple[str, str], float] = {}
"""When this process last took or renewed an app's operation Lease (a cache: the Lease decides)."""


async def _operate(ctx: AppContext, app: dict[str, Any]) -> None:
    key = (ctx.home.server, ctx.name)
    now = time.monotonic()
    if now - _renewed.get(key, -LEASE_SECONDS) >= LEASE_SECONDS / 3:  # held for 2/3 of its term still
        try:
            await oplock.acquire(ctx.home, ctx.name, oplock.CONTROLLER, duration=LEASE_SECONDS)
        except oplock.OperationBusy as e:
            _renewed.pop(key, None)
            log.info("%s", e)
            ctx.requeue(_BUSY_RETRY)
            return
        _renewed[key] = now
    runner = OperationRunner(ctx, app)
    state: OperationState | None = await runner.run()
    if state is not None and state.completed:
        _renewed.pop(key, None)
        await oplock.release(ctx.home, ctx.name, oplock.CONTROLLER)


async def _deletion_finalizers(ctx: AppContext, app: dict[str, Any]) -> dict[str, Any]:
    """Add (or drop) the PreDelete/PostDelete finalizers when the manifests have (or lost) such hooks."""
    rendered = ctx.comparison.rendered
    if rendered is None:
        return app
    desired = split_desired(rendered.objects)
    finalizers = list((app.get("metadata") or {}).get("finalizers") or [])
    wanted = rules.hook_finalizers(
        finalizers, has_pre_delete=desired.has_pre_delete_hooks, has_post_delete=desired.has_post_delete_hooks
    )
    if wanted is None:
        return app
    return await apps.update_app(
        ctx.home, ctx.name, [{"op": "add", "path": "/metadata/finalizers", "value": wanted}], based_on=app
    )


async def _automate(ctx: AppContext, app: dict[str, Any]) -> dict[str, Any]:
    """Automated sync: request an operation, or record why not (the ``SyncError`` condition)."""
    comparison = ctx.comparison
    if not comparison.ok:
        return app
    decision = automation.auto_sync(
        app,
        status=comparison.status,
        revision=comparison.revision,
        resources=comparison.resources,
        now=ctx.now,
    )
    if decision.retry_after is not None:
        ctx.requeue(max(0.1, decision.retry_after.total_seconds()))
    conditions = apps.set_condition(app, "SyncError", decision.condition or None, now=_now())
    ops: list[dict[str, Any]] = []
    if conditions is not None:
        if isinstance(app.get("status"), Mapping):
            ops.append({"op": "add", "path": "/status/conditions", "value": conditions})
        else:
            ops.append({"op": "add", "path": "/status", "value": {"conditions": conditions}})
    if decision.operation is not None:
        ops.append({"op": "add", "path": "/operation", "value": decision.operation.to_json()})
        revision = decision.operation.sync.revision if decision.operation.sync is not None else ""
        log.info("%s: initiated automated sync to '%s'", ctx.name, revision)
    if not ops:
        return app
    updated = await apps.update_app(ctx.home, ctx.name, ops, based_on=app)
    if decision.operation is not None:
        with contextlib.suppress(Exception):  # an event is a courtesy: never fail the sync for it
            await ctx.recorder.event(
                updated, reason="OperationStarted", message=f"Initiated automated sync to '{comparison.revision}'"
            )
    return updated
