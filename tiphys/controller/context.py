"""What the controller loop hands to ``operations.process_app`` for one Application, once per pass.

The loop (``appcontroller``) refreshes an Application first — resolves the target revision,
renders it through the repo cache, compares it with the live objects of the destination and
writes ``status.sync``/``resources``/``health``/``conditions`` — and then calls
``process_app(ctx)`` with the result of that refresh in ``ctx.comparison``. ``process_app`` runs,
resumes or starts operations, automated sync, self-heal, retry and deletion. It should do one
step of work and return (asking to be called again with ``ctx.requeue(after)`` when it waits for
time to pass); any watch event on the Application or on a managed object of its destination
calls it again anyway, so it never needs to sleep for an event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from tiphys import sources
from tiphys.engine import HealthStatus, KubeObject
from tiphys.engine.appstatus import ResourceStatus, SyncStatusCode
from tiphys.kube import Kube

from .live import LiveCache

__all__ = [
    "AppContext",
    "Comparison",
    "Recorder",
    "RepoCache",
    "ResourceStatus",
    "SyncStatusCode",
]


@dataclass(frozen=True)
class Comparison:
    """The result of the last refresh: what Git wants, how the destination differs, and how healthy it is.

    ``rendered`` is None when the revision could not be resolved or rendered; then ``error`` says
    why (the message of the ``ComparisonError`` condition) and ``status`` is Unknown.
    ``desired``/``live`` pair each managed resource's target object with its live object (either
    may be None), in ``resources`` order, for code that needs the objects themselves.
    """

    revision: str  # the commit SHA compared with ("" when it could not be resolved)
    rendered: sources.Rendered | None
    status: SyncStatusCode
    resources: tuple[ResourceStatus, ...] = ()  # managed resources (no hooks), in sync order
    hooks: tuple[ResourceStatus, ...] = ()  # live hooks the app tracks (no sync status)
    health: HealthStatus = HealthStatus.UNKNOWN
    health_message: str = ""
    error: str = ""
    compared_to: Mapping[str, Any] = field(default_factory=dict)  # {"source": ..., "destination": ...}
    pairs: tuple[tuple[KubeObject | None, KubeObject | None], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.error and self.rendered is not None

    @property
    def out_of_sync(self) -> bool:
        return self.status is SyncStatusCode.OUT_OF_SYNC


class RepoCache(Protocol):
    """Revision resolution and manifest rendering, cached (implemented by ``repos.Repos``)."""

    async def resolve(self, repo_url: str, revision: str) -> str:
        """The commit SHA that ``revision`` (branch, tag, HEAD, SHA) of ``repo_url`` names now (cached
        between polls); raises ``sources.SourceError``."""
        ...

    async def render(
        self, source: Mapping[str, Any], revision: str, *, app_name: str, namespace: str
    ) -> sources.Rendered:
        """Render ``spec.source`` at ``revision`` (a SHA or a ref), once per (repo, SHA, path, params);
        raises ``sources.SourceError``."""
        ...


class Recorder(Protocol):
    """Kubernetes Events on the Application (``kubectl describe``), like Argo CD's ``auditLogger``."""

    async def event(self, app: Mapping[str, Any], *, reason: str, message: str, warning: bool = False) -> None: ...


class Requeue(Protocol):
    def __call__(self, after: float) -> None: ...


@dataclass
class AppContext:
    app: dict[str, Any]  # the Application as last read (status includes this pass's refresh)
    home: Kube  # the cluster the Applications live in
    dest: Kube | None  # the destination cluster; None when unresolvable (a condition says why)
    comparison: Comparison
    repos: RepoCache
    now: datetime
    recorder: Recorder
    dest_live: LiveCache | None = None  # the destination's shared watch cache, kept current by the controller
    requeue: Requeue = field(default=lambda after: None)  # process this app again in ``after`` seconds

    @property
    def name(self) -> str:
        return str(self.app["metadata"]["name"])
