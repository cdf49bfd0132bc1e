"""The sync driver: validate a revision, then step the engine until the operation ends, recording every step.

``Syncer.run()`` renders the source, checks every object (kinds the server serves, or whose CRD
comes with the revision) and dry-runs the revision before anything is written: a bad input raises
``InvalidInput`` and the cluster is unchanged. Then it installs the Application CRD when needed,
records the operation in ``status.operationState`` and loops: read the live state from the watch
cache, ``engine.decide``, run the actions (``Executor``), ``engine.settle``, write the state back,
and sleep until a watch event touches what the step waits for (or its deadline). An unfinished
operation found in the Application is resumed, not restarted: same start time, same revision,
same hook names, and completed hooks are not run again. While it writes, the run holds the app's
operation Lease (``oplock``), so the controller never steps the same operation meanwhile (and a
run finding the controller at it refuses); steps that delete hooks are written ahead
(``checkpoint``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from tiphys import engine, sources
from tiphys.engine import OperationPhase, OperationState, Step, World
from tiphys.kube import Conflict, Kube

from . import application as apps
from . import oplock
from ._world import WorldReader
from .checkpoint import provisional, write_ahead
from .executor import Executor
from .live import LiveCache, still_progressing

__all__ = ["InvalidInput", "SyncRequest", "Syncer"]

log = logging.getLogger(__name__)

_BACKSTOP: Final = 10.0  # seconds between steps when no event comes (Argo CD: at most 30)
_BAD_REQUEST: Final = (400, 422)


class InvalidInput(Exception):
    """The revision cannot be synced as it is (exit code 2); nothing in the cluster was changed."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class SyncRequest:
    app: str
    source: sources.SourceSpec
    source_json: dict[str, Any]
    namespace: str = "default"
    prune: bool = False
    dry_run: bool = False
    sync_options: tuple[str, ...] = ()
    timeout: timedelta | None = None
    cache_dir: Any = None
    ignore_differences: tuple[engine.IgnoreRule, ...] = ()


@dataclass
class Timings:
    """Where a sync's time went; ``wave_gaps`` are from the event that ended a wait to the next write."""

    woke_at: float | None = None
    wave_gaps: list[float] = field(default_factory=list)


def now() -> datetime:
    return datetime.now(UTC)


class Syncer:
    def __init__(self, kube: Kube, request: SyncRequest, *, on_step: Callable[[Step], None] | None = None) -> None:
        self.kube = kube
        self.request = request
        self.live = LiveCache(kube)
        self.executor = Executor(kube, self.live)
        self.on_step = on_step or (lambda step: None)
        self.timings = Timings()
        self.warnings: tuple[str, ...] = ()
        self.resumed = False
        self.terminate_requested = False
        self.notes: list[str] = []
        self.lease: oplock.LeaseKeeper | None = None

    async def close(self) -> None:
        if self.lease is not None:
            await self.lease.stop()
            self.lease = None
        await self.live.close()

    # -- the operation --------------------------------------------------------------------------

    def _new_state(self) -> OperationState:
        request = self.request
        sync = engine.SyncOperation(
            revision=request.source.targetRevision,
            prune=request.prune,
            dry_run=request.dry_run,
            source=request.source_json,
            sync_options=request.sync_options,
        )
        operation = engine.Operation(sync=sync, initiated_by=engine.OperationInitiator(username="tiphys-cli"))
        return OperationState.start(operation, now=now())

    async def _operation(self) -> tuple[OperationState, dict[str, Any] | None]:
        app = await apps.get_application(self.kube, self.request.app)
        stored = apps.operation_state(app)
        if stored is not None and not stored.completed and not self.request.dry_run:
            self.resumed = True
            return stored, app
        if stored is not None:
            # Hook names and marks carry the start second: two operations must not share one.
            wait = (stored.started_at + timedelta(seconds=1) - now()).total_seconds()
            if wait > 0:
                await asyncio.sleep(wait)
        return self._new_state(), app

    async def _render(self, state: OperationState, app: dict[str, Any] | None) -> sources.Rendered:
        source = self.request.source
        recorded = state.sync_result.revision if state.sync_result is not None else ""
        if self.resumed and recorded and not sources.is_local(source):
            source = replace(source, targetRevision=recorded)  # the very commit the operation started with
        try:
            return await sources.render(
                source, app_name=self.request.app, namespace=self.request.namespace, cache_dir=self.request.cache_dir
            )
        except sources.SourceError as e:
            if e.reason.bad_input:
                raise InvalidInput([str(e)]) from e
            raise

    def _adopt_spec(self, app: Mapping[str, Any]) -> None:
        """A resumed operation goes on with the source and destination it started with."""
        spec = app.get("spec") or {}
        source = spec.get("source") or {}
        namespace = (spec.get("destination") or {}).get("namespace") or self.request.namespace
        if source and (source != self.request.source_json or namespace != self.request.namespace):
            self.notes.append(
                f"resuming the operation of {self.request.app!r} with its own source and destination "
                f"({source.get('repoURL')} {source.get('path', '')} into {namespace}); the arguments given differ"
            )
        try:
            parsed = sources.SourceSpec.from_dict(source) if source else self.request.source
        except sources.SourceError:
            parsed = self.request.source
        self.request = replace(
            self.request, source=parsed, source_json=dict(source) or self.request.source_json, namespace=namespace
        )

    async def run(self) -> OperationState:
        """Validate, then drive the operation to its end; the final operation state."""
        state, app = await self._operation()
        if self.resumed and app is not None:
            self._adopt_spec(app)
        rendered = await self._render(state, app)
        revision = state.sync_result.revision if state.sync_result is not None and self.resumed else ""
        reader = WorldReader(self.kube, self.live, self.request, rendered, revision or rendered.revision, app)
        await reader.prepare()
        world = await reader.read()
        self.warnings = engine.revision_warnings(world, extra=rendered.warnings)
        await self._validate(state, world, rendered, reader)
        if not self.resumed:
            state = replace(state, sync_result=engine.SyncResult(revision=world.revision, warnings=self.warnings))
        if self.request.dry_run:
            return await self._loop(state, reader, persist=False)
        await apps.ensure_crd(self.kube)
        # The controller (or another `tiphys sync`) must not step this app's operation meanwhile.
        self.lease = oplock.LeaseKeeper(self.kube, self.request.app, oplock.cli_identity())
        try:
            await self.lease.start()
        except oplock.OperationBusy:
            self.lease = None
            raise
        spec = apps.manifest(
            self.request.app,
            source=self.request.source_json,
            namespace=self.request.namespace,
            sync_options=self.request.sync_options,
        )
        await self.live.ensure([(apps.API_VERSION, apps.KIND, apps.APP_NAMESPACE)])
        reader.watch_application()
        if not self.resumed:
            self.live.put(await apps.save_application(self.kube, spec))
            state = await self._persist(state, reader)
        return await self._loop(state, reader, persist=True)

    async def _validate(
        self, state: OperationState, world: World, rendered: sources.Rendered, reader: WorldReader
    ) -> None:
        problems = reader.unknown_kinds()
        if problems:
            raise InvalidInput(problems)
        checked = engine.preflight(state, world)
        if checked.invalid:
            raise InvalidInput(list(checked.invalid))
        outcomes: dict[int, engine.Outcome] = {}
        await self.executor.run_stage(engine.Stage(checked.dry_runs), outcomes)
        for action in checked.dry_runs:
            outcome = outcomes[action.id]
            error = outcome.error
            code = getattr(getattr(error, "status", None), "code", None)
            if not outcome.ok and code in _BAD_REQUEST:
                problems.append(f"{reader.origin_of(action.obj)}{action.ref}: {outcome.message}")
        if problems:
            raise InvalidInput(problems)

    async def _persist(
        self, state: OperationState, reader: WorldReader, *, tasks: tuple[engine.SyncTask, ...] | None = None
    ) -> OperationState:
        """Write the operation state (with the final step's ``tasks``: sync status, resources, history too).

        The write is conditional on the Application's version: when it changed meanwhile, a
        termination request found in it is taken into the state first, then written again.
        """
        for _ in range(10):
            app = reader.application() or {}
            fields: dict[str, Any] = {"operationState": state.to_json()}
            if tasks is not None:
                fields.update(self._final_status(state, tasks))
            try:
                answer = await apps.write_status(self.kube, self.request.app, fields, based_on=app)
            except Conflict:
                fresh = await apps.get_application(self.kube, self.request.app)
                if fresh is not None:
                    self.live.put(fresh)
                state = self._termination_requested(state, reader)
                continue
            self.live.put(answer)
            return state
        raise RuntimeError(f"Application {self.request.app!r} kept changing: the operation state was not saved")

    def _final_status(self, state: OperationState, tasks: tuple[engine.SyncTask, ...]) -> dict[str, Any]:
        app = self.live.get(engine.ResourceKey("tiphys.io", apps.KIND, apps.APP_NAMESPACE, self.request.app)) or {}
        status = app.get("status") or {}
        revision = state.sync_result.revision if state.sync_result is not None else ""
        managed = [t for t in tasks if not t.is_hook and not (t.is_prune and t.pruned) and t.phase.value == "Sync"]
        fields: dict[str, Any] = {
            "sync": {
                "status": "Synced" if state.phase is OperationPhase.SUCCEEDED else "OutOfSync",
                "revision": revision,
            },
            # What this app manages now: the next sync looks here for objects removed from Git.
            "resources": [
                {
                    "group": t.group,
                    "version": t.version,
                    "kind": t.kind,
                    "namespace": engine.objects.namespace(t.live) if t.live is not None else t.namespace,
                    "name": t.name,
                }
                for t in managed
            ],
        }
        if engine.records_history(state):
            history = [engine.RevisionHistory.from_json(h) for h in status.get("history") or []]
            entries = engine.append_history(history, state=state, now=now())
            fields["history"] = [h.to_json() for h in entries]
        return fields

    def _termination_requested(self, state: OperationState, reader: WorldReader) -> OperationState:
        app = reader.application()
        # Read before every step: the stored state (thousands of results) is parsed only when it asks.
        stored = apps.operation_state(app) if apps.stored_phase(app) == OperationPhase.TERMINATING else None
        wanted = self.terminate_requested or (
            stored is not None and stored.phase is OperationPhase.TERMINATING and stored.started_at == state.started_at
        )
        if wanted and state.phase is OperationPhase.RUNNING:
            return replace(state, phase=OperationPhase.TERMINATING, message=engine.messages.operation_terminating())
        return state

    def request_termination(self) -> None:
        """Ask the running loop to terminate the operation (Ctrl-C, ``argocd app terminate-op``)."""
        self.terminate_requested = True
        self.live.touched()

    async def _loop(self, state: OperationState, reader: WorldReader, *, persist: bool) -> OperationState:
        loop = asyncio.get_running_loop()
        idle = 0
        while True:
            world = await reader.read()
            world = replace(world, prune_confirmed=apps.prune_confirmed(reader.application(), state.started_at))
            before = state = self._termination_requested(state, reader)
            step = engine.decide(state, world, now=now(), timeout=self.request.timeout)
            self.on_step(step)
            acted = False
            while step.stages:
                if persist and write_ahead(step):
                    await self._persist(provisional(step.state), reader)
                if any(isinstance(a, engine.Apply) and not a.options.dry_run for a in step.actions):
                    self._note_write(loop.time())
                outcomes = await self.executor.run(step)
                step = engine.settle(step, outcomes)
                self.on_step(step)
                acted = True
            state = step.state
            if persist and (state != before or state.completed):
                state = await self._persist(state, reader, tasks=step.tasks if state.completed else None)
            if state.completed:
                return state
            idle = 0 if (acted and state != before) else idle + 1
            if idle == 0:
                continue
            wait = _BACKSTOP
            if step.wake_at is not None:
                wait = max(0.0, min(wait, (step.wake_at - now()).total_seconds()))
            keys = reader.keys_of(step.waiting_for)
            unchanged = still_progressing({reader.key_of(task): task for task in step.waiting_for}, self.live.get)
            if await self.live.wait(keys, timeout=wait, ignore=unchanged):
                self.timings.woke_at = loop.time()

    def _note_write(self, at: float) -> None:
        if self.timings.woke_at is not None:
            self.timings.wave_gaps.append(at - self.timings.woke_at)
            self.timings.woke_at = None
