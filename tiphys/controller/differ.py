"""``tiphys diff``: how the live objects differ from a revision, as a sync would see it.

The desired objects get exactly what a sync gives them (tracking id, destination namespace)
before they are compared with the live ones by ``engine.diff`` (three-way, Secrets masked).
Hooks are left out, as Argo CD ignores their differences; tracked objects missing from the
revision are listed as what a pruning sync would delete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from tiphys import engine, sources
from tiphys.kube import Kube

from . import application as apps
from ._world import WorldReader
from .live import LiveCache
from .syncer import InvalidInput, SyncRequest

__all__ = ["AppDiff", "diff_app"]


@dataclass(frozen=True)
class AppDiff:
    changed: list[tuple[str, str]] = field(default_factory=list)  # (resource, unified diff)
    pruned: list[str] = field(default_factory=list)

    @property
    def different(self) -> bool:
        return bool(self.changed or self.pruned)


async def diff_app(kube: Kube, request: SyncRequest) -> AppDiff:
    try:
        rendered = await sources.render(request.source, app_name=request.app, namespace=request.namespace)
    except sources.SourceError as e:
        if e.reason.bad_input:
            raise InvalidInput([str(e)]) from e
        raise
    live = LiveCache(kube)
    try:
        app = await apps.get_application(kube, request.app)
        reader = WorldReader(kube, live, request, rendered, rendered.revision, app)
        await reader.prepare()
        problems = reader.unknown_kinds()
        if problems:
            raise InvalidInput(problems)
        world = await reader.read()
    finally:
        await live.close()
    state = engine.OperationState.start(engine.Operation(sync=engine.SyncOperation()), now=datetime.now(UTC))
    result = AppDiff()
    for task in engine.build_plan(state, world).tasks:
        label = f"{task.group}/{task.kind}/{task.namespace}/{task.name}"
        if task.is_hook:
            continue
        if task.is_prune:
            result.pruned.append(label)
        elif task.target is not None:
            compared = engine.compare(task.target, task.live, ignore=world.ignore_differences)
            if compared.modified:
                result.changed.append((label, compared.unified(label)))
    return result
