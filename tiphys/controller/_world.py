"""Gathering an ``engine.World`` for each step: the desired objects, discovery facts, the watched live state.

Which live objects matter is decided here: every kind and namespace of the desired objects, of
the results this operation recorded, and of the resources the Application recorded after its last
sync (so objects removed from Git can be pruned), plus all Namespaces. Kinds the server does not
serve yet (their CRD comes with this revision) are looked up again at every step until they are.
A revision with Argo ``Workflow`` objects gets the Workflow CRD installed when the cluster has none
(Tiphys's workflow controller runs them, or a real Argo Workflows controller where one is deployed),
and each Workflow is checked by the workflow controller's own submit-time validation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tiphys import sources
from tiphys.engine import ResourceKey, SyncTask, World, objects
from tiphys.kube import Kube, UnknownKind
from tiphys.workflows.reconcile import validate as validate_workflow
from tiphys.workflows.runtime import crd as workflow_crd

from . import application as apps
from .live import LiveCache, Scope

if TYPE_CHECKING:
    from .syncer import SyncRequest

__all__ = ["WorldReader"]

_WORKFLOW = ("argoproj.io", "Workflow")


def _crd_kinds(desired: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    found = set()
    for obj in desired:
        if objects.kind(obj) == "CustomResourceDefinition":
            spec = obj.get("spec") or {}
            found.add((str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", ""))))
    return found


class WorldReader:
    def __init__(
        self,
        kube: Kube,
        live: LiveCache,
        request: SyncRequest,
        rendered: sources.Rendered,
        revision: str,
        app: Mapping[str, Any] | None,
    ) -> None:
        self.kube = kube
        self.live = live
        self.request = request
        self.rendered = rendered
        self.revision = revision
        self._app = app
        self._watching_app = False
        self.kinds: dict[tuple[str, str], bool] = {}
        self._unknown: dict[tuple[str, str], str] = {}  # (group, kind) -> an apiVersion to look up
        self._others: list[tuple[str, str, str]] = []  # (apiVersion, kind, namespace) recorded earlier
        self._crds = _crd_kinds(rendered.objects)

    # -- discovery --------------------------------------------------------------------------------

    async def _discover(self, api_version: str, kind: str) -> None:
        group = api_version.rpartition("/")[0]
        if (group, kind) in self.kinds:
            return
        try:
            info = await self.kube.resource(api_version, kind)
        except (UnknownKind, ValueError):
            self._unknown[(group, kind)] = api_version
            return
        self.kinds[(group, kind)] = info.namespaced
        self._unknown.pop((group, kind), None)

    async def prepare(self) -> None:
        """Discover every kind involved once; remember what earlier syncs recorded."""
        await self._discover("v1", "Namespace")
        workflows = [o for o in self.rendered.objects if (objects.api_group(o), objects.kind(o)) == _WORKFLOW]
        # The CRD goes in only for a real sync of valid Workflows: a dry-run or a bad input changes nothing.
        if workflows and not self.request.dry_run and not any(validate_workflow(w) for w in workflows):
            await workflow_crd.ensure_crd(self.kube)
        for obj in self.rendered.objects:
            await self._discover(objects.api_version(obj), objects.kind(obj))
        status = (self._app or {}).get("status") or {}
        recorded = list(status.get("resources") or [])
        operation = apps.operation_state(self._app)
        recorded += [r.to_json() for r in (operation.results if operation is not None else ())]
        for entry in recorded:
            group, version, kind = entry.get("group", ""), entry.get("version", ""), entry.get("kind", "")
            if not kind or not version:
                continue
            api_version = f"{group}/{version}" if group else version
            await self._discover(api_version, kind)
            self._others.append((api_version, kind, str(entry.get("namespace", ""))))

    def unknown_kinds(self) -> list[str]:
        """Problems with kinds the server does not serve and the revision does not define, and invalid Workflows."""
        problems = []
        for obj, origin in zip(self.rendered.objects, self.rendered.origins, strict=True):
            group, kind = objects.api_group(obj), objects.kind(obj)
            name = objects.name(obj) or objects.meta(obj).get("generateName", "")
            where = f"{origin}: {kind} {name!r}"
            if (group, kind) == _WORKFLOW:
                problems += [f"{where}: {problem}" for problem in validate_workflow(obj)]
            if (group, kind) not in self.kinds and (group, kind) not in self._crds:
                problems.append(
                    f'{where}: no matches for kind "{kind}" in version "{objects.api_version(obj)}": '
                    "the server does not serve it and no CustomResourceDefinition in this revision defines it"
                    + (" (a sync, not a dry-run, installs the Workflow CRD)" if (group, kind) == _WORKFLOW else "")
                )
        return problems

    def origin_of(self, obj: Mapping[str, Any]) -> str:
        """``deploy/web.yaml: document 2: `` for an object of the revision (by kind and name)."""
        wanted = (objects.kind(obj), objects.name(obj))
        for candidate, origin in zip(self.rendered.objects, self.rendered.origins, strict=True):
            generate = str(objects.meta(candidate).get("generateName", ""))
            name = objects.name(candidate)
            if objects.kind(candidate) == wanted[0] and (
                name == wanted[1] or (generate and wanted[1].startswith(generate))
            ):
                return f"{origin}: "
        return ""

    # -- the live state ---------------------------------------------------------------------------

    def _scopes(self) -> list[Scope]:
        scopes: list[Scope] = [("v1", "Namespace", None)]
        wanted = [
            (objects.api_version(o), objects.kind(o), objects.namespace(o) or self.request.namespace)
            for o in self.rendered.objects
        ]
        for api_version, kind, namespace in [*wanted, *self._others]:
            namespaced = self.kinds.get((api_version.rpartition("/")[0], kind))
            if namespaced is None:
                continue
            scopes.append((api_version, kind, (namespace or self.request.namespace) if namespaced else None))
        return scopes

    async def read(self) -> World:
        for (group, kind), api_version in list(self._unknown.items()):
            if (group, kind) in self._crds:
                await self._discover(api_version, kind)  # its CRD may have been applied by now
        await self.live.ensure(self._scopes())
        snapshot = self.live.snapshot()
        namespaces = {
            objects.name(o): o for o in snapshot if objects.kind(o) == "Namespace" and not objects.api_group(o)
        }
        return World(
            app=self.request.app,
            namespace=self.request.namespace,
            revision=self.revision,
            desired=self.rendered.objects,
            live=snapshot,
            kinds=dict(self.kinds),
            namespaces=namespaces,
            ignore_differences=self.request.ignore_differences,
        )

    def watch_application(self) -> None:
        self._watching_app = True

    @property
    def app_key(self) -> ResourceKey:
        return ResourceKey("tiphys.io", apps.KIND, apps.APP_NAMESPACE, self.request.app)

    def application(self) -> Mapping[str, Any] | None:
        return self.live.get(self.app_key) if self._watching_app else self._app

    def key_of(self, task: SyncTask) -> ResourceKey:
        """The live key of a task's object (cluster-scoped objects have no namespace)."""
        key = objects.resource_key(task.live) if task.live is not None else task.key
        if self.kinds.get((key.group, key.kind)) is False:
            key = ResourceKey(key.group, key.kind, "", key.name)
        return key

    def keys_of(self, tasks: Sequence[SyncTask]) -> set[ResourceKey]:
        """The live keys of what a step waits for, and the app."""
        return {self.app_key, *(self.key_of(task) for task in tasks)}
