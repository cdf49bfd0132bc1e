"""Driving one Application's operation for the controller: a few engine steps per call, state in the app.

``OperationRunner(ctx, app).run()`` starts the requested operation (or resumes the stored one),
renders the operation's source at its pinned revision through the repo cache, reads the
destination's live objects from the watch cache, and steps ``tiphys.engine`` — ``decide``, run
the actions, ``settle`` — writing ``status.operationState`` to the home cluster after every step
that changed it. It returns as soon as the operation waits (for a hook, a resource, a retry's
back-off), asking the controller to call again; a watch event on the app or its objects does so
sooner. When the attempt ends it applies the retry policy (§7.4), records the history, clears
``operation`` and emits Argo CD's event. A controller killed anywhere in between resumes from
what is stored: same start time, same revision, same hook names, no completed hook run twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from tiphys import engine, sources
from tiphys.engine import OperationPhase, OperationState, RevisionHistory
from tiphys.engine import retry as retries
from tiphys.kube import Conflict

from . import application as apps
from . import automation
from ._world import WorldReader
from .checkpoint import provisional, write_ahead
from .context import AppContext
from .executor import Executor
from .live import LiveCache, still_progressing
from .syncer import SyncRequest

__all__ = ["AppChanging", "OperationRunner"]

log = logging.getLogger(__name__)

_BACKSTOP: Final = 3.0  # seconds before looking again while waiting without a deadline (renews the Lease)
_MAX_STEPS: Final = 50  # steps per call, so one busy app cannot hold a worker for ever
_WRITE_TRIES: Final = 10
_LINGER: Final = 0.2  # seconds to wait in the call for what a step waits for, before handing the worker back


class AppChanging(Exception):
    """The Application kept changing under every write: the caller looks again later."""


def _now() -> datetime:
    return datetime.now(UTC)


def _spec(app: Mapping[str, Any]) -> Mapping[str, Any]:
    return app.get("spec") or {}


def _history_limit(app: Mapping[str, Any]) -> int | None:
    limit = _spec(app).get("revisionHistoryLimit")
    return limit if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 0 else None


class OperationRunner:
    def __init__(self, ctx: AppContext, app: dict[str, Any]) -> None:
        self.ctx = ctx
        self.app = app
        self.name = ctx.name
        self.terminating = False  # the attempt passed through Terminating: no retry afterwards

    # -- the operation state ------------------------------------------------------------------

    async def run(self) -> OperationState | None:
        """Start or resume, step while there is progress; the state as stored when it returns."""
        state = await self._load()
        if state is None or state.completed:
            return state
        return await self._drive(state)

    def _requested(self) -> engine.Operation:
        """The requested operation, completed as Argo CD's API server completes a sync request.

        A request that names no retry gets the app's ``syncPolicy.retry``, one without sync
        options the app's ``syncPolicy.syncOptions`` — so an ``operation`` written by hand
        (``kubectl patch``) behaves like one from ``argocd app sync``.
        """
        operation = engine.Operation.from_json(self.app.get("operation") or {})
        if not operation.initiated_by.automated and operation.retry == engine.RetryStrategy():
            policy = automation.retry_policy(self.app)
            operation = replace(operation, retry=retries.strategy_for(automated=False, policy=policy))
        options = (_spec(self.app).get("syncPolicy") or {}).get("syncOptions") or ()
        if operation.sync is not None and not operation.sync.sync_options and options:
            operation = replace(operation, sync=replace(operation.sync, sync_options=tuple(str(o) for o in options)))
        return operation

    async def _load(self) -> OperationState | None:
        stored = apps.operation_state(self.app)
        if stored is not None and not stored.completed:
            if not stored.waiting_to_retry:
                return stored
            wait = retries.resume(stored, now=_now())
            if wait.until is not None:
                self.ctx.requeue(max(0.1, (wait.until - _now()).total_seconds()))
                return None
            if wait.state.completed:
                return await self._finish(wait.state)
            log.info("%s: %s", self.name, wait.state.message)
            return await self._save(wait.state)
        if not self.app.get("operation"):
            return None
        try:
            operation = self._requested()
        except ValueError as e:
            state = OperationState.start(engine.Operation(), now=_now())
            return await self._finish(replace(state, phase=OperationPhase.ERROR, message=f"Invalid operation: {e}"))
        if stored is not None:
            # Hook names and marks carry the start second: two operations must not share one.
            wait_s = (stored.started_at + timedelta(seconds=1) - _now()).total_seconds()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
        state = OperationState.start(operation, now=_now())
        if operation.sync is None:
            error = replace(state, phase=OperationPhase.ERROR, message=engine.messages.no_operation_specified())
            return await self._finish(error)
        log.info("%s: initialized new operation", self.name)
        return await self._save(state)

    async def _save(self, state: OperationState, *, end: bool = False) -> OperationState:
        """Write ``state`` (and, at the end, the history and the cleared ``operation``) unless the app moved on.

        On a version conflict the Application is read again: a termination request found there
        is taken into the state, which is then written again.
        """
        for _ in range(_WRITE_TRIES):
            fields: dict[str, Any] = {"operationState": state.to_json()}
            if end and engine.records_history(state):
                stored = (self.app.get("status") or {}).get("history") or []
                history = [RevisionHistory.from_json(h) for h in stored if isinstance(h, Mapping)]
                entries = engine.append_history(history, state=state, now=_now(), limit=_history_limit(self.app))
                fields["history"] = [h.to_json() for h in entries]
            try:
                self.app = await apps.write_status(
                    self.ctx.home, self.name, fields, based_on=self.app, clear_operation=end
                )
                return state
            except Conflict:
                fresh = await apps.get_application(self.ctx.home, self.name)
                if fresh is None:
                    return state  # deleted meanwhile: nothing left to record in
                self.app = fresh
                state = self._termination_requested(state)
        raise AppChanging(f"Application {self.name!r} kept changing: the operation state was not saved")

    def _termination_requested(self, state: OperationState) -> OperationState:
        stored = apps.operation_state(self.app)
        if (
            stored is not None
            and stored.phase is OperationPhase.TERMINATING
            and stored.started_at == state.started_at
            and state.phase is OperationPhase.RUNNING
        ):
            return replace(state, phase=OperationPhase.TERMINATING, message=engine.messages.operation_terminating())
        return state

    async def _finish(self, state: OperationState) -> OperationState:
        """An attempt ended: retry it later, or record the end (history, event, ``operation`` cleared)."""
        state = retries.after_attempt(state, now=_now(), terminating=self.terminating)
        if not state.completed:
            log.info("%s: %s", self.name, state.message)
            state = await self._save(state)
            wait = retries.resume(state, now=_now())
            self.ctx.requeue(max(0.1, ((wait.until or _now()) - _now()).total_seconds()))
            return state
        if state.finished_at is None:
            state = replace(state, finished_at=_now().replace(microsecond=0))
        state = await self._save(state, end=True)
        await self._event(state)
        self.ctx.requeue(0.0)  # refresh now, so the sync status shows what the operation did
        return state

    async def _event(self, state: OperationState) -> None:
        sync = state.operation.sync
        words = ["Partial sync operation" if sync is not None and sync.selective else "Sync operation"]
        if state.sync_result is not None:
            words += ["to", state.sync_result.revision]
        if state.phase.successful:
            words.append("succeeded")
        else:
            words += ["failed:", state.message]
        message = " ".join(words)
        log.info("%s: %s", self.name, message)
        try:
            await self.ctx.recorder.event(
                self.app, reason="OperationCompleted", message=message, warning=not state.phase.successful
            )
        except Exception as e:  # an event is a courtesy: never fail the operation for it
            log.debug("%s: event not recorded: %s", self.name, e)

    # -- stepping ------------------------------------------------------------------------------

    def _source(self, state: OperationState) -> dict[str, Any]:
        sync = state.operation.sync
        if sync is not None and sync.source:
            return dict(sync.source)
        return dict(_spec(self.app).get("source") or {})

    def _namespace(self) -> str:
        return str((_spec(self.app).get("destination") or {}).get("namespace") or "default")

    async def _render(self, state: OperationState, source: Mapping[str, Any]) -> sources.Rendered:
        sync = state.operation.sync
        recorded = state.sync_result.revision if state.sync_result is not None else ""
        revision = recorded or (sync.revision if sync is not None else "") or str(source.get("targetRevision") or "")
        return await self.ctx.repos.render(source, revision or "HEAD", app_name=self.name, namespace=self._namespace())

    async def _drive(self, state: OperationState) -> OperationState:
        dest = self.ctx.dest
        if dest is None:
            error = self.ctx.comparison.error or "the destination cluster is not known"
            return await self._finish(
                replace(state, phase=OperationPhase.ERROR, message=f"Failed to get destination cluster: {error}")
            )
        source = self._source(state)
        try:
            rendered = await self._render(state, source)
            spec = sources.SourceSpec.from_dict(source)
        except sources.SourceError as e:
            return await self._finish(replace(state, phase=OperationPhase.ERROR, message=str(e)))
        live = self.ctx.dest_live
        own_cache = live is None
        cache = LiveCache(dest) if live is None else live
        try:
            return await self._steps(state, dest, cache, rendered, spec, source)
        finally:
            if own_cache:
                await cache.close()

    async def _steps(
        self,
        state: OperationState,
        dest: Any,
        cache: LiveCache,
        rendered: sources.Rendered,
        spec: sources.SourceSpec,
        source: Mapping[str, Any],
    ) -> OperationState:
        sync = state.operation.sync
        assert sync is not None
        request = SyncRequest(
            app=self.name,
            source=spec,
            source_json=dict(source),
            namespace=self._namespace(),
            prune=sync.prune,
            dry_run=sync.dry_run,
            sync_options=sync.sync_options,
        )
        revision = state.sync_result.revision if state.sync_result is not None and state.sync_result.revision else ""
        reader = WorldReader(dest, cache, request, rendered, revision or rendered.revision, self.app)
        await reader.prepare()
        executor = Executor(dest, cache)
        if state.sync_result is None:
            world = await reader.read()
            warnings = engine.revision_warnings(world, extra=rendered.warnings)
            result = engine.SyncResult(revision=world.revision, source=dict(source), warnings=warnings)
            state = await self._save(replace(state, sync_result=result))
        for _ in range(_MAX_STEPS):
            state = self._termination_requested(state)
            if state.phase is OperationPhase.TERMINATING:
                self.terminating = True
            world = await reader.read()
            world = replace(world, prune_confirmed=apps.prune_confirmed(self.app, state.started_at))
            before = state
            step = engine.decide(state, world, now=_now())
            acted = False
            while step.stages:
                if write_ahead(step):
                    state = await self._save(provisional(step.state))
                outcomes = await executor.run(step)
                step = engine.settle(step, outcomes)
                acted = True
            state = step.state
            if state.completed:
                return await self._finish(state)
            if state != before:
                state = await self._save(state)
            if acted or state != before:
                continue
            wait = _BACKSTOP
            if step.wake_at is not None:
                wait = max(0.05, min(wait, (step.wake_at - _now()).total_seconds()))
            # Wait briefly for an event on what the step waits for; then hand the worker back.
            unchanged = still_progressing({reader.key_of(task): task for task in step.waiting_for}, cache.get)
            if await cache.wait(reader.keys_of(step.waiting_for), timeout=min(wait, _LINGER), ignore=unchanged):
                continue
            self.ctx.requeue(wait)
            return state
        self.ctx.requeue(0.0)
        return state
