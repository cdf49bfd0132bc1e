"""The Application controller: watch Applications and what they deploy, refresh them, hand them to operations.

``AppController.run()`` campaigns for the Lease (``leader``); while leading it watches the
Applications of namespace ``tiphys``, keeps one shared watch cache per destination cluster
(``clusters``), and works in two bounded lanes, as Argo CD has a refresh queue and an operation
queue (``workqueue``; a per-app lock keeps one app out of both lanes at once):

1. refresh lane: refresh the app when something it depends on changed — its source or
   destination, the commit its revision names (repo poll, webhook), a watch event on one of its
   objects, the end of an operation, a refresh annotation (``argocd.argoproj.io/refresh:
   normal|hard``, removed after), or its last reconciliation being older than the resync period
   — write what changed (``refresh.status_fields``), and hand the app to the operation lane when
   there is something new for it;
2. operation lane: ``operations.process_app(ctx)`` with the latest comparison; it may ask to be
   called again (``ctx.requeue``), and each pass ends by queueing a refresh.

A slow operation pass holds one operation worker, never the refreshes of the other apps.
Nothing sleeps where an event will do: object changes arrive by watch within milliseconds, new
commits by the repo poll (every ``repo_poll`` seconds with jitter) or at once by webhook.
What is kept in memory is only a cache: a restarted controller refreshes every app once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from tiphys.engine import ResourceKey, tracking
from tiphys.kube import Kube, KubeError

from . import application as apps
from . import operations, refresh
from .cache import ClusterCache
from .clusters import Cluster, Clusters, DestinationError
from .context import AppContext, Comparison
from .events import EventRecorder
from .generate_paths import files_have_changed, refresh_paths
from .leader import LeaderElector
from .repos import Repos, RevisionKey, revision_key
from .workqueue import WorkQueue

if TYPE_CHECKING:
    from tiphys.server.webhook_events import PushEvent

__all__ = ["REFRESH_ANNOTATION", "AppController", "Settings", "default_identity"]

log = logging.getLogger(__name__)

REFRESH_ANNOTATION: Final = "argocd.argoproj.io/refresh"
_APP_GROUP: Final = "tiphys.io"

ProcessApp = Callable[[AppContext], Awaitable[None]]


def default_identity() -> str:
    """``$TIPHYS_CONTROLLER_ID``, else host name and process id (unique per process, like client-go's)."""
    return os.environ.get("TIPHYS_CONTROLLER_ID") or f"{socket.gethostname()}_{os.getpid()}"


@dataclass(frozen=True)
class Settings:
    repo_poll: float = 180.0
    resync: float = 180.0  # Argo CD's timeout.reconciliation: every app is refreshed at least this often
    concurrency: int = 20
    identity: str = field(default_factory=default_identity)
    workflow_controller: str = "auto"  # auto|on|off: whether `tiphys controller` runs the workflow controller
    cache_dir: Path | None = None
    lease_duration: float = 15.0
    lease_renew: float = 5.0


@dataclass
class _Seen:
    """What the last refresh of one app was based on (memory only: a restart refreshes everything)."""

    signature: str
    at: float
    comparison: Comparison
    server: str = ""
    keys: frozenset[ResourceKey] = frozenset()
    revision_key: RevisionKey | None = None
    dirty: bool = False


def _signature(app: Mapping[str, Any], sha: str | None) -> str:
    """What a comparison depends on, besides the live objects: spec, commit, and the last operation's end."""
    spec = app.get("spec") or {}
    state = ((app.get("status") or {}).get("operationState") or {}) if isinstance(app.get("status"), Mapping) else {}
    parts = [spec.get("source"), spec.get("destination"), sha, state.get("phase"), state.get("finishedAt")]
    return json.dumps(parts, sort_keys=True, default=str)


def _without_time(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k != "reconciledAt"}


class AppController:
    def __init__(
        self,
        home: Kube,
        settings: Settings | None = None,
        *,
        process: ProcessApp | None = None,
        lease_kube: Kube | None = None,  # a client of its own keeps renewals out of the workers' queue
    ) -> None:
        self.home = home
        self.settings = settings or Settings()
        self.process = process or operations.process_app
        self.repos = Repos(poll=self.settings.repo_poll, cache_dir=self.settings.cache_dir)
        self.recorder = EventRecorder(home)
        self.elector = LeaderElector(
            lease_kube or home,
            identity=self.settings.identity,
            duration=self.settings.lease_duration,
            renew=self.settings.lease_renew,
            renew_deadline=self.settings.lease_duration * 2 / 3,
        )
        self.refresh_queue = WorkQueue(self._refresh_pass, concurrency=self.settings.concurrency)
        self.operation_queue = WorkQueue(self._operation_pass, concurrency=self.settings.concurrency)
        self._locks: dict[str, asyncio.Lock] = {}  # one pass per app at a time, whichever lane
        self._written: dict[str, str] = {}  # the Application version each app's last status write made
        self._handed: dict[str, str] = {}  # the Application version each app's last operation pass saw
        self.clusters: Clusters | None = None
        self.applications: ClusterCache | None = None
        self._seen: dict[str, _Seen] = {}
        self._index: dict[tuple[str, ResourceKey], set[str]] = {}  # (server, object) -> apps that manage it
        self.refreshes = 0

    # -- lifecycle ----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Campaign for the Lease and process Applications while holding it (until cancelled)."""
        await apps.ensure_crd(self.home)
        try:
            await self.elector.run(self._lead)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.elector.release())

    async def _lead(self) -> None:
        self._seen.clear()
        self._index.clear()
        self.clusters = Clusters(self.home, on_change=self._object_changed)
        self.applications = ClusterCache(self.home, on_change=self._app_changed)
        self.refresh_queue = WorkQueue(self._refresh_pass, concurrency=self.settings.concurrency)
        self.operation_queue = WorkQueue(self._operation_pass, concurrency=self.settings.concurrency)
        self._locks.clear()
        self._handed.clear()
        self._written.clear()
        try:
            await self.clusters.start()
            await self.applications.ensure([(apps.API_VERSION, apps.KIND, apps.APP_NAMESPACE)])
            self.refresh_queue.start()
            self.operation_queue.start()
            for app in self.applications.snapshot():
                self._app_changed(_key(app), app)
            async with asyncio.TaskGroup() as group:
                group.create_task(self._poll_repos(), name="repo poll")
                group.create_task(self._resync(), name="resync")
        finally:
            await self.refresh_queue.stop()
            await self.operation_queue.stop()
            await self.applications.close()
            await self.clusters.close()

    # -- triggers -----------------------------------------------------------------------------------

    def _app_changed(self, key: ResourceKey, obj: dict[str, Any]) -> None:
        if key.namespace != apps.APP_NAMESPACE or key.group != _APP_GROUP or key.kind != apps.KIND:
            return
        if self._written.get(key.name) == _version(obj):
            return  # the echo of this controller's own status write: nothing new to look at
        self.refresh_queue.add(key.name)

    def _object_changed(self, server: str, key: ResourceKey, obj: dict[str, Any]) -> None:
        names = set(self._index.get((server, key), ()))
        value = ((obj.get("metadata") or {}).get("annotations") or {}).get(tracking.TRACKING_ID)
        if isinstance(value, str) and ":" in value:
            names.add(value.partition(":")[0])  # a new object of an app (a hook it just created)
        for name in names:
            seen = self._seen.get(name)
            if seen is not None and seen.server == server:
                seen.dirty = True
                self.refresh_queue.add(name)

    async def on_push(self, event: PushEvent) -> None:
        """A webhook push: re-resolve the revisions it may have moved, refresh their apps now."""
        if self.applications is None:
            return
        for app in self.applications.snapshot():
            source = (app.get("spec") or {}).get("source") or {}
            url, revision = str(source.get("repoURL", "")), str(source.get("targetRevision", ""))
            if not event.matches(url, revision):
                continue
            name = str(app["metadata"]["name"])
            if not files_have_changed(refresh_paths(app), event.changed_files):
                log.info("%s: a push to %s changes none of its manifest-generate-paths", name, url)
                continue
            self.repos.expire([revision_key(url, revision)])
            seen = self._seen.get(name)
            if seen is not None:
                seen.dirty = True
            log.info("%s: refresh after a push to %s", name, url)
            self.refresh_queue.add(name)

    async def _poll_repos(self) -> None:
        # Each poll runs on its own, so one repository that answers only at its timeout delays
        # neither the next poll nor the news of another repository's commit.
        polls: set[asyncio.Task[list[RevisionKey]]] = set()
        try:
            while True:
                await asyncio.sleep(self.repos.jittered_interval())
                used = frozenset(s.revision_key for s in self._seen.values() if s.revision_key is not None)
                task = asyncio.create_task(self.repos.poll(partial(_unused, used), self._revision_changed))
                polls.add(task)
                task.add_done_callback(polls.discard)
        finally:
            for task in polls:
                task.cancel()

    def _revision_changed(self, key: RevisionKey) -> None:
        for name, seen in list(self._seen.items()):
            if seen.revision_key == key:
                seen.dirty = True
                self.refresh_queue.add(name)

    async def _resync(self) -> None:
        period = self.settings.resync
        while True:
            await asyncio.sleep(period * random.uniform(0.9, 1.0))
            for name in list(self._seen):
                self.refresh_queue.add(name)

    # -- the two lanes ------------------------------------------------------------------------------

    def _lock(self, name: str) -> asyncio.Lock:
        return self._locks.setdefault(name, asyncio.Lock())

    async def _refresh_pass(self, name: str) -> None:
        """Refresh lane: compare when something changed, then hand the app to the operation lane.

        While the app's operation pass runs, the refresh is left to the end of that pass (which
        queues one), so a refresh worker never waits behind a slow operation.
        """
        if self.applications is None or self.clusters is None:
            return
        if not self.elector.leading:
            # A renewal is late (or the Lease is lost, and then this queue stops anyway): keep the
            # app for later instead of dropping it, or its change would wait for the next resync.
            self.refresh_queue.add_after(name, 1.0)
            return
        lock = self._lock(name)
        if lock.locked():
            return  # its operation pass runs; it queues a refresh when it ends
        async with lock:
            app = self.applications.get(ResourceKey(_APP_GROUP, apps.KIND, apps.APP_NAMESPACE, name))
            if app is None:
                self._forget(name)
                return
            refreshed = await self._refresh_if_needed(name, app)
            app = self.applications.get(ResourceKey(_APP_GROUP, apps.KIND, apps.APP_NAMESPACE, name)) or app
        # The operation lane looks again only when there is something new to look at.
        if refreshed or self._handed.get(name) != _version(app):
            self.operation_queue.add(name)

    async def _refresh_if_needed(self, name: str, app: dict[str, Any]) -> bool:
        assert self.clusters is not None
        cluster: Cluster | None = None
        destination_error = ""
        try:
            cluster = await self.clusters.resolve((app.get("spec") or {}).get("destination") or {})
        except DestinationError as e:
            destination_error = str(e)
        seen = self._seen.get(name)
        rev_key, signature = self._current_signature(app)
        requested = ((app.get("metadata") or {}).get("annotations") or {}).get(REFRESH_ANNOTATION)
        expired = seen is None or asyncio.get_running_loop().time() - seen.at >= self.settings.resync
        if requested == "hard":
            self.repos.expire([rev_key])
            self.repos.forget_renders(rev_key[0])
        if requested or expired or seen is None or seen.dirty or seen.signature != signature:
            await self._refresh(app, cluster, destination_error, rev_key, force=bool(requested or expired))
            return True
        return False

    async def _operation_pass(self, name: str) -> None:
        """Operation lane: ``operations.process_app`` with the latest comparison, then a refresh."""
        if self.applications is None or self.clusters is None or not self.elector.leading:
            return
        try:
            async with self._lock(name):
                app = self.applications.get(ResourceKey(_APP_GROUP, apps.KIND, apps.APP_NAMESPACE, name))
                seen = self._seen.get(name)
                if app is None or seen is None:
                    return
                if self._stale_for_automation(app, seen):
                    return  # compare first (the refresh queued below), then decide: no self-heal of a stale diff
                self._handed[name] = _version(app)
                try:
                    cluster: Cluster | None = await self.clusters.resolve(
                        (app.get("spec") or {}).get("destination") or {}
                    )
                except DestinationError:
                    cluster = None
                ctx = AppContext(
                    app=app,
                    home=self.home,
                    dest=cluster.kube if cluster is not None else None,
                    comparison=seen.comparison,
                    repos=self.repos,
                    now=datetime.now(UTC),
                    recorder=self.recorder,
                    dest_live=cluster.cache if cluster is not None else None,
                    requeue=lambda after: self._requeue(name, after),
                )
                await self.process(ctx)
        finally:
            self.refresh_queue.add(name)  # what the operation changed shows in the status at once

    def _stale_for_automation(self, app: Mapping[str, Any], seen: _Seen) -> bool:
        """Whether only automated sync would act, on a comparison older than the app or the live objects.

        An operation pass queued by the operation itself can come before the refresh that follows
        it: its comparison then still shows what the sync has just changed as out of sync.
        """
        if app.get("operation") or (app.get("metadata") or {}).get("deletionTimestamp"):
            return False
        state = apps.operation_state(app)
        if state is not None and not state.completed:
            return False
        return seen.dirty or seen.signature != self._current_signature(app)[1]

    def _current_signature(self, app: Mapping[str, Any]) -> tuple[RevisionKey, str]:
        """The app's revision key, and the signature a comparison of it now would have."""
        source = (app.get("spec") or {}).get("source") or {}
        rev_key = revision_key(str(source.get("repoURL", "")), str(source.get("targetRevision", "")))
        return rev_key, _signature(app, self.repos.cached_sha(*rev_key))

    def _requeue(self, name: str, after: float) -> None:
        """``ctx.requeue``: run the app's operation pass again in ``after`` seconds."""
        self.operation_queue.add_after(name, after)

    async def _refresh(
        self, app: dict[str, Any], cluster: Cluster | None, destination_error: str, rev_key: RevisionKey, *, force: bool
    ) -> tuple[dict[str, Any], _Seen]:
        name = str(app["metadata"]["name"])
        loop = asyncio.get_running_loop()
        previous = self._seen.get(name)
        if previous is not None:
            previous.dirty = False  # events from here on make this refresh stale again
        refreshed = await refresh.compare(app, cluster=cluster, destination_error=destination_error, repos=self.repos)
        self.refreshes += 1
        server = cluster.server if cluster is not None else ""
        seen = _Seen(
            signature=_signature(app, self.repos.cached_sha(*rev_key)),
            at=loop.time(),
            comparison=refreshed.comparison,
            server=server,
            keys=refreshed.keys,
            revision_key=rev_key if refreshed.comparison.revision or refreshed.comparison.error else None,
            dirty=previous.dirty if previous is not None else False,
        )
        self._reindex(name, previous, seen)
        self._seen[name] = seen
        now = datetime.now(UTC)
        fields = refresh.status_fields(app, refreshed, now=now)
        status = app.get("status") if isinstance(app.get("status"), Mapping) else {}
        assert isinstance(status, Mapping)
        current = {k: status.get(k) for k in fields}
        annotations = (app.get("metadata") or {}).get("annotations") or {}
        if not force and _without_time(current) == _without_time(fields):
            return app, seen
        patch: dict[str, Any] = {"status": fields}
        if REFRESH_ANNOTATION in annotations:
            patch["metadata"] = {"annotations": {REFRESH_ANNOTATION: None}}
        try:
            answer = await self.home.patch(apps.API_VERSION, apps.KIND, name, patch, namespace=apps.APP_NAMESPACE)
        except KubeError as e:
            log.warning("%s: the refreshed status could not be written: %s", name, e)
            return app, seen
        if self.applications is not None:
            self.applications.put(answer)
        self._written[name] = _version(answer)
        log.info(
            "%s: refreshed: %s, %s%s",
            name,
            refreshed.comparison.status.value,
            fields.get("health", {}).get("status", "?"),
            f" ({refreshed.comparison.error})" if refreshed.comparison.error else "",
        )
        return answer, seen

    def _reindex(self, name: str, before: _Seen | None, after: _Seen) -> None:
        if before is not None:
            for key in before.keys:
                names = self._index.get((before.server, key))
                if names is not None:
                    names.discard(name)
                    if not names:
                        del self._index[(before.server, key)]
        for key in after.keys:
            self._index.setdefault((after.server, key), set()).add(name)

    def _forget(self, name: str) -> None:
        seen = self._seen.pop(name, None)
        if seen is not None:
            self._reindex(name, seen, _Seen("", 0.0, seen.comparison))
        self.refresh_queue.forget(name)
        self.operation_queue.forget(name)
        self._locks.pop(name, None)
        self._handed.pop(name, None)
        self._written.pop(name, None)


def _version(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))


def _key(obj: Mapping[str, Any]) -> ResourceKey:
    meta = obj.get("metadata") or {}
    return ResourceKey(_APP_GROUP, apps.KIND, str(meta.get("namespace", "")), str(meta.get("name", "")))


def _unused(used: frozenset[RevisionKey], key: RevisionKey) -> bool:
    """Whether no app names this revision any more (the poll forgets it)."""
    return key not in used
